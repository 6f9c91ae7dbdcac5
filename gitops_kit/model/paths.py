"""Repository paths as ArgoCD reads them: its glob (``directory.include``/``exclude``), path
normalisation, and which files a plain directory source renders."""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..yamlio import YMap

if TYPE_CHECKING:
    from . import AppSource, RepoModel

_MANIFEST = re.compile(r".*\.(?:yaml|yml|json|jsonnet)\Z")


# --- ArgoCD directory sources ------------------------------------------------------------------

# The states of a compiled glob (a Thompson NFA: matching runs all alternatives in step, so it
# takes len(pattern) x len(text) at worst; the regex translation this replaces backtracked through
# every way of splitting the text among the stars, minutes for a 40-character file name).
_CHAR, _ANY, _CLASS, _STAR, _SPLIT, _MATCH = range(6)


class ArgoGlob:
    """A compiled ArgoCD glob; :meth:`match` is True when it matches the whole text."""

    __slots__ = ("kinds", "args", "nexts", "start")

    def __init__(self) -> None:
        self.kinds: list[int] = []
        self.args: list[Any] = []  # the character, the class (negate, chars, ranges) or the split targets
        self.nexts: list[int] = []
        self.start = 0

    def add(self, kind: int, arg: Any, nxt: int) -> int:
        """A new state; its index."""
        self.kinds.append(kind)
        self.args.append(arg)
        self.nexts.append(nxt)
        return len(self.kinds) - 1

    def _close(self, states: list[int], into: set[int]) -> None:
        """Add ``states`` and every state reachable from them without reading a character."""
        kinds, args, nexts = self.kinds, self.args, self.nexts
        stack = list(states)
        while stack:
            st = stack.pop()
            if st in into:
                continue
            into.add(st)
            kind = kinds[st]
            if kind == _SPLIT:
                stack.extend(args[st])
            elif kind == _STAR:
                stack.append(nexts[st])

    def match(self, text: str) -> bool:
        """Whether the glob matches all of ``text``."""
        kinds, args, nexts = self.kinds, self.args, self.nexts
        current: set[int] = set()
        self._close([self.start], current)
        for ch in text:
            moved: list[int] = []
            for st in current:
                kind = kinds[st]
                if kind == _STAR:
                    moved.append(st)
                elif kind == _CHAR:
                    if args[st] == ch:
                        moved.append(nexts[st])
                elif kind == _ANY:
                    moved.append(nexts[st])
                elif kind == _CLASS:
                    negate, chars, ranges = args[st]
                    if (ch in chars or any(lo <= ch <= hi for lo, hi in ranges)) != negate:
                        moved.append(nexts[st])
            if not moved:
                return False
            current = set()
            self._close(moved, current)
        return any(kinds[st] == _MATCH for st in current)


def _class_items(body: str) -> tuple[frozenset[str], tuple[tuple[str, str], ...]] | None:
    """A ``[...]`` body as (characters, ranges) with regex class rules: ``a-z`` is a range, a ``-``
    first, last or right after a range is literal, a reversed range is invalid (None)."""
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    i, n = 0, len(body)
    while i < n:
        if i + 2 < n and body[i + 1] == "-":
            lo, hi = body[i], body[i + 2]
            if lo > hi:
                return None
            ranges.append((lo, hi))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    return frozenset(chars), tuple(ranges)


def _parse_glob(pattern: str) -> list[Any] | None:
    """The pattern as a sequence of items: a character, ``?``/``*`` as (kind,), a class as
    (_CLASS, spec), ``{a,b}`` as a list of sequences. None when invalid."""
    root: list[Any] = []
    # The open alternations, innermost last: (the sequence they sit in, their branches).
    stack: list[tuple[list[Any], list[list[Any]]]] = []
    seq = root
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                return None
            seq.append(pattern[i + 1])
            i += 2
            continue
        if ch == "*":
            while i < n and pattern[i] == "*":
                i += 1
            seq.append((_STAR,))
            continue
        if ch == "?":
            seq.append((_ANY,))
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "]") else i + 1)
            if end < 0:
                return None
            body = pattern[i + 1:end]
            negate = body.startswith("!")
            if negate:
                body = body[1:]
            items = _class_items(body) if body else None
            if items is None:
                return None
            seq.append((_CLASS, (negate, *items)))
            i = end + 1
            continue
        elif ch == "{":
            branches: list[list[Any]] = [[]]
            stack.append((seq, branches))
            seq = branches[0]
        elif ch == "}" and stack:
            outer, branches = stack.pop()
            outer.append(branches)
            seq = outer
        elif ch == "," and stack:
            branches = stack[-1][1]
            branches.append([])
            seq = branches[-1]
        else:
            seq.append(ch)
        i += 1
    return None if stack else root


def _compile_glob(items: list[Any]) -> ArgoGlob:
    glob = ArgoGlob()
    # Each sequence is built back to front onto the state that follows it. Alternations nest
    # (an untrusted pattern may open braces thousands deep), so the walk keeps its own stack of
    # frames instead of recursing: a sequence [items, how many are left to build, the state the
    # built rest starts at], or an alternation (branches, the state after it, the branches' starts).
    stack: list[Any] = [[items, len(items), glob.add(_MATCH, None, -1)]]
    done = -1  # the start state of the frame just finished, for the frame below it
    while stack:
        frame = stack[-1]
        if isinstance(frame, tuple):
            branches, follow, starts = frame
            if done >= 0:
                starts.append(done)
                done = -1
            if len(starts) < len(branches):
                branch = branches[len(starts)]
                stack.append([branch, len(branch), follow])
            else:
                stack.pop()
                done = glob.add(_SPLIT, starts, -1)
            continue
        seq, left, nxt = frame
        if done >= 0:  # the alternation at seq[left - 1] is built
            nxt, left, done = done, left - 1, -1
        while left and not isinstance(seq[left - 1], list):
            item = seq[left - 1]
            if isinstance(item, str):
                nxt = glob.add(_CHAR, item, nxt)
            else:
                nxt = glob.add(item[0], item[1] if item[0] == _CLASS else None, nxt)
            left -= 1
        frame[1], frame[2] = left, nxt
        if left:
            stack.append((seq[left - 1], nxt, []))
        else:
            stack.pop()
            done = nxt
    glob.start = done
    return glob


@lru_cache(maxsize=256)
def argo_glob(pattern: str) -> ArgoGlob | None:
    """ArgoCD's ``directory.include``/``exclude`` glob, compiled; None if it is invalid.

    ArgoCD compiles these with gobwas/glob and no separators, so ``*`` (and ``?``) also match
    ``/``; ``{a,b}`` alternates (nestable), ``[abc]``/``[!abc]``/``[a-z]`` are classes and ``\\``
    escapes. An invalid pattern matches nothing in ArgoCD (it logs a warning), hence None.
    """
    items = _parse_glob(pattern)
    return None if items is None else _compile_glob(items)


def glob_match(pattern: str, text: str) -> bool:
    """Whether ArgoCD's glob ``pattern`` matches ``text`` (False for an invalid pattern)."""
    glob = argo_glob(pattern)
    return glob is not None and glob.match(text)


def norm_path(path: str) -> str:
    """A repository path without ``./``, duplicate or trailing slashes ('' for the root).

    A path that climbs above the root keeps its ``..`` so that it matches nothing inside.
    """
    cleaned = posixpath.normpath(path.replace("\\", "/").strip().lstrip("/") or ".")
    return "" if cleaned == "." else cleaned


def directory_opts(source: AppSource) -> tuple[bool, str | None, str | None]:
    """(recurse, include, exclude) of a source's ``directory`` block (ArgoCD defaults when absent)."""
    directory = source.get("directory")
    if not isinstance(directory, YMap):
        return False, None, None
    include, exclude = directory.get("include"), directory.get("exclude")
    return (directory.get("recurse") is True,
            include if isinstance(include, str) and include else None,
            exclude if isinstance(exclude, str) and exclude else None)


def source_includes(source: AppSource, rel: str) -> bool:
    """Whether a directory source of this repository renders the repo-relative file ``rel``.

    Mirrors ArgoCD's directory walk: files below ``path`` (only its top level unless
    ``directory.recurse``), manifest extensions only, ``exclude`` then ``include`` matched
    against the path relative to the source path.
    """
    path = source.path
    if path is None:
        return False
    base = norm_path(path)
    rel = norm_path(rel)
    if base:
        if not rel.startswith(base + "/"):
            return False
        sub = rel[len(base) + 1:]
    else:
        sub = rel
    recurse, include, exclude = directory_opts(source)
    if "/" in sub and not recurse:
        return False
    if not _MANIFEST.match(sub.rsplit("/", 1)[-1]):
        return False
    if exclude is not None and glob_match(exclude, sub):
        return False
    return include is None or glob_match(include, sub)


# --- .gitignore ----------------------------------------------------------------------------------

_GITIGNORE_LIMIT = 64 << 10


def gitignored(model: RepoModel, path: str) -> bool:
    """Whether a ``.gitignore`` of the directory of ``path`` (repo-relative) or of one above it
    lists it: a file generated before a build (a config-management plugin's ``helm template >
    all.yaml``) rather than one that is missing. As git decides: the last pattern that matches
    wins (a ``!`` negation re-includes), and a deeper ``.gitignore`` over the ones above it."""
    from ..discover import matches

    directory = path
    while directory:
        directory = posixpath.dirname(directory)
        rel = path[len(directory) + 1:] if directory else path
        for line in reversed(_gitignore(model, directory)):
            negated = line.startswith("!")
            if matches(rel, [line[1:] if negated else line]):
                return not negated
    return False


def _gitignore(model: RepoModel, directory: str) -> list[str]:
    """The patterns of ``directory``'s .gitignore (read once per model, at most 64 KiB)."""
    memo = model.memo.setdefault("gitignore", {})
    found = memo.get(directory)
    if found is None:
        from . import read_text

        text = read_text(model, f"{directory}/.gitignore" if directory else ".gitignore", _GITIGNORE_LIMIT)
        found = memo[directory] = [line for line in (raw.strip() for raw in (text or "").splitlines())
                                   if line and not line.startswith("#") and line != "!"]
    return found
