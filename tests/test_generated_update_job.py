"""The generated pipeline's merge-request job (`renovate-update-check`, issue 18), run as generated:
its script against a real two-commit git repository made by `init --platform seed` (the reference
example), charts downloaded by its `--fetch` from the upstream charts served on 127.0.0.1, and a
stub GitLab API that records the note: created on the first run, updated on the second."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_kit import yamlio
from helpers import reference_copy
from render_helpers import point_at_server
from upgrade_helpers import git, gitlab_stub

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

JOB = "renovate-update-check"
TOKEN = "glpat-" + "Yk4" * 7
VENV_BIN = os.path.dirname(sys.executable)


def _job(root: Path) -> dict:
    ci = yamlio.plain(yamlio.load_text((root / ".gitlab-ci.yml").read_text()).documents[0].data)
    return ci[JOB]


def test_the_job_runs_only_on_renovate_merge_requests_and_keeps_its_reports(tmp_path):
    job = _job(reference_copy(tmp_path / "repo"))
    [rule] = job["rules"]
    assert rule == {"if": '$CI_PIPELINE_SOURCE == "merge_request_event" && '
                          "$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME =~ /^renovate\\//"}
    assert job["variables"]["GIT_DEPTH"] == "0"  # the base commit is in the clone
    assert job["artifacts"]["when"] == "always"
    assert set(job["artifacts"]["paths"]) == {"check-update.html", "check-update.json", "check-update-full.md"}
    assert not any("GITOPS_KIT_GITLAB_TOKEN" in line for line in job["script"])  # read from the environment only


def test_the_job_posts_one_note_and_updates_it(tmp_path, chart_server):
    pytest.importorskip("helm_python")
    root = reference_copy(tmp_path / "repo")
    point_at_server(root, chart_server.mirrors)  # the chart URLs go to 127.0.0.1; vault at 0.33.0
    git(root, "init", "-q", "-b", "master")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    base = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-qb", "renovate/vault-0.x")
    app = root / "argo/platform/vault-ha-app.yaml"
    app.write_text(re.sub(r"targetRevision: 0\.33\.0", "targetRevision: 0.34.1", app.read_text()))
    git(root, "commit", "-qam", "chore(deps): update helm release vault to v0.34.1")

    script = _job(root)["script"]
    steps = [line for line in script if not line.startswith("pip install") and "kustomize" not in line]
    assert len(steps) == len(script) - 4 == 1  # the install and kustomize steps run in CI only
    with gitlab_stub() as (gitlab, api):
        env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
        env.update({"PATH": VENV_BIN + os.pathsep + env.get("PATH", ""), "XDG_CACHE_HOME": str(tmp_path / "cache"),
                    "CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_API_V4_URL": api,
                    "CI_PROJECT_ID": "platform/gitops", "CI_MERGE_REQUEST_IID": "7",
                    "GITOPS_KIT_GITLAB_TOKEN": TOKEN})
        runs = [subprocess.run(["sh", "-c", "set -e\n" + "\n".join(steps)], cwd=root, env=env, capture_output=True,
                               text=True, timeout=300) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr  # a minor bump: the policy lets it merge
        assert TOKEN not in run.stdout + run.stderr and "Yk4" not in run.stdout + run.stderr
    assert [c["method"] for c in gitlab.calls] == ["GET", "POST", "GET", "PUT"]
    assert {c["token"] for c in gitlab.calls} == {TOKEN}
    assert gitlab.calls[1]["path"] == "/api/v4/projects/platform%2Fgitops/merge_requests/7/notes"
    assert gitlab.calls[3]["path"] == "/api/v4/projects/platform%2Fgitops/merge_requests/7/notes/101"
    assert sorted(gitlab.notes) == [7, 101]  # one note of ours, the other comment untouched
    note = gitlab.notes[101]
    assert "vault-ha" in note and "0.33.0" in note and "0.34.1" in note
    assert "hashicorp/vault:2.0.4" in (root / "check-update.html").read_text()  # the render diff, both sides
    assert (root / "check-update.json").is_file()
    assert not (root / "check-update-full.md").exists()  # written only when the note has to be cut
