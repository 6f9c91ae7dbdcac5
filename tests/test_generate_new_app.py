"""`gitops-kit new-app`: every pattern in every layer lints clean; inputs are checked with the lint
rules' own code before anything is written; overrides go into .gitops-kit.yaml by a
comment-preserving round trip; user blueprints run no code unless trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generate_helpers import CHART, findings, run, snapshot

# Golden files of the .gitops-kit.yaml round trip: comments (own-line and end-of-line), flow
# mappings, quoting styles and key order survive; the new entry is appended to `apps`, and the
# blank line that ended `apps` stays where it was: every original line is kept as it was.
CONFIG_BEFORE = """\
# Platform team settings. Keep this file small.
repo:
  url: https://gitlab.example.com/platform/gitops.git   # the one repository
  branch: 'master'
tier_label: "example.com/role"
apps:
  # vault-ha unseals against vault-transit
  vault-ha: {after: [vault-transit]}
  loki: {tier: worker}   # observability runs on workers

rules:
  topology-spread: {severity: error}  # spread or fail
exclude:
  - "legacy/**"
"""
CONFIG_AFTER = """\
# Platform team settings. Keep this file small.
repo:
  url: https://gitlab.example.com/platform/gitops.git   # the one repository
  branch: 'master'
tier_label: "example.com/role"
apps:
  # vault-ha unseals against vault-transit
  vault-ha: {after: [vault-transit]}
  loki: {tier: worker}   # observability runs on workers
  wiki:
    tier: control
    after:
      - argocd

rules:
  topology-spread: {severity: error}  # spread or fail
exclude:
  - "legacy/**"
"""


def test_every_pattern_in_every_layer_lints_clean(repo, capsys):
    for layer in ("bootstrap", "platform", "apps"):
        for pattern in ("multi-source", "umbrella-avp", "kustomize"):
            name = f"{layer[:4]}-{pattern.split('-')[0]}"
            secrets = ["--secret", "db_password", "--secret", "api.token"] if pattern != "multi-source" else []
            code, out, err = run(capsys, "new-app", name, "--layer", layer, "--pattern", pattern, "--repo", repo,
                                 "--no-input", *CHART, *secrets)
            assert code == 0, out + err
            assert "0 error(s), 0 warning(s), 0 info" in out
    assert findings(repo) == []
    assert (repo / "argo/bootstrap/boot-multi-app.yaml").is_file()
    ns = (repo / "apps/manifests/plat-umbrella/namespace.yaml").read_text()
    assert "name: plat-umbrella-core" in ns
    assert "name: boot-kustomize-system" in (repo / "apps/manifests/boot-kustomize/namespace.yaml").read_text()
    values = (repo / "apps/helm/apps-kustomize/values.yaml").read_text()
    assert "db_password: <path:kv/data/argocd/apps/helm/apps-kustomize#db_password>" in values
    umbrella = (repo / "apps/helm/plat-umbrella/values.yaml").read_text()
    assert "  api.token: <path:kv/data/argocd/platform/plat-umbrella#api.token>" in umbrella
    assert "\nnamespace:" not in (repo / "apps/helm/apps-kustomize/kustomization.yaml").read_text()


def test_secret_switches_to_umbrella_and_prints_vault_commands_without_values(repo, capsys):
    code, out, _ = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART,
                       "--secret", "db_password", "--secret", "smtp_password")
    assert code == 0
    assert (repo / "apps/helm/wiki/Chart.yaml").is_file()
    assert "plugin:\n        name: avp-helm" in (repo / "argo/apps/wiki-app.yaml").read_text()
    assert "vault kv put kv/argocd/apps/helm/wiki db_password=-" in out
    assert "vault kv patch kv/argocd/apps/helm/wiki smtp_password=-" in out
    assert "+ apps/helm/wiki/values.yaml" in out and "next steps" in out


def test_secret_with_multi_source_is_refused(repo, capsys):
    before = snapshot(repo)
    code, _, err = run(capsys, "new-app", "wiki", "--layer", "apps", "--pattern", "multi-source", "--repo", repo,
                       *CHART, "--secret", "token")
    assert code == 2 and "multi-source" in err
    assert snapshot(repo) == before


def test_second_run_is_refused_and_changes_nothing(repo, capsys):
    args = ["new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART, "--tier", "control"]
    assert run(capsys, *args)[0] == 0
    before = snapshot(repo)
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "argo/apps/wiki-app.yaml" in err and "--force" in err and "nothing was written" in err
    assert snapshot(repo) == before
    code, out, _ = run(capsys, *args, "--force")
    assert code == 0 and "! argo/apps/wiki-app.yaml (replaces the existing file)" in out
    assert snapshot(repo) == before  # same inputs, same bytes


def test_dry_run_leaves_the_tree_byte_identical(repo, capsys):
    before = snapshot(repo)
    code, out, _ = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART, "--tier", "control",
                       "--dry-run")
    assert code == 0
    assert snapshot(repo) == before
    assert "+ argo/apps/wiki-app.yaml" in out and "~ .gitops-kit.yaml" in out and "+  wiki:" in out
    assert "nothing was written" in out


LONG = "a" * 54


@pytest.mark.parametrize("args, message", [
    (["Wiki", "--layer", "apps"], "DNS-1123"),
    (["wiki_1", "--layer", "apps"], "DNS-1123"),
    ([LONG, "--layer", "apps"], "at most 53"),
    (["default", "--layer", "apps"], "reserved"),
    (["kube-system", "--layer", "bootstrap"], "reserved"),
    (["wiki", "--layer", "apps", "--namespace", "kube-public"], "reserved"),
    (["wiki", "--layer", "apps", "--namespace", "kube-node-lease"], "reserved"),
    (["wiki", "--layer", "apps", "--namespace", "wiki-core"], "must not use"),
    (["wiki", "--layer", "platform", "--namespace", "wiki"], "must end in '-core'"),
    (["wiki", "--layer", "bootstrap", "--namespace", "wiki"], "must end in"),
    (["wiki", "--layer", "apps", "--namespace", "Wiki"], "DNS-1123"),
    (["wiki", "--layer", "nope"], "layers are"),
    (["wiki", "--layer", "apps", "--chart-version", "^1.2"], "a range"),
    (["wiki", "--layer", "apps", "--chart-version", "latest"], "moving target"),
    (["wiki", "--layer", "apps", "--chart-version", "1.2"], "not an exact version"),
    (["wiki", "--layer", "apps", "--chart-repo", "ftp://x"], "not an http(s)"),
    (["wiki", "--layer", "apps", "--chart", "Bad Chart"], "not a Helm chart name"),
    (["wiki", "--layer", "apps", "--wave", "12"], "outside layer 'apps'"),
    (["wiki", "--layer", "bootstrap", "--wave", "1"], "outside layer 'bootstrap'"),
    (["wiki", "--layer", "apps", "--tier", "gpu"], "not one of the configured tiers"),
    (["wiki", "--layer", "apps", "--secret", "a b"], "secret key"),
    (["wiki", "--layer", "apps", "--secret", "x", "--secret", "x"], "twice"),
    (["wiki", "--layer", "apps", "--after", "ghost"], "no Application named 'ghost'"),
    (["wiki", "--layer", "bootstrap", "--after", "argocd", "--wave", "-5"], "not after 'argocd'"),
    (["argocd", "--layer", "apps"], "already exists in argo/bootstrap/argocd-app.yaml"),
    (["wiki", "--layer", "apps", "--namespace", "argocd-system"], "must not use"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_written(repo, capsys, args, message):
    before = snapshot(repo)
    chart = dict(zip(CHART[::2], CHART[1::2]))
    extra = [x for k, v in chart.items() if k not in args for x in (k, v)]
    code, out, err = run(capsys, "new-app", *args, "--repo", repo, "--no-input", *extra)
    assert code == 2, out + err
    assert message in err
    assert snapshot(repo) == before


def test_app_namespace_already_taken_is_refused(repo, capsys):
    assert run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART)[0] == 0
    before = snapshot(repo)
    code, _, err = run(capsys, "new-app", "blog", "--layer", "apps", "--namespace", "wiki", "--repo", repo, *CHART)
    assert code == 2 and "already belongs to wiki" in err
    assert snapshot(repo) == before


def test_platform_app_in_a_shared_namespace_gets_no_second_namespace_bundle(repo, capsys):
    assert run(capsys, "new-app", "prom", "--layer", "platform", "--namespace", "monitoring-core", "--repo", repo,
               *CHART)[0] == 0
    code, out, _ = run(capsys, "new-app", "logs", "--layer", "platform", "--namespace", "monitoring-core",
                       "--after", "prom", "--repo", repo, *CHART)
    assert code == 0, out
    assert not (repo / "apps/manifests/logs/namespace.yaml").exists()
    assert "wave: \"1\"" in (repo / "argo/platform/logs-app.yaml").read_text().replace("sync-wave", "wave")
    assert findings(repo) == []


def test_missing_values_without_a_terminal_are_an_error_not_a_prompt(repo, capsys):
    code, _, err = run(capsys, "new-app", "wiki", "--repo", repo, "--no-input")
    assert code == 2 and "--layer" in err
    code, _, err = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, "--no-input")
    assert code == 2 and "--chart-repo and --chart-version" in err


def test_missing_values_are_prompted_for_on_a_terminal(repo, monkeypatch):
    from click.testing import CliRunner

    from gitops_kit.cli import cli
    from gitops_kit.generate import commands

    monkeypatch.setattr(commands, "interactive", lambda no_input: not no_input)
    result = CliRunner().invoke(cli, ["new-app", "wiki", "--repo", str(repo)],
                                input="apps\nwikijs\nhttps://charts.example.org\n2.0.1\n")
    assert result.exit_code == 0, result.output
    text = (repo / "argo/apps/wiki-app.yaml").read_text()
    assert "chart: wikijs" in text and "targetRevision: 2.0.1" in text
    result = CliRunner().invoke(cli, ["new-app", "blog", "--repo", str(repo), "--no-input"])
    assert result.exit_code != 0 and not (repo / "argo/apps/blog-app.yaml").exists()


def test_registering_overrides_keeps_comments_order_and_quoting(repo, capsys):
    """Golden files: .gitops-kit.yaml before and after `new-app --tier --after`."""
    (repo / ".gitops-kit.yaml").write_text(CONFIG_BEFORE)
    code, out, err = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART, "--tier", "control",
                         "--after", "argocd")
    assert code == 0, out + err
    assert (repo / ".gitops-kit.yaml").read_text() == CONFIG_AFTER


def _blueprint(root: Path, hook: bool = False, extensions: bool = False, body: str = "name: {{ cookiecutter.name }}\n",
               filename: str = "{{cookiecutter.name}}-app.yaml") -> Path:
    bp = root / "bp"
    ctx = {"repository": ".", "name": "x", "layer_dir": "argo/apps", "evil": "../../../../escaped"}
    if extensions:
        ctx["_extensions"] = ["os.path"]
    (bp / "{{cookiecutter.repository}}" / "{{cookiecutter.layer_dir}}").mkdir(parents=True)
    (bp / "cookiecutter.json").write_text(json.dumps(ctx))
    (bp / "{{cookiecutter.repository}}" / "{{cookiecutter.layer_dir}}" / filename).write_text(body)
    if hook:
        (bp / "hooks").mkdir()
        (bp / "hooks" / "post_gen_project.py").write_text(
            f"open({str(root / 'hook-ran')!r}, 'w').write('yes')\n")
    return bp


def test_user_blueprint_hooks_are_refused_without_trust(repo, tmp_path, capsys):
    bp = _blueprint(tmp_path, hook=True)
    before = snapshot(repo)
    code, _, err = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART, "--blueprint", bp)
    assert code == 2
    assert "hooks/post_gen_project.py" in err and "--trust-blueprint" in err
    assert not (tmp_path / "hook-ran").exists()
    assert snapshot(repo) == before


def test_user_blueprint_extensions_are_refused_without_trust(repo, tmp_path, capsys):
    bp = _blueprint(tmp_path, extensions=True)
    code, _, err = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART, "--blueprint", bp)
    assert code == 2 and "Jinja extensions" in err and "--trust-blueprint" in err


def test_trusted_user_blueprint_runs_its_hook(repo, tmp_path, capsys):
    bp = _blueprint(tmp_path, hook=True, body=(Path(repo) / "argo/bootstrap/argocd-app.yaml").read_text()
                    .replace("name: argocd\n", "name: {{ cookiecutter.name }}\n"))
    code, out, err = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART, "--blueprint", bp,
                         "--trust-blueprint")
    assert (tmp_path / "hook-ran").read_text() == "yes"
    assert (repo / "argo/apps/wiki-app.yaml").is_file(), out + err


def test_untrusted_user_blueprint_is_rendered_in_the_jinja_sandbox(repo, tmp_path, capsys):
    bp = _blueprint(tmp_path, body="{{ cycler.__init__.__globals__.os.getcwd() }}\n")
    before = snapshot(repo)
    code, _, err = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART, "--blueprint", bp)
    assert code == 2 and "cannot render blueprint" in err
    assert snapshot(repo) == before


def test_user_blueprint_paths_cannot_leave_the_repository(repo, tmp_path, capsys):
    bp = _blueprint(tmp_path, filename="{{ cookiecutter.evil }}")
    before = snapshot(repo)
    code, _, err = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", repo, *CHART, "--blueprint", bp)
    assert code == 2 and "outside the repository" in err
    assert snapshot(repo) == before
    assert not list(tmp_path.rglob("escaped"))


def test_not_a_gitops_repository(tmp_path, capsys):
    code, _, err = run(capsys, "new-app", "wiki", "--layer", "apps", "--repo", tmp_path, *CHART)
    assert code == 2 and "gitops-kit init" in err
    assert list(tmp_path.iterdir()) == []
