"""Shared test helpers: copies of the reference example with overlays, and in-process lint runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from gitops_kit.api import LintReport, lint

PROJECT = Path(__file__).resolve().parent.parent
REFERENCE = PROJECT / "examples" / "reference"
SHARED = PROJECT.parent / "shared"
_EXPECT = re.compile(r"#\s*expect:\s*([a-z0-9,\- ]+)\s*$")


def reference_copy(dest: Path) -> Path:
    """A fresh copy of the reference example at ``dest``."""
    shutil.copytree(REFERENCE, dest, symlinks=True, ignore=shutil.ignore_patterns(".gitops-kit-cache"))
    return dest


def overlay(root: Path, files: dict[str, str | None]) -> None:
    """Write (or, for None, delete) files below ``root``."""
    for rel, content in files.items():
        target = root / rel
        if content is None:
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def expected_markers(files: dict[str, str | None], rule: str) -> set[tuple[str, int]]:
    """(path, line) of every ``# expect: <rule>`` marker in overlay files."""
    out = set()
    for rel, content in files.items():
        if content is None:
            continue
        for no, line in enumerate(content.split("\n"), 1):
            m = _EXPECT.search(line)
            if m and rule in [r.strip() for r in m.group(1).split(",")]:
                out.add((rel, no))
    return out


def run_lint(root: Path, **kwargs) -> LintReport:
    """Lint ``root`` in-process."""
    return lint([str(root)], **kwargs)


def by_rule(report: LintReport, rule: str) -> set[tuple[str, int]]:
    return {(f.path, f.line) for f in report.findings if f.rule == rule}


def count_parses(monkeypatch) -> dict[str, int]:
    """Count the files the model parses from here on (``calls["n"]``), in this process."""
    from gitops_kit import model

    calls = {"n": 0}
    real = model._parse_raw

    def counting(rel, raw):
        calls["n"] += 1
        return real(rel, raw)

    monkeypatch.setattr(model, "_parse_raw", counting)
    return calls
