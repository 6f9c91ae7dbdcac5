"""Security of check-update: the repository under review is untrusted input.

check-update runs in CI on merge requests, so nothing in the checkout may make gitops-kit run a
program (chart names, repository URLs and versions never reach helm or git as options), hide a
risky change behind a rename, a deletion, an unusual file name or a GitOps root below the git top
level, or print a secret (a connection string under ``image:``, credentials helm echoes).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from gitops_kit.cli import main
from upgrade_helpers import APP, CONFIG, commit, git, write_file

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MALICIOUS_CHART = "--post-renderer=./x.sh"

# A stand-in for helm that writes its argv (NUL-separated, one invocation per line of the log) and,
# like the real helm, runs the program named by --post-renderer: the malicious chart name would
# make it run a script from the checkout.
RECORDING_HELM = """#!/bin/sh
for a in "$@"; do printf '%s\\037' "$a" >> "{log}"; done
printf '\\n' >> "{log}"
for a in "$@"; do
  [ "$a" = "--" ] && break
  case "$a" in --post-renderer=*) "${{a#--post-renderer=}}" </dev/null ;; esac
done
exit 0
"""

FAILING_HELM = """#!/bin/sh
echo "helm: first line adminPassword: Sup3rS3cretValue" >&2
echo "Error: looking up https://robot:hunter2hunter2@charts.example.com/index.yaml: 401; values:" \
  "adminPassword: Sup3rS3cretValue token=ghp_{token} postgres://app:dbpassw0rd@db:5432/x" >&2
exit 1
"""
GH_TOKEN = "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8"  # the GitHub format: ghp_ and 36 characters
HELM_SECRETS = ("hunter2hunter2", "Sup3rS3cretValue", GH_TOKEN, "dbpassw0rd")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "platform"
    root.mkdir()
    git(root, "init", "-q", "-b", "master")
    write_file(root, ".gitops-kit.yaml", CONFIG)
    write_file(root, "argo/apps/web-app.yaml", APP.format(name="web", chart="web", version="1.2.3"))
    write_file(root, "apps/helm/web/values.yaml", "image:\n  repository: nginx\n  tag: 1.25.3\n")
    write_file(root, "argo/apps/db-app.yaml", APP.format(name="db", chart="postgresql", version="15.0.0"))
    write_file(root, "apps/helm/db/values.yaml", "primary:\n  persistence: {enabled: true}\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def fake_helm(tmp_path: Path, monkeypatch, script: str) -> Path:
    """Put an executable ``helm`` first on PATH; returns the log its argv goes to."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "helm-argv.log"
    helm = bindir / "helm"
    helm.write_text(script.replace("{log}", str(log)).replace("{{", "{").replace("}}", "}"))
    helm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return log


def invocations(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.split("\037")[:-1] for line in log.read_text().splitlines() if line]


def run(repo: Path, capsys, fmt: str, base: str = "HEAD~1") -> tuple[int, str]:
    code = main(["check-update", str(repo), "--base", base, "--format", fmt])
    return code, capsys.readouterr().out


# --- item 5: nothing from the repository reaches a subprocess as an option ---------------------


@pytest.mark.parametrize("renderer", ["auto", "helm"])
def test_no_program_runs_for_a_chart_not_in_the_cache(repo, tmp_path, capsys, monkeypatch, renderer):
    """check-update is offline: a chart that is not in the cache is reported, never downloaded by helm."""
    log = fake_helm(tmp_path, monkeypatch, RECORDING_HELM)
    commit(repo, {"argo/apps/web-app.yaml": APP.format(name="web", chart="web", version="1.2.4")})
    code = main(["check-update", str(repo), "--base", "HEAD~1", "--format", "json", "--renderer", renderer])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and invocations(log) == []
    [app] = doc["apps"]
    assert app["rendered"] is False and any("not in the chart cache" in p for p in app["problems"])


def test_malicious_chart_name_is_reported_not_executed(repo, tmp_path, capsys, monkeypatch):
    log = fake_helm(tmp_path, monkeypatch, RECORDING_HELM)
    marker = tmp_path / "PWNED"
    write_file(repo, "x.sh", f"#!/bin/sh\ntouch '{marker}'\n")
    (repo / "x.sh").chmod(0o755)
    quoted = f'"{MALICIOUS_CHART}"'
    commit(repo, {"argo/apps/web-app.yaml": APP.format(name="web", chart=quoted, version="1.2.3")})
    commit(repo, {"argo/apps/web-app.yaml": APP.format(name="web", chart=quoted, version="1.2.4")})
    monkeypatch.chdir(repo)  # where a relative --post-renderer would resolve
    code, out = run(repo, capsys, "json")
    doc = json.loads(out)
    assert not marker.exists(), "the chart name made helm run a program from the checkout"
    for argv in invocations(log):
        assert not any(a.startswith("--post-renderer") for a in argv[:argv.index("--") if "--" in argv else None])
    [change] = doc["changes"]
    assert change["verdict"] == "error" and code == 1
    assert any("chart name" in r and "refused" in r for r in change["reasons"]), change["reasons"]
    assert all(not a["rendered"] for a in doc["apps"])
    code, text = run(repo, capsys, "text")
    assert code == 1 and "error [chart]" in text and "refused" in text
    assert not marker.exists()


@pytest.mark.parametrize("url", ["--post-renderer=./x.sh", "file:///etc", "ssh://git@example.com/c"])
def test_repository_url_is_validated_before_helm(repo, tmp_path, capsys, monkeypatch, url):
    log = fake_helm(tmp_path, monkeypatch, RECORDING_HELM)
    app = APP.format(name="web", chart="web", version="VERSION").replace("https://charts.example.com", f'"{url}"')
    commit(repo, {"argo/apps/web-app.yaml": app.replace("VERSION", "1.2.3")})
    commit(repo, {"argo/apps/web-app.yaml": app.replace("VERSION", "1.2.4")})
    code, out = run(repo, capsys, "json")
    doc = json.loads(out)
    assert invocations(log) == []
    assert all(not a["rendered"] for a in doc["apps"])
    if url.startswith("-"):
        assert code == 1 and doc["changes"][0]["verdict"] == "error"


def test_version_that_looks_like_an_option_is_refused(repo, tmp_path, capsys, monkeypatch):
    log = fake_helm(tmp_path, monkeypatch, RECORDING_HELM)
    commit(repo, {"argo/apps/web-app.yaml": APP.format(name="web", chart="web", version='"--devel"')})
    code, out = run(repo, capsys, "json")
    doc = json.loads(out)
    assert code == 1 and doc["changes"][0]["verdict"] == "error"
    assert all("--devel" not in argv for argv in invocations(log))


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "html"])
def test_render_problems_never_show_credentials(repo, tmp_path, capsys, monkeypatch, fmt):
    fake_helm(tmp_path, monkeypatch, FAILING_HELM.replace("ghp_{token}", GH_TOKEN))
    app = APP.format(name="web", chart="web", version="VERSION").replace(
        "https://charts.example.com", "https://robot:hunter2hunter2@charts.example.com")
    commit(repo, {"argo/apps/web-app.yaml": app.replace("VERSION", "1.2.3")})
    commit(repo, {"argo/apps/web-app.yaml": app.replace("VERSION", "1.2.4")})
    _, out = run(repo, capsys, fmt)
    assert "not in the chart cache" in out and "charts.example.com" in out
    for secret in HELM_SECRETS:
        assert secret not in out, (secret, out)
    assert "robot" not in out  # userinfo is stripped from URLs, the user name too


def test_redact_and_parse_image_units():
    from gitops_kit.update import parse_image, redact

    assert redact("x https://u:p4ss@h.example.com/a y") == "x https://h.example.com/a y"
    assert redact("clientSecret=abc123def password: 'q w' token: ${TOKEN}") == (
        "clientSecret=*** password: *** token: ${TOKEN}")
    assert redact(f"got {GH_TOKEN}, done") == "got ***, done"
    assert redact("a\x1b[31mred\nforged line") == "a\\x1b[31mred\\nforged line"
    assert parse_image("registry.example.com:5000/team/app:1.0@sha256:" + "a" * 64) == (
        "registry.example.com:5000/team/app", "1.0@sha256:" + "a" * 64)  # the digest is part of the version
    assert parse_image("nginx") == ("nginx", None)
    assert parse_image("localhost:5000/app") == ("localhost:5000/app", None)
    for not_an_image in (CONNECTION_OLD, "{{ .Values.image }}", "nginx:" + "1" * 129, "Nginx:1", "a b:1",
                         "-x:1", "nginx:-1"):
        assert parse_image(not_an_image) is None, not_an_image


def test_base_that_looks_like_an_option_is_a_usage_error(repo, tmp_path, capsys):
    target = tmp_path / "written"
    code = main(["check-update", str(repo), "--base", f"--output={target}"])
    assert code == 2 and not target.exists()


def test_branch_from_config_is_not_an_option(repo, capsys):
    config = CONFIG.replace("repo: {url:", "repo: {branch: '--help', url:")
    commit(repo, {".gitops-kit.yaml": config})
    code = main(["check-update", str(repo)])
    err = capsys.readouterr().err
    assert code == 2 and "merge-base" in err


# --- item 8: renames, deletions, quoted names and a root below the git top level ---------------


def test_renamed_application_with_a_major_bump_needs_review(repo, capsys):
    git(repo, "mv", "argo/apps/web-app.yaml", "argo/apps/web.yaml")
    write_file(repo, "argo/apps/web.yaml", APP.format(name="web", chart="web", version="2.0.0"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "rename and bump")
    code, out = run(repo, capsys, "json")
    doc = json.loads(out)
    [change] = doc["changes"]
    assert (change["path"], change["old"], change["new"], change["bump"]) == (
        "argo/apps/web.yaml", "1.2.3", "2.0.0", "major")
    assert change["verdict"] == "review" and code == 1


@pytest.mark.parametrize("also_remove_bundle", [False, True])
def test_deleting_a_stateful_application_needs_review(repo, capsys, also_remove_bundle):
    git(repo, "rm", "-q", "argo/apps/db-app.yaml", *(["apps/helm/db/values.yaml"] if also_remove_bundle else []))
    git(repo, "commit", "-qm", "drop db")
    code, out = run(repo, capsys, "json")
    doc = json.loads(out)
    removed = [c for c in doc["changes"] if c["app"] == "db"]
    assert removed and all(c["new"] is None for c in removed)
    assert any(c["verdict"] == "review" and any("stateful" in r for r in c["reasons"]) for c in removed), removed
    assert code == 1
    code, text = run(repo, capsys, "text")
    assert code == 1 and "review" in text


PATH_APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: pg, namespace: argocd-system}
spec:
  destination: {server: https://kubernetes.default.svc, namespace: pg}
  source: {repoURL: https://gitlab.example.com/platform/gitops.git, targetRevision: master, path: apps/manifests/pg}
"""


def test_deleting_a_stateful_application_without_a_chart_needs_review(repo, capsys):
    commit(repo, {"argo/apps/pg-app.yaml": PATH_APP,
                  "apps/manifests/pg/cluster.yaml": "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\n"
                                                    "metadata: {name: pg, namespace: pg}\nspec: {instances: 1}\n"})
    _, out = run(repo, capsys, "json")
    assert json.loads(out)["changes"] == []  # a new Application without a chart has no version to report
    git(repo, "rm", "-q", "-r", "argo/apps/pg-app.yaml", "apps/manifests/pg")
    git(repo, "commit", "-qm", "drop pg")
    code, out = run(repo, capsys, "json")
    doc = json.loads(out)
    [change] = [c for c in doc["changes"] if c["app"] == "pg"]
    assert (change["kind"], change["name"], change["new"], change["verdict"]) == ("application", "pg", None, "review")
    assert code == 1


def test_deleting_a_stateless_application_is_not_flagged(repo, capsys):
    git(repo, "rm", "-q", "argo/apps/web-app.yaml")
    git(repo, "commit", "-qm", "drop web")
    code, out = run(repo, capsys, "json")
    doc = json.loads(out)
    assert code == 0 and all(c["verdict"] == "ok" for c in doc["changes"])


@pytest.mark.parametrize("name", ["argo/apps/wéb-app.yaml", "argo/apps/web\tapp.yaml"])
def test_file_names_git_quotes_are_read(repo, capsys, name):
    git(repo, "rm", "-q", "argo/apps/web-app.yaml")
    write_file(repo, name, APP.format(name="web", chart="web", version="1.2.3"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "odd name")
    write_file(repo, name, APP.format(name="web", chart="web", version="2.0.0"))
    git(repo, "commit", "-qam", "bump")
    code, out = run(repo, capsys, "json")
    doc = json.loads(out)
    [change] = doc["changes"]
    assert change["path"] == name and (change["old"], change["new"]) == ("1.2.3", "2.0.0")
    assert change["verdict"] == "review" and code == 1
    _, text = run(repo, capsys, "text")
    assert "\t" not in text.split(":", 1)[0]  # control characters are escaped, never printed raw


def test_gitops_root_below_the_git_top_level(tmp_path, capsys):
    top = tmp_path / "mono"
    top.mkdir()
    git(top, "init", "-q", "-b", "master")
    root = top / "deploy" / "gitops"
    write_file(root, ".gitops-kit.yaml", CONFIG)
    write_file(root, "argo/apps/web-app.yaml", APP.format(name="web", chart="web", version="1.2.3"))
    write_file(root, "apps/helm/web/values.yaml", "image:\n  repository: nginx\n  tag: 1.25.3\n")
    write_file(top, "argo/apps/other.yaml", APP.format(name="other", chart="other", version="1.0.0"))  # outside
    git(top, "add", "-A")
    git(top, "commit", "-qm", "base")
    write_file(root, "argo/apps/web-app.yaml", APP.format(name="web", chart="web", version="2.0.0"))
    write_file(top, "argo/apps/other.yaml", APP.format(name="other", chart="other", version="9.0.0"))
    git(top, "commit", "-qam", "bump")
    code, out = run(root, capsys, "json")
    doc = json.loads(out)
    [change] = doc["changes"]  # the file outside the GitOps root is not this repository's
    assert (change["path"], change["old"], change["new"], change["verdict"]) == (
        "argo/apps/web-app.yaml", "1.2.3", "2.0.0", "review")
    assert code == 1


# --- item 15: what is printed is an image reference, masked like the linter masks secrets ------

CONNECTION_OLD = "postgres://user:s3cretpass@db:5432/x"
CONNECTION_NEW = "postgres://user:n3wS3cretpass@db:5432/x"


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_connection_string_under_image_is_not_an_image(repo, capsys, fmt):
    write_file(repo, "apps/helm/web/job.yaml", f"kind: Job\nspec:\n  image: {CONNECTION_OLD}\n")
    write_file(repo, "apps/helm/web/map.yaml", f"db:\n  repository: {CONNECTION_OLD}\n  tag: '1.0'\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "job")
    commit(repo, {"apps/helm/web/job.yaml": f"kind: Job\nspec:\n  image: {CONNECTION_NEW}\n",
                  "apps/helm/web/map.yaml": f"db:\n  repository: {CONNECTION_NEW}\n  tag: '2.0'\n",
                  "apps/helm/web/values.yaml": "image:\n  repository: nginx\n  tag: 1.25.4\n"})
    code, out = run(repo, capsys, fmt)
    for secret in ("s3cretpass", "n3wS3cretpass", "postgres://"):
        assert secret not in out, (secret, out)
    assert "nginx" in out and "1.25.4" in out  # real images are still reported
    if fmt == "json":
        doc = json.loads(out)
        assert [(c["name"], c["old"], c["new"]) for c in doc["changes"]] == [("nginx", "1.25.3", "1.25.4")]


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_printed_values_are_masked(repo, capsys, fmt):
    write_file(repo, "apps/helm/web/deploy.yaml", "kind: Pod\nspec:\n  containers:\n"
                                             "    - {name: a, image: 'registry.example.com:5000/team/app:1.0'}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pod")
    image = f"registry.example.com:5000/team/app:{GH_TOKEN}"
    deploy = f"kind: Pod\nspec:\n  containers:\n    - {{name: a, image: '{image}'}}\n"
    commit(repo, {"apps/helm/web/deploy.yaml": deploy})
    code, out = run(repo, capsys, fmt)
    assert GH_TOKEN not in out and "***" in out
    assert "registry.example.com:5000/team/app" in out
    if fmt == "json":
        [change] = json.loads(out)["changes"]
        assert (change["name"], change["old"], change["new"]) == ("registry.example.com:5000/team/app", "1.0", "***")
