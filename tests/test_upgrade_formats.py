"""check-update's formats: the JSON document against its schema, the merge-request comment cut
at object boundaries with the rest in an artifact, the self-contained HTML page, and the one
GitLab note (created, then updated) through a stub API on 127.0.0.1 (issue 18)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from gitops_kit.cli import main
from upgrade_helpers import SECRET, dir_repo, gitlab_stub, manifests

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
PROJECT = Path(__file__).resolve().parent.parent
MANY = 40


def _many_changes() -> dict[str, str]:
    after = {rel: text for rel, text in manifests(size="2Gi", tag="16.6", policy="Delete", widget="v2").items()
             if text != manifests()[rel]}
    after["apps/manifests/db/secret.yaml"] = SECRET.format(password="New-Pa55word-y2")
    for i in range(MANY):
        after[f"apps/manifests/db/cm-{i:02}.yaml"] = (f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:02}, "
                                                      f"namespace: db}}\ndata: {{value: '{'x' * 60}'}}\n")
    return after


@pytest.fixture(scope="module")
def busy_repo(tmp_path_factory) -> Path:
    return dir_repo(tmp_path_factory.mktemp("busy"), _many_changes())


def run(root: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["check-update", str(root), "--base", "HEAD~1", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_matches_its_schema(busy_repo, capsys):
    import jsonschema

    schema = json.loads((PROJECT / "schemas" / "check-update.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    code, out, _ = run(busy_repo, capsys, "--format", "json")
    doc = json.loads(out)
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert code == 1 == doc["exit_code"]
    assert {r["rule"] for a in doc["apps"] for r in a["risks"]} >= {"immutable-field", "retain-dropped",
                                                                    "api-version-moved", "image-changed"}
    assert doc["summary"]["apps"] == 1 and doc["summary"]["errors"] >= 2


def test_json_schema_also_fits_a_report_without_render(busy_repo, capsys):
    import jsonschema

    schema = json.loads((PROJECT / "schemas" / "check-update.schema.json").read_text())
    _, out, _ = run(busy_repo, capsys, "--format", "json", "--no-render")
    doc = json.loads(out)
    jsonschema.validate(doc, schema)
    assert doc["apps"] == [] and doc["summary"]["rendered"] is False


def test_markdown_is_cut_at_object_boundaries_with_the_rest_in_the_artifact(busy_repo, tmp_path, capsys):
    artifact = tmp_path / "out" / "full.md"
    code, whole, _ = run(busy_repo, capsys, "--format", "markdown", "--artifact", str(artifact))
    assert not artifact.exists()  # it fits the default limit: no artifact
    assert whole.index("| app | bump | verdict | risks |") < whole.index("<details>")  # the summary comes first
    limit = 4000
    code, cut, _ = run(busy_repo, capsys, "--format", "markdown", "--note-limit", str(limit), "--artifact",
                       str(artifact))
    assert len(cut) <= limit < len(whole) and code == 1
    assert cut.count("<details>") == cut.count("</details>")
    assert str(artifact) in cut and "object diff(s)" in cut
    assert artifact.read_text() == whole
    headers = re.findall(r"^\*\*`[^`]+`\*\* \((?:changed|added|removed)\)$", cut, re.M)
    assert 0 < len(headers) < len(re.findall(r"^\*\*`[^`]+`\*\* \(", whole, re.M))
    # an object is shown whole or not at all: every table started is finished before the next block
    for header in headers:
        assert whole.count(header) == 1
    assert "| `db` |" in cut  # the summary row is never cut


def test_html_is_self_contained_with_a_side_by_side_diff(busy_repo, capsys):
    code, page, _ = run(busy_repo, capsys, "--format", "html")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", page, re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#)""", page)  # only in-page anchors
    assert '<table class="diff">' in page and 'class="del"' in page and 'class="add"' in page
    assert "Old-Pa55word-x1" not in page and "New-Pa55word-y2" not in page and "*** (changed)" in page


# --- the GitLab note ----------------------------------------------------------------------------------

TOKEN = "glpat-" + "Zq7" * 7


@pytest.fixture
def gitlab(monkeypatch):
    with gitlab_stub() as (handler, api):
        for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(proxy, raising=False)
        monkeypatch.setenv("CI_API_V4_URL", api)
        monkeypatch.setenv("CI_PROJECT_ID", "platform/gitops")
        monkeypatch.setenv("CI_MERGE_REQUEST_IID", "42")
        monkeypatch.setenv("GITOPS_KIT_GITLAB_TOKEN", TOKEN)
        yield handler


def test_the_note_is_created_then_updated(busy_repo, capsys, gitlab):
    code, out, err = run(busy_repo, capsys, "--format", "markdown", "--gitlab-note")
    assert code == 1  # the policy's exit code: the note does not change it
    assert [c["method"] for c in gitlab.calls] == ["GET", "POST"]
    post = gitlab.calls[1]
    assert post["path"] == "/api/v4/projects/platform%2Fgitops/merge_requests/42/notes"
    assert post["token"] == TOKEN and post["body"]["body"] == out
    assert "merge-request note 101 created" in err
    code, out, err = run(busy_repo, capsys, "--format", "text", "--gitlab-note")
    assert [c["method"] for c in gitlab.calls] == ["GET", "POST", "GET", "PUT"]
    assert gitlab.calls[3]["path"].endswith("/merge_requests/42/notes/101") and "updated" in err
    assert sorted(gitlab.notes) == [7, 101]  # one note of ours, the other comment untouched
    assert gitlab.notes[101].startswith("<!-- gitops-kit:check-update -->")
    assert TOKEN not in out + err


def test_a_refused_token_is_an_error_that_never_shows_it(busy_repo, capsys, gitlab):
    gitlab.status = 401
    code, out, err = run(busy_repo, capsys, "--format", "markdown", "--gitlab-note")
    assert code == 2 and "HTTP 401" in err
    assert TOKEN not in out + err and "Zq7" not in err


def test_missing_variables_and_clear_text_urls_are_refused(busy_repo, capsys, monkeypatch):
    from gitops_kit.upgrade import gitlab as note

    monkeypatch.delenv("GITOPS_KIT_GITLAB_TOKEN", raising=False)
    code, _, err = run(busy_repo, capsys, "--format", "markdown", "--gitlab-note")
    assert code == 2 and "GITOPS_KIT_GITLAB_TOKEN" in err
    env = {"CI_API_V4_URL": "http://gitlab.example.com/api/v4", "CI_PROJECT_ID": "1", "CI_MERGE_REQUEST_IID": "2",
           "GITOPS_KIT_GITLAB_TOKEN": TOKEN}
    with pytest.raises(note.NoteError, match="https") as caught:
        note.post("x", env)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("fmt", ["markdown", "html", "text"])
def test_an_image_only_one_side_has_reads_removed_not_none(tmp_path, capsys, fmt):
    """Found on a public repository whose commit deleted manifests: the report said `1.5.5` → `None`."""
    root = dir_repo(tmp_path, {"apps/manifests/db/deploy.yaml": None})
    _, out, _ = run(root, capsys, "--format", fmt)
    assert "None" not in out
    assert re.search(r"nginx\S* \S*1\.27\.0\S* removed", out), out[-2000:]
