"""kustomize ``helmCharts`` rendered offline from the chart cache, as ``kustomize build --enable-helm``
inflates them, with every other transformer of the kustomization applied on top (the served
vault 0.33.0 chart of ../shared/upstream/charts)."""

from __future__ import annotations

import pytest
import yaml

from gitops_kit.cli import main
from helpers import overlay
from render_helpers import served_reference, warm_cache

pytest.importorskip("helm_python")

KUSTOMIZATION = "apps/helm/asset-mgmt/kustomization.yaml"
HASHICORP = "https://helm.releases.hashicorp.com"

# the asset-mgmt app (avp-helm plugin + kustomization) deploys vault through helmCharts, with a
# namespace transformer and a patch of the chart's StatefulSet on top
VAULT_KUSTOMIZATION = f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: asset-mgmt
commonLabels:
  example.com/owner: platform
helmCharts:
  - name: vault
    repo: {HASHICORP}
    version: 0.33.0
    releaseName: vault-kz
    namespace: vault-kz
    valuesFile: vault-values.yaml
    valuesInline:
      server:
        ha:
          replicas: 5
resources:
  - templates/db-secret.yaml
patches:
  - target:
      kind: StatefulSet
      name: vault-kz
    patch: |-
      - op: add
        path: /spec/template/spec/nodeSelector
        value:
          example.com/role: worker
"""
VAULT_VALUES = """\
injector:
  enabled: false
server:
  ha:
    enabled: true
    replicas: 3
    raft:
      enabled: true
"""


@pytest.fixture(scope="module")
def served(chart_server, tmp_path_factory):
    """The reference with its chart URLs on the served charts, the vault kustomization, and a
    chart cache of this module's own holding vault 0.33.0 (and the other served charts)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("helmcharts-cache")))
        mirrors = {up: url for up, url in chart_server.mirrors.items() if up == HASHICORP}
        root = served_reference(tmp_path_factory.mktemp("helmcharts") / "repo", mirrors)
        overlay(root, {KUSTOMIZATION: VAULT_KUSTOMIZATION, "apps/helm/asset-mgmt/vault-values.yaml": VAULT_VALUES})
        warm_cache(root)
        yield root, mp


def _render(root, app="asset-mgmt"):
    from gitops_kit import config as config_mod
    from gitops_kit.model import build
    from gitops_kit.render import Options, render_apps

    (r,) = render_apps(build(root, config_mod.load(root)), [app], Options(renderer="sdk"))
    return r


def _objects(r) -> dict[tuple[str, str], dict]:
    from gitops_kit import yamlio

    return {(o.kind, o.name): yamlio.plain(o.data, str_keys=True) for o in r.objects}


def _edit(root, **entry):
    data = yaml.safe_load((root / KUSTOMIZATION).read_text())
    data["helmCharts"][0].update(entry)
    for key, value in entry.items():
        if value is None:
            del data["helmCharts"][0][key]
    (root / KUSTOMIZATION).write_text(yaml.safe_dump(data, sort_keys=False))


def test_helmcharts_render_with_the_kustomization_applied_on_top(served, tmp_path):
    from render_helpers import copy_of

    root = copy_of(served[0], tmp_path / "repo")
    r = _render(root)
    assert r.problems == [] and r.rendered == {0, 1}
    objs = _objects(r)
    sts = objs[("StatefulSet", "vault-kz")]
    # valuesInline overrides the values file (valuesMerge: override, kustomize's default)
    assert sts["spec"]["replicas"] == 5
    # releaseName and the chart's own labels, then kustomize's transformers: namespace (over the
    # release namespace the chart wrote), commonLabels, the patch
    assert sts["metadata"]["labels"]["app.kubernetes.io/instance"] == "vault-kz"
    assert sts["metadata"]["namespace"] == "asset-mgmt"
    assert sts["metadata"]["labels"]["example.com/owner"] == "platform"
    assert sts["spec"]["template"]["spec"]["nodeSelector"] == {"example.com/role": "worker"}
    assert objs[("Service", "vault-kz-active")]["metadata"]["namespace"] == "asset-mgmt"
    # the chart's values file: the injector is off, HA with raft is on
    assert not any("injector" in name for _kind, name in objs)
    assert 'storage "raft"' in objs[("ConfigMap", "vault-kz-config")]["data"]["extraconfig-from-values.hcl"]
    # the kustomization's own resources are still there
    assert ("Secret", "asset-mgmt-db") in objs
    # helm template prints test hooks (skipTests: false); ArgoCD never applies them
    from gitops_kit.render import ordered

    assert ("Pod", "vault-kz-server-test") in objs
    assert "vault-kz-server-test" not in {o.name for o in ordered(r.objects)}


def test_helmcharts_options_skip_tests_replace_and_release_name(served, tmp_path):
    from render_helpers import copy_of

    root = copy_of(served[0], tmp_path / "repo")
    _edit(root, skipTests=True, valuesMerge="replace", releaseName=None, namespace=None)
    r = _render(root)
    objs = _objects(r)
    # --generate-name: <chart>-<seconds>, a new name on every render, which the render reports
    [sts] = [o for (kind, _name), o in objs.items() if kind == "StatefulSet"]
    assert sts["metadata"]["name"].startswith("vault-") and sts["metadata"]["name"][6:].isdigit()
    assert [p.kind for p in r.problems] == ["unsupported"] and "releaseName" in r.problems[0].message
    # valuesMerge: replace: the values file is not read, only valuesInline (HA off: standalone)
    assert sts["spec"]["replicas"] == 1 and any("injector" in name for _kind, name in objs)
    assert not any(kind == "Pod" for kind, _name in objs)  # skipTests


def test_helmcharts_cache_miss_names_the_chart_and_the_command(served, tmp_path, monkeypatch):
    from render_helpers import copy_of

    root = copy_of(served[0], tmp_path / "repo")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    r = _render(root)
    assert [o for o in r.objects if o.source == 0] == [] and r.rendered == {1}
    [p] = r.problems
    assert p.kind == "cache-miss" and p.path == KUSTOMIZATION
    assert p.chart == f"vault 0.33.0 from {HASHICORP}"
    assert "is not in the chart cache" in p.message and "gitops-kit charts pull asset-mgmt" in p.message
    assert p.pos[0] == VAULT_KUSTOMIZATION.splitlines().index("  - name: vault") + 1


def test_helmcharts_bad_values_are_render_errors(served, tmp_path):
    from render_helpers import copy_of

    root = copy_of(served[0], tmp_path / "repo")
    (root / "apps/helm/asset-mgmt/vault-values.yaml").write_text("- not\n- a mapping\n")
    r = _render(root)
    assert [p.kind for p in r.problems] == ["values"] and "not a mapping" in r.problems[0].message
    assert [o for o in r.objects if o.source == 0] == []
    # values the chart's values.schema.json rejects: helm template fails, so does the render
    (root / "apps/helm/asset-mgmt/vault-values.yaml").write_text(VAULT_VALUES)
    _edit(root, valuesInline={"server": {"ha": {"replicas": "five"}}, "injector": {"enabled": "no"}})
    r = _render(root)
    assert [p.kind for p in r.problems] == ["render"], [p.message for p in r.problems]
    assert "does not render" in r.problems[0].message and [o for o in r.objects if o.source == 0] == []
    # a values file outside the kustomization's folder: kustomize's load restrictions refuse it
    _edit(root, valuesInline=None, valuesFile="../vault-ha/values.yaml")
    r = _render(root)
    assert [p.kind for p in r.problems] == ["values"] and "not in or below" in r.problems[0].message


def test_lint_render_reports_a_helmcharts_cache_miss_once(served, tmp_path, monkeypatch):
    from helpers import run_lint
    from render_helpers import copy_of

    root = copy_of(served[0], tmp_path / "repo")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    report = run_lint(root, render=True)
    found = [f for f in report.findings if f.rule == "render" and f.app == "asset-mgmt"]
    assert len(found) == 1 and found[0].path == KUSTOMIZATION and "charts pull asset-mgmt" in found[0].message
    assert found[0].severity.name == "WARNING"


def test_charts_pull_pulls_the_helmcharts_chart(served, tmp_path, monkeypatch, capsys):
    root = served[0]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh-cache"))
    assert main(["charts", "pull", "asset-mgmt", "--root", str(root)]) == 0
    assert f"downloaded  asset-mgmt: vault 0.33.0 from {HASHICORP}" in capsys.readouterr().out


def test_local_chart_of_chart_home(served, tmp_path):
    """A helmCharts entry without repo: kustomize's <chartHome>/<name> (helmGlobals.chartHome)."""
    from render_helpers import copy_of

    root = copy_of(served[0], tmp_path / "repo")
    overlay(root, {
        KUSTOMIZATION: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                       "helmGlobals:\n  chartHome: vendor\nhelmCharts:\n  - name: demo\n    releaseName: rel\n"
                       "    valuesInline:\n      greeting: hi\n",
        "apps/helm/asset-mgmt/vendor/demo/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
        "apps/helm/asset-mgmt/vendor/demo/values.yaml": "greeting: hello\nsize: 2\n",
        "apps/helm/asset-mgmt/vendor/demo/templates/cm.yaml":
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-demo\n"
            "data:\n  greeting: {{ .Values.greeting }}\n  size: {{ .Values.size | quote }}\n",
    })
    r = _render(root)
    assert r.problems == []
    assert _objects(r)[("ConfigMap", "rel-demo")]["data"] == {"greeting": "hi", "size": "2"}


def test_kustomize_build_rule_builds_helmcharts_from_the_cache(served, tmp_path, monkeypatch):
    from helpers import run_lint
    from render_helpers import copy_of

    root = copy_of(served[0], tmp_path / "repo")
    cfg = root / ".gitops-kit.yaml"
    cfg.write_text(cfg.read_text() + "rules:\n  kustomize-build: {enabled: true}\n")
    found = [f for f in run_lint(root).findings if f.rule == "kustomize-build" and f.path == KUSTOMIZATION]
    assert found == []  # built: the chart came from the cache
    # a patch whose target the chart does not emit: kustomize's own error
    (root / KUSTOMIZATION).write_text((root / KUSTOMIZATION).read_text() + "  - path: missing-patch.yaml\n")
    found = [f for f in run_lint(root).findings if f.rule == "kustomize-build" and f.path == KUSTOMIZATION]
    assert len(found) == 1 and "kustomize build fails" in found[0].message and "missing-patch.yaml" in found[0].message
    # without the chart in the cache: not checked, naming the command
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    found = [f for f in run_lint(root).findings if f.rule == "kustomize-build" and f.path == KUSTOMIZATION]
    assert len(found) == 1 and found[0].severity.name == "INFO"
    assert "not checked" in found[0].message and "charts pull asset-mgmt" in found[0].message


def test_values_merges_as_kustomize_and_helm_do():
    from gitops_kit.render.helmcharts import helm_merge, kyaml_merge

    file = {"a": {"b": 1, "c": 2}, "list": [1, 2], "named": [{"name": "x", "v": 1}, {"name": "y", "v": 2}]}
    inline = {"a": {"b": 10, "c": None}, "list": [3], "named": [{"name": "y", "v": 20}, {"name": "z", "v": 3}]}
    # override: inline wins; a null deletes the key; named lists merge by name, others are replaced
    assert kyaml_merge(inline, file) == {"a": {"b": 10}, "list": [3], "named": [
        {"name": "x", "v": 1}, {"name": "y", "v": 20}, {"name": "z", "v": 3}]}
    # merge: the file wins
    assert kyaml_merge(file, inline)["a"] == {"b": 1, "c": 2}
    # helm's -f files: later wins, nulls kept for Helm's coalesce to delete defaults
    assert helm_merge({"a": {"b": 1}, "l": [1]}, {"a": {"c": None}, "l": [2]}) == {"a": {"b": 1, "c": None}, "l": [2]}
