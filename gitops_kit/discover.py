"""The one walk over a repository: which files are YAML to read, and what was skipped."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .config import CONFIG_NAME
from .errors import UsageError

YAML_SUFFIXES = (".yaml", ".yml")
SKIP_DIRS = {".git", ".hg", ".svn", ".gitops-kit-cache", "node_modules", "__pycache__", ".venv"}


@dataclass(frozen=True)
class Skipped:
    """A YAML-looking path that was not read, and why (reported as a finding)."""

    path: str
    reason: str
    error: bool  # True: the user has a broken file; False: a deliberate skip worth knowing


@dataclass
class Walk:
    """What the walk found: YAML files to read, every path seen, and the skips."""

    yaml_files: list[str] = field(default_factory=list)
    dirs: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)
    skipped: list[Skipped] = field(default_factory=list)


class NotARepository(UsageError):
    """``lint`` was pointed at a directory that no repository contains (refused, not walked)."""


MARKERS_TEXT = "a .gitops-kit.yaml, an argo/ folder or a git checkout (.git)"


def find_root(start: Path, strict: bool = False) -> Path:
    """The repository root: holds .gitops-kit.yaml, else argo/, else the git top level; the search
    goes up from ``start`` no further than the git top level. With none of them: ``start``, or
    :class:`NotARepository` when ``strict`` (lint: walking a home folder or ``/`` reads every
    YAML file below it, ``/proc`` included, and reports nothing useful)."""
    start = start.resolve()
    if start.is_file():
        start = start.parent
    chain = [start, *start.parents]
    top = None
    for i, candidate in enumerate(chain):
        if os.path.lexists(candidate / ".git"):
            # never above the git top level: a .gitops-kit.yaml or argo/ in a parent folder
            # (someone else's checkout, a shared /tmp) is not this repository's
            chain = chain[:i + 1]
            top = candidate
            break
    for marker in (CONFIG_NAME, "argo"):
        for candidate in chain:
            if (candidate / marker).exists():
                return candidate
    if top is not None:
        return top  # what `git rev-parse --show-toplevel` answers, without starting git
    import subprocess  # the last resort: not imported when a marker is found

    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start, capture_output=True,
                             text=True, timeout=10, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    if strict:
        raise NotARepository(f"{start} is not in a GitOps repository: neither it nor a folder above it holds "
                             f"{MARKERS_TEXT}; run gitops-kit in one, or pass --root DIR to lint DIR as "
                             "the repository whatever it holds")
    return start


def git_top(root: Path) -> Path | None:
    """The git top level at or above ``root`` (a ``.git`` folder or file), or None; no subprocess."""
    for candidate in (root, *root.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


def group_by_root(paths: list[str], strict: bool = True) -> list[tuple[Path, list[str]]]:
    """``paths`` grouped by the repository that contains each (:func:`find_root`), in the order
    of their first path: pre-commit passes the files of every environment of a monorepo at once."""
    groups: dict[Path, list[str]] = {}
    for p in paths:
        groups.setdefault(find_root(Path(p), strict=strict), []).append(p)
    return list(groups.items())


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A gitignore-like glob as a regex: ``**`` crosses directories, ``*`` does not."""
    pat = pattern.strip().lstrip("/")
    if pat.endswith("/"):
        pat += "**"
    if "/" not in pat:
        pat = "**/" + pat
    out = []
    i = 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pat[i]))
            i += 1
    return re.compile("".join(out) + r"(?:/.*)?\Z")


def matches(path: str, patterns: list[str]) -> bool:
    """True when the repo-relative posix ``path`` matches any glob."""
    return any(_matcher(p)(path) for p in patterns)


@lru_cache(maxsize=256)
def _matcher(pattern: str):
    """A match function for one glob: the regex where it cannot backtrack badly (at most one
    star), else :class:`_Glob`, linear in pattern x path (``.gitops-kit.yaml`` is untrusted: a
    regex of ``*a*a*a*a*a*a*b`` takes seconds on a 32-character file name)."""
    if pattern.count("*") - 2 * pattern.count("**") + pattern.count("**") <= 1:
        return glob_regex(pattern).match
    return _Glob(pattern).match


_LIT, _ONE, _STAR, _DSTAR, _OPTDIR, _INDIR = range(6)


class _Glob:
    """The glob of :func:`glob_regex` as a set-of-states matcher: no backtracking."""

    def __init__(self, pattern: str) -> None:
        pat = pattern.strip().lstrip("/")
        if pat.endswith("/"):
            pat += "**"
        if "/" not in pat:
            pat = "**/" + pat
        tokens: list[tuple[int, str]] = []
        i = 0
        while i < len(pat):
            if pat.startswith("**/", i):
                # (?:.*/)?: a gate that may skip the part, then the part (any run ending in '/')
                tokens += [(_OPTDIR, ""), (_INDIR, "")]
                i += 3
            elif pat.startswith("**", i):
                tokens.append((_DSTAR, ""))
                i += 2
            elif pat[i] == "*":
                tokens.append((_STAR, ""))
                i += 1
            elif pat[i] == "?":
                tokens.append((_ONE, ""))
                i += 1
            else:
                tokens.append((_LIT, pat[i]))
                i += 1
        self.tokens = tokens

    def _close(self, states: set[int]) -> set[int]:
        out, stack = set(), list(states)
        while stack:
            st = stack.pop()
            if st in out:
                continue
            out.add(st)
            kind = self.tokens[st][0] if st < len(self.tokens) else None
            if kind in (_STAR, _DSTAR):
                stack.append(st + 1)  # each of these may match nothing
            elif kind == _OPTDIR:
                stack += [st + 1, st + 2]  # into the folder part, or past it
        return out

    def match(self, path: str) -> bool:
        """Whether the glob matches ``path``, or a leading run of its folders (``dir/`` globs)."""
        tokens, end = self.tokens, len(self.tokens)
        current = self._close({0})
        for ch in path:
            if ch == "/" and end in current:
                return True  # the glob matched a folder: everything below it matches
            moved = set()
            for st in current:
                if st == end:
                    continue
                kind, lit = tokens[st]
                if kind == _LIT:
                    if ch == lit:
                        moved.add(st + 1)
                elif kind == _ONE:
                    if ch != "/":
                        moved.add(st + 1)
                elif kind == _STAR:
                    if ch != "/":
                        moved.add(st)
                elif kind == _DSTAR:
                    moved.add(st)
                elif kind == _INDIR:  # any run of characters that ends with '/'
                    moved.add(st)
                    if ch == "/":
                        moved.add(st + 1)
            if not moved:
                return False
            current = self._close(moved)
        return end in current


def walk(root: Path, exclude: list[str]) -> Walk:
    """Walk ``root`` once. Symlinked directories are not entered (no loops, nothing outside)."""
    result = Walk()
    real_root = os.path.realpath(root)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root, rel_dir) if rel_dir else str(root)
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as exc:
            result.skipped.append(Skipped(rel_dir or ".", f"directory not readable: {exc.strerror}", True))
            continue
        names = {e.name for e in entries}
        is_chart = "Chart.yaml" in names
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if exclude and matches(rel, exclude):
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name in SKIP_DIRS:
                    continue
                result.dirs.add(rel)
                # Helm templates are Go templates, not YAML; vendored sub-charts are not ours.
                if is_chart and entry.name in ("templates", "charts"):
                    continue
                subdirs.append(rel)
                continue
            if is_link and os.path.isdir(entry.path):
                result.dirs.add(rel)  # a linked directory exists, but is never entered
                continue
            result.files.add(rel)
            if not entry.name.endswith(YAML_SUFFIXES):
                continue
            if is_link:
                target = os.path.realpath(entry.path)
                if not os.path.exists(target):
                    result.skipped.append(Skipped(rel, "symlink whose target does not exist (or a loop): not read", True))
                    continue
                if os.path.commonpath([real_root, target]) != real_root:
                    result.skipped.append(Skipped(rel, "symlink to a file outside the repository: not followed", False))
                    continue
            result.yaml_files.append(rel)  # its size is checked when it is read (model.read_bytes)
        stack.extend(reversed(subdirs))
    result.yaml_files.sort()
    return result
