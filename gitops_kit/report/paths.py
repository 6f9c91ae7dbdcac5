"""Where the paths of a report are relative to (``lint --path-base``), and one report out of the
runs of several repositories (``lint`` given files of several environments of a monorepo).

Findings carry paths relative to their GitOps root (fingerprints and baselines depend on it);
only what is printed is moved:

- ``cwd``: relative to the working directory, as ruff and yamllint print them: a person at a
  terminal (or an editor's terminal) opens them from where the command ran. Default of ``text``.
- ``git``: relative to the git top level of the checkout, which is what every CI consumer resolves
  a path against (GitLab Code Quality and its merge-request widget, GitHub annotations and code
  scanning, SARIF's ``SRCROOT``, JUnit ``file=`` links), and independent of where the command ran.
  Default of ``json``, ``sarif``, ``codequality``, ``junit`` and ``github``. Without a git checkout
  it is the GitOps root. Runs of several repositories in different checkouts (or none) are
  relative to the folder that holds all their roots, so that no two paths look alike.
- ``root``: relative to the GitOps root (the folder with ``.gitops-kit.yaml`` or ``argo/``), as
  the fingerprints are; one repository only.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..findings import Finding

BASES = ("cwd", "git", "root")
_DEFAULT_BASE = {"text": "cwd"}  # every other format: "git"


def default_base(fmt: str) -> str:
    """The path base a format uses when ``--path-base`` is not given."""
    return _DEFAULT_BASE.get(fmt, "git")


@dataclass
class View:
    """What a formatter needs: findings with display paths, the summary, the files and rules."""

    findings: list[Finding]
    summary: dict[str, int]
    checked_files: list[str] = field(default_factory=list)
    rules_run: list[str] = field(default_factory=list)


def base_dirs(roots: list[Path], base: str, cwd: str | None = None) -> list[str | None]:
    """For each GitOps root, the folder its paths are shown relative to (None: the root itself)."""
    if base == "root":
        return [None for _ in roots]
    if base == "cwd":
        here = cwd if cwd is not None else os.getcwd()
        return [here for _ in roots]
    from ..discover import git_top

    tops = [git_top(root) for root in roots]
    if len(roots) > 1 and (None in tops or len(set(tops)) > 1):
        # no one checkout holds them all: relative to the folder that does, never ambiguous
        common = os.path.commonpath([str(r) for r in roots])
        return [common for _ in roots]
    return [str(top) if top is not None and top != root else None for root, top in zip(roots, tops)]


class Mover:
    """Moves the paths of one root's findings (relative to ``root``) to be relative to ``base``."""

    def __init__(self, root: Path, base: str | None) -> None:
        self.root = str(root)
        self.base = None if base is None or os.path.realpath(base) == os.path.realpath(self.root) else base

    def __call__(self, path: str) -> str:
        if self.base is None or posixpath.isabs(path):
            return path  # an absolute path: a --config file outside the repository
        moved = os.path.relpath(os.path.join(self.root, path), self.base)
        return moved.replace(os.sep, "/")

    def finding(self, finding: Finding) -> Finding:
        """``finding`` with its path, related places and cause moved."""
        if self.base is None:
            return finding
        changes: dict[str, Any] = {"path": self(finding.path)}
        if finding.related:
            changes["related"] = tuple(dataclasses.replace(loc, path=self(loc.path)) for loc in finding.related)
        if finding.cause is not None:
            changes["cause"] = dataclasses.replace(finding.cause, path=self(finding.cause.path))
        return dataclasses.replace(finding, **changes)


def view(reports: list[Any], base: str, cwd: str | None = None, files: bool = False) -> View:
    """One view of the :class:`gitops_kit.api.LintReport` of each repository, paths by ``base``;
    with the checked files only when ``files`` (JUnit: moving thousands of paths costs time)."""
    if len(reports) == 1 and base == "root":
        r = reports[0]
        return View(r.findings, r.summary(), r.checked_files if files else [], r.rules_run)
    findings: list[Finding] = []
    checked: list[str] = []
    summary: dict[str, int] = {}
    rules: set[str] = set()
    for report, folder in zip(reports, base_dirs([r.root for r in reports], base, cwd)):
        mover = Mover(report.root, folder)
        findings += [mover.finding(f) for f in report.findings]
        if files:
            checked += [mover(p) for p in report.checked_files]
        for key, value in report.summary().items():
            summary[key] = summary.get(key, 0) + value
        rules.update(report.rules_run)
    summary["rules"] = len(rules)
    return View(findings, summary, sorted(checked), sorted(rules))
