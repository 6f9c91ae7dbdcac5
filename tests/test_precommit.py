"""The pre-commit hook, run by the real pre-commit framework on a real git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import APP

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=check, timeout=600)


def test_commit_with_violation_fails_and_clean_one_passes(tmp_path, hook_source):
    rev = _git(hook_source, "rev-parse", "HEAD").stdout.strip()
    repo = tmp_path / "platform"
    (repo / "argo" / "apps").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_source}\n    rev: {rev}\n    hooks:\n      - id: gitops-kit-lint\n"
        "        args: [--select, 'automated-sync,yaml-syntax']\n")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home")}
    # The module, not a console script: the venv running the tests need not be on PATH.
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, check=True, capture_output=True, env=env, timeout=120)

    (repo / "argo" / "apps" / "demo-app.yaml").write_text(APP.format(self_heal="true"))
    _git(repo, "add", "-A")
    clean = subprocess.run(["git", "commit", "-m", "clean"], cwd=repo, capture_output=True, text=True, env={
        **env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e"}, timeout=900)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    # A violation in a new file fails the commit; an untouched file's state does not matter.
    (repo / "argo" / "apps" / "bad-app.yaml").write_text(APP.format(self_heal="false").replace("demo", "bad"))
    _git(repo, "add", "-A")
    bad = subprocess.run(["git", "commit", "-m", "bad"], cwd=repo, capture_output=True, text=True, env={
        **env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e"}, timeout=900)
    assert bad.returncode != 0
    assert "argo/apps/bad-app.yaml:10:17: error [automated-sync]" in bad.stdout + bad.stderr
    assert "demo-app.yaml" not in bad.stdout
