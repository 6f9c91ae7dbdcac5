"""``gitops-kit render`` and ``lint --render`` on the reference example with the served upstream
charts (tests/served_charts.py) and a warm chart cache."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys

import pytest

from gitops_kit.cli import main
from helpers import PROJECT, by_rule, overlay, run_lint
from render_helpers import copy_of, served_reference, warm_cache

pytest.importorskip("helm_python")

# The repositories the "done when" serves: vault, traefik, harbor, cloudnative-pg.
SERVED = ("https://helm.releases.hashicorp.com", "https://traefik.github.io/charts", "https://helm.goharbor.io",
          "https://cloudnative-pg.github.io/charts")


@pytest.fixture(scope="module")
def served(chart_server, tmp_path_factory):
    """The reference with vault 0.33.0, mirrors for the four served repositories, and a warm cache
    of this module's own (the session's stays empty: other tests assume nothing is cached)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("render-cache")))
        mirrors = {up: url for up, url in chart_server.mirrors.items() if up in SERVED}
        root = served_reference(tmp_path_factory.mktemp("served") / "repo", mirrors)
        warm_cache(root)
        yield root


@pytest.fixture
def repo(served, tmp_path):
    return copy_of(served, tmp_path / "repo")


VAULT_VALUES = "apps/helm/vault-ha/values.yaml"


def _without_spread(root, replicas: int = 5, keep_affinity: bool = False) -> int:
    """vault-ha's values without server.topologySpreadConstraints and with an explicit
    server.ha.replicas; without the chart's default required podAntiAffinity on the hostname
    (which keeps the replicas apart too) unless ``keep_affinity``; returns the line of the replicas value."""
    text = (root / VAULT_VALUES).read_text()
    if not keep_affinity:
        text = text.replace("\nserver:\n", '\nserver:\n  affinity: ""\n', 1)
    start = text.index("  topologySpreadConstraints:")
    end = text.index("  resources:")
    text = text[:start] + text[end:]
    text = text.replace("  ha:\n    enabled: true\n", f"  ha:\n    enabled: true\n    replicas: {replicas}\n")
    (root / VAULT_VALUES).write_text(text)
    return text.split("\n").index(f"    replicas: {replicas}") + 1


def test_render_vault_ha_prints_the_statefulset_with_the_repositorys_replicas(repo, capsys, monkeypatch):
    _without_spread(repo, replicas=5)
    monkeypatch.chdir(repo)
    assert main(["render", "vault-ha"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# rendered by gitops-kit (Helm SDK in-process)")
    assert "Capabilities cannot be set" in out
    docs = out.split("\n---\n")
    sts = [d for d in docs if "kind: StatefulSet" in d]
    assert len(sts) == 1
    assert "# app: vault-ha  source: spec.sources[0]  template: vault/templates/server-statefulset.yaml" in sts[0]
    assert "\n  replicas: 5\n" in sts[0]
    # ArgoCD's order: the ServiceAccount before the Services before the StatefulSet; no test hook
    kinds = [line.split(": ", 1)[1] for d in docs for line in d.splitlines() if line.startswith("kind: ")]
    assert kinds.index("ServiceAccount") < kinds.index("Service") < kinds.index("StatefulSet")
    assert "server-test" not in out


def test_render_json_and_output_dir(repo, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    out_dir = tmp_path / "out"
    assert main(["render", "vault-ha", "--format", "json", "--output-dir", str(out_dir)]) == 0
    data = json.loads((out_dir / "vault-ha.json").read_text())
    assert data["app"] == "vault-ha" and data["renderer"] == "sdk"
    assert any(o["object"]["kind"] == "StatefulSet" and o["template"] == "vault/templates/server-statefulset.yaml"
               for o in data["objects"])
    capsys.readouterr()
    # on standard output: one JSON document, the run's renderer and limits, then every app
    assert main(["render", "vault-ha", "vault-transit", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["renderer"] == "sdk" and doc["limits"] and [a["app"] for a in doc["apps"]] == ["vault-ha",
                                                                                            "vault-transit"]
    # an existing file is not replaced without --force
    assert main(["render", "vault-ha", "--format", "json", "--output-dir", str(out_dir)]) == 2
    assert main(["render", "vault-ha", "--format", "json", "--output-dir", str(out_dir), "--force"]) == 0


def test_render_cache_miss_names_the_chart_and_the_command(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    assert main(["render", "cert-manager"]) == 1
    err = capsys.readouterr().err
    assert "cert-manager v1.16.2" in err and "gitops-kit charts pull" in err


def test_lint_render_reports_the_missing_spread_at_the_values_line(repo):
    line = _without_spread(repo, replicas=3)
    report = run_lint(repo, render=True, select=["topology-spread"])
    found = [f for f in report.findings if f.rule == "topology-spread"]
    assert [(f.path, f.line) for f in found] == [(VAULT_VALUES, line)], [f.message for f in found]
    assert "vault/templates/server-statefulset.yaml" in found[0].message
    assert "StatefulSet 'vault-ha'" in found[0].message


def test_lint_render_counts_the_charts_required_anti_affinity_as_spread(repo):
    _without_spread(repo, replicas=3, keep_affinity=True)
    report = run_lint(repo, render=True, select=["topology-spread"])
    assert [f.message for f in report.findings if f.rule == "topology-spread"] == []


def test_lint_render_is_clean_when_the_spread_is_set(repo):
    report = run_lint(repo, render=True, select=["topology-spread"])
    assert by_rule(report, "topology-spread") == set()


def test_reference_renders_completely_and_lints_clean_but_for_cache_misses(repo):
    """The issue's 'done when': every served app renders, the others give the cache-miss finding
    once per chart, and nothing else is reported."""
    report = run_lint(repo, render=True)
    renders = {r.app.name: r for r in report.renders}
    for app in ("vault-ha", "vault-transit", "traefik", "registry", "cnpg"):
        r = renders[app]
        assert r.problems == [] and r.objects, (app, r.problems)
        assert {s.index for s in r.app.sources} <= r.rendered, app
    misses = [f for f in report.findings if f.rule == "render" and "charts pull" in f.message]
    assert misses and len({f.message for f in misses}) == len(misses)
    others = [f"{f.path}:{f.line} [{f.rule}] {f.message}" for f in report.findings if f.rule != "render"]
    assert others == []
    assert all(f.severity.name == "WARNING" for f in report.findings)  # what could not be checked here


def test_lint_render_uses_no_network(repo, monkeypatch):
    """With a warm cache, lint --render opens no socket (every connect fails)."""
    def refuse(*args, **kwargs):
        raise AssertionError("lint --render opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    report = run_lint(repo, render=True)
    assert any(r.app.name == "vault-ha" and r.objects for r in report.renders)


def test_bad_template_is_a_render_finding(repo, tmp_path):
    overlay(repo, {"apps/helm/registry/templates/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                                               "  name: {{ .Values.nope.deeper }}\n"})
    report = run_lint(repo, render=True, select=["render"])
    found = [f for f in report.findings if f.app == "registry"]
    assert len(found) == 1 and "does not render" in found[0].message and "broken.yaml" in found[0].message
    assert found[0].path == "argo/platform/registry-app.yaml" and found[0].severity.name == "ERROR"


def test_values_file_that_is_not_a_mapping(repo):
    overlay(repo, {VAULT_VALUES: "- just\n- a list\n"})
    report = run_lint(repo, render=True, select=["render"])
    found = [f for f in report.findings if f.app == "vault-ha"]
    assert [(f.path, f.severity.name) for f in found] == [(VAULT_VALUES, "ERROR")]
    assert "not a mapping" in found[0].message
    assert next(r for r in report.renders if r.app.name == "vault-ha").rendered == {1, 2}  # not the chart


def test_missing_umbrella_dependency(repo):
    chart = repo / "apps/helm/registry/Chart.yaml"
    text = chart.read_text()
    assert "dependencies:" in text
    chart.write_text(text + "  - name: not-there\n    version: 1.0.0\n    repository: file://../not-there\n")
    report = run_lint(repo, render=True, select=["render"])
    found = [f for f in report.findings if f.app == "registry"]
    assert found and "not-there" in found[0].message
    assert found[0].path == "apps/helm/registry/Chart.yaml"


def test_version_does_not_import_the_sdk():
    code = ("import sys; from gitops_kit.cli import main; main(['--version']); "
            "assert 'helm_python' not in sys.modules and 'gitops_kit.render' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_lint_fetch_pulls_the_misses_first(chart_server, tmp_path, monkeypatch, capsys):
    """--fetch (the one network use of lint) fills a cold cache; without it the same run reports
    cache misses. Through the CLI: --fetch implies --render."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cold-cache"))
    mirrors = {up: url for up, url in chart_server.mirrors.items() if up in SERVED}
    # --fetch pulls the remote kustomize resources too: a 404 on 127.0.0.1, never the internet
    mirrors["https://raw.githubusercontent.com"] = f"{chart_server.url}/not-served-raw"
    root = served_reference(tmp_path / "repo", mirrors)
    cold = run_lint(root, render=True, select=["render"])
    assert any("vault 0.33.0" in f.message and "charts pull" in f.message for f in cold.findings)
    before = len(chart_server.requests)
    assert main(["lint", "--fetch", "--select", "render", "--format", "json", "--exit-zero", "--no-cache",
                 str(root)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(chart_server.requests) > before
    messages = [f["message"] for f in out["findings"]] if isinstance(out, dict) else [
        f["message"] for r in out for f in r["findings"]]
    assert not any("vault 0.33.0" in m for m in messages)


def test_digest_mismatch_is_a_render_error(repo, tmp_path, monkeypatch):
    """A cached archive whose bytes changed since the pull is refused, not rendered."""
    from gitops_kit.charts import ChartRef, store

    ref = ChartRef("https://helm.releases.hashicorp.com", "vault", "0.33.0")
    # a cache of its own: the shared warm cache stays intact for the other tests
    cache = tmp_path / "xdg"
    shutil.copytree(store.cache_dir().parent.parent, cache)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    archive = store.entry_dir(ref) / "chart.tgz"
    archive.write_bytes(archive.read_bytes() + b"tampered")
    report = run_lint(repo, render=True, select=["render"])
    found = [f for f in report.findings if f.app == "vault-ha"]
    assert len(found) == 1 and found[0].severity.name == "ERROR", [f.message for f in found]
    assert "vault" in found[0].message and "also needed by 'vault-transit'" in found[0].message


def test_umbrella_dependency_pinned_by_chart_lock(repo):
    """Chart.yaml asks for a range; Chart.lock pins the served version, which the cache holds."""
    chart = repo / "apps/helm/registry/Chart.yaml"
    chart.write_text(chart.read_text().replace("version: 1.18.2", "version: ~1.18.0"))
    (repo / "apps/helm/registry/Chart.lock").write_text(
        "dependencies:\n- name: harbor\n  repository: https://helm.goharbor.io\n  version: 1.18.2\n"
        "digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
        "generated: \"2026-01-01T00:00:00Z\"\n")
    report = run_lint(repo, render=True, select=["render"])
    r = next(r for r in report.renders if r.app.name == "registry")
    assert r.problems == [] and any(o.template.startswith("registry/charts/harbor/") for o in r.objects)


def test_oci_chart_is_looked_up_in_the_cache_never_fetched(repo, monkeypatch):
    """An OCI source (ArgoCD's scheme-less form) renders from the cache like any chart; missing
    there, it is a finding naming the oci:// reference, and nothing is downloaded."""
    def refuse(*args, **kwargs):
        raise AssertionError("render opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    app = repo / "argo/platform/valkey-app.yaml"
    app.write_text(app.read_text().replace("repoURL: https://charts.bitnami.com/bitnami",
                                           "repoURL: registry-1.docker.io/bitnamicharts"))
    report = run_lint(repo, render=True, select=["render"])
    found = [f for f in report.findings if f.app == "valkey"]
    assert len(found) == 1 and "oci://registry-1.docker.io/bitnamicharts" in found[0].message
    assert found[0].path == "argo/platform/valkey-app.yaml"


def test_output_dir_refuses_a_name_that_leaves_it(tmp_path):
    from gitops_kit.cli_render import _write
    from gitops_kit.errors import UsageError

    out = tmp_path / "out"
    for name in ("../evil", "a/b", ".."):
        with pytest.raises(UsageError):
            _write(out, {name: "x"}, "yaml", force=True)
    assert not (tmp_path / "evil.yaml").exists() and list(out.iterdir()) == []
