"""Helpers of the tests/test_generate_*.py files (no tests here): run the CLI, snapshot trees, lint."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gitops_kit.api import lint
from gitops_kit.cli import main

CHART = ["--chart-repo", "https://charts.example.org", "--chart-version", "1.2.3"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run gitops-kit in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def snapshot(root: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every file (bytes, permission bits) and directory (None) below ``root``."""
    out: dict[str, tuple[bytes, int] | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".gitops-kit-cache"]  # lint's parse cache, git-ignored
        for d in dirnames:
            out[Path(dirpath, d).relative_to(root).as_posix() + "/"] = None
        for f in filenames:
            p = Path(dirpath, f)
            out[p.relative_to(root).as_posix()] = (p.read_bytes(), os.stat(p).st_mode & 0o7777)
    return out


def findings(root: Path) -> list[str]:
    """Every lint finding of the repository at ``root``, as text."""
    return [f"{f.path}:{f.line}: {f.severity} [{f.rule}] {f.message}" for f in lint([str(root)]).findings]


def copy_repo(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest
