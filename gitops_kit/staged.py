"""What a commit deletes, for the pre-commit hook (``lint --staged``): pre-commit passes only the
files a commit adds or changes, but a deletion can break another file (a bundle's only
NetworkPolicy, a value file an Application names)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

YAML_SUFFIXES = (".yaml", ".yml")


def staged_deletions(root: Path) -> list[str]:
    """``root``-relative YAML files the git index deletes (a rename counts as a deletion of its old
    name); empty outside a git work tree or without git."""
    try:
        top = _git(root, "rev-parse", "--show-toplevel").strip()
        if not top:
            return []
        # -z: names come NUL-separated and unquoted, whatever characters they hold
        listed = _git(root, "diff", "--cached", "--name-only", "--no-renames", "--diff-filter=D", "-z")
    except (OSError, subprocess.SubprocessError):
        return []
    try:
        below = root.resolve().relative_to(Path(top).resolve()).as_posix()
    except ValueError:
        return []
    prefix = "" if below == "." else below + "/"
    out = []
    for name in listed.split("\0"):
        if name.endswith(YAML_SUFFIXES) and name.startswith(prefix):
            out.append(name[len(prefix):])
    return sorted(out)


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=60,
                          check=True, encoding="utf-8", errors="surrogateescape")
    return done.stdout
