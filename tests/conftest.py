import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest

from generate_helpers import copy_repo


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory) -> Path:
    """A repository from `init` (no seed apps), made once per test module; tests work on copies.
    Test modules with a fixture of the same name (check-update, formats) use their own."""
    from gitops_kit.cli import main

    target = tmp_path_factory.mktemp("base") / "gitops"
    # With where CI gets gitops-kit from: without it, lint reports the CI placeholder.
    assert main(["init", str(target), "--tool-source",
                 "git+https://gitlab.example.com/platform/gitops-kit.git@v0.1.0"]) == 0
    return target


@pytest.fixture
def repo(base_repo, tmp_path) -> Path:
    return copy_repo(base_repo, tmp_path / "repo")


@pytest.fixture(autouse=True, scope="session")
def _cache_key_outside_home(tmp_path_factory):
    """The parse cache's signing key goes to a temporary folder, never the user's ~/.cache
    (subprocesses inherit the variable). Tests that need their own key set it again."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture(scope="session")
def hook_source(tmp_path_factory) -> Path:
    """A git repository holding this project's working tree, so the pre-commit hook under test is
    this code (skips without pre-commit or git)."""
    import shutil
    import subprocess

    pytest.importorskip("pre_commit")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from helpers import PROJECT

    src = tmp_path_factory.mktemp("hook-src")
    ignore = shutil.ignore_patterns(".git", ".venv", "*.egg-info", "__pycache__", ".pytest_cache", "build")
    shutil.copytree(PROJECT, src, dirs_exist_ok=True, ignore=ignore)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "snapshot"]):
        subprocess.run(["git", *args], cwd=src, capture_output=True, text=True, env=env, check=True, timeout=600)
    return src


@pytest.fixture(scope="session")
def chart_server():
    """The upstream charts of ../shared served on 127.0.0.1 (skips without ../shared)."""
    from served_charts import CHARTS, serve

    if not (CHARTS / "MAPPING.tsv").is_file():
        pytest.skip("../shared/upstream/charts is absent")
    with serve() as server:
        yield server
