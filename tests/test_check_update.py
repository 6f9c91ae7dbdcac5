"""check-update on real git repositories with two commits made in the test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gitops_kit.cli import main
from gitops_kit.update import bump_kind
from upgrade_helpers import APP, CONFIG, commit, git, write_file

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


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
    write_file(root, "apps/helm/reg/Chart.yaml",
               "apiVersion: v2\nname: reg\nversion: 0.1.0\ndependencies:\n  - name: harbor\n    version: 1.18.2\n"
               "    repository: https://helm.goharbor.io\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def run_json(repo: Path, capsys, *extra: str) -> tuple[int, dict]:
    code = main(["check-update", str(repo), "--base", "HEAD~1", "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_bump_kinds():
    assert bump_kind("1.2.3", "1.2.4") == "patch"
    assert bump_kind("1.2.3", "1.3.0") == "minor"
    assert bump_kind("v1.2.3", "v2.0.0") == "major"
    assert bump_kind("1.2.3", "1.2.3-rc.1") == "downgrade"
    assert bump_kind("1.2.3-rc.1", "1.2.3-rc.2") == "prerelease"
    assert bump_kind("1.2.3", "latest") == "non-semver"
    assert bump_kind(None, "1.0.0") == "added"


def test_patch_bump_of_a_chart_passes(repo, capsys):
    commit(repo, {"argo/apps/web-app.yaml": APP.format(name="web", chart="web", version="1.2.4")})
    code, doc = run_json(repo, capsys)
    assert code == 0
    [change] = doc["changes"]
    assert (change["kind"], change["old"], change["new"], change["bump"], change["app"], change["layer"]) == (
        "chart", "1.2.3", "1.2.4", "patch", "web", "apps")
    assert change["verdict"] == "ok" and change["line"] == 11


def test_major_bump_needs_review_unless_allowed(repo, capsys):
    commit(repo, {"argo/apps/web-app.yaml": APP.format(name="web", chart="web", version="2.0.0")})
    code, doc = run_json(repo, capsys)
    assert code == 1 and doc["changes"][0]["verdict"] == "review"
    commit(repo, {".gitops-kit.yaml": CONFIG + "update: {allow_major: [web]}\n"})
    code = main(["check-update", str(repo), "--base", "HEAD~2", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["changes"][0]["verdict"] == "ok"


def test_unpinned_version_is_an_error(repo, capsys):
    commit(repo, {"argo/apps/web-app.yaml": APP.format(name="web", chart="web", version="'1.*'")})
    code, doc = run_json(repo, capsys)
    assert code == 1 and doc["changes"][0]["verdict"] == "error"
    assert "not pinned" in doc["changes"][0]["reasons"][0]


def test_umbrella_dependency_and_image_tag(repo, capsys):
    commit(repo, {
        "apps/helm/reg/Chart.yaml": "apiVersion: v2\nname: reg\nversion: 0.1.0\ndependencies:\n  - name: harbor\n"
                                    "    version: 1.18.3\n    repository: https://helm.goharbor.io\n",
        "apps/helm/web/values.yaml": "image:\n  repository: nginx\n  tag: 1.27.0\n"})
    code, doc = run_json(repo, capsys)
    kinds = {(c["kind"], c["name"], c["old"], c["new"], c["bump"], c["app"]) for c in doc["changes"]}
    assert kinds == {("dependency", "harbor", "1.18.2", "1.18.3", "patch", "reg"),
                     ("image", "nginx", "1.25.3", "1.27.0", "minor", "web")}
    assert code == 0


def test_stateful_app_gets_the_checklist_and_no_render_claim(repo, capsys):
    commit(repo, {"argo/apps/db-app.yaml": APP.format(name="db", chart="postgresql", version="15.1.0")})
    code = main(["check-update", str(repo), "--base", "HEAD~1", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0  # a minor bump passes; the checklist is for the reviewer
    assert doc["changes"][0]["checklist"] and "dump" in doc["changes"][0]["checklist"][0]
    [app] = doc["apps"]
    # the chart is in no cache: the render diff is said to be incomplete, never claimed
    assert (app["app"], app["rendered"], app["verdict"]) == ("db", False, "check")
    messages = [r["message"] for r in app["risks"] if r["rule"] == "render"]
    assert len(messages) == 2 and all("gitops-kit charts pull" in m and "--fetch" in m for m in messages)
    assert "postgresql 15.0.0" in messages[0] and "postgresql 15.1.0" in messages[1]  # base, then head


def test_markdown_output_for_a_merge_request_comment(repo, capsys):
    commit(repo, {"argo/apps/db-app.yaml": APP.format(name="db", chart="postgresql", version="16.0.0")})
    main(["check-update", str(repo), "--base", "HEAD~1", "--format", "markdown"])
    out = capsys.readouterr().out
    assert out.startswith("<!-- gitops-kit:check-update -->")
    assert "| `db` | chart `postgresql` `15.0.0` → `16.0.0` (major) | **review** |" in out
    assert "- [ ] take a fresh database dump" in out


def test_unknown_base_is_usage_error(repo, capsys):
    assert main(["check-update", str(repo), "--base", "no-such-ref"]) == 2
