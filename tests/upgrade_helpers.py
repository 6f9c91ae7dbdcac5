"""Shared setup of the check-update render-diff tests: two-commit git repositories (base commit,
head in the working tree or a second commit) and a per-module chart cache."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def write(root: Path, files: dict[str, str | None]) -> None:
    for rel, text in files.items():
        target = root / rel
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def two_commits(root: Path, before: dict[str, str | None], after: dict[str, str | None]) -> Path:
    """``root`` (already holding files) with ``before`` written and committed, then ``after`` committed."""
    write(root, before)
    git(root, "init", "-q", "-b", "master")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    write(root, after)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "head")
    return root


def check_json(root: Path, capsys, *extra: str) -> tuple[int, dict]:
    from gitops_kit.cli import main

    code = main(["check-update", str(root), "--base", "HEAD~1", "--format", "json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def app_of(doc: dict, name: str) -> dict:
    found = [a for a in doc["apps"] if a["app"] == name]
    assert found, [a["app"] for a in doc["apps"]]
    return found[0]


def rules(app: dict) -> list[str]:
    return [r["rule"] for r in app["risks"]]


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """A chart cache for the module (XDG_CACHE_HOME), restored afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
        yield mp
