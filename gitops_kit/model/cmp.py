"""ArgoCD config-management plugins of this repository and their ``discover`` rules, offline.

Shared by cmp-discover (is a rule too wide or too narrow) and avp-placeholder (does
argocd-vault-plugin render this directory). ArgoCD's repo-server asks every sidecar plugin with a
``discover`` rule, in the order of their socket names, before its own kustomize and Helm
detection, for every source without an explicit ``kustomize``/``helm``/``directory``/``plugin``
block (util/app/discovery); the first that matches renders the source.

The rule is evaluated as the plugin's cmp-server does (cmpserver/plugin/plugin.go): ``fileName``
with Go's filepath.Glob, ``find.glob`` with mattn/go-zglob (``**/`` any number of directories,
``*`` within one, every other character literal), both joined to the source directory; only
the first of fileName, find.glob, find.command counts. ``find.command`` cannot run offline.
Plugins are read once per model (``model.memo``); nothing here reads a file.
"""

from __future__ import annotations

import bisect
import posixpath
from dataclasses import dataclass
from typing import Iterator

from .. import yamlio
from ..yamlio import YMap, YSeq
from . import AppSource, RepoModel
from . import text as s

Pos = tuple[int, int]
EXPLICIT = ("kustomize", "helm", "directory", "plugin")
AVP_BINARY = "argocd-vault-plugin"


@dataclass(frozen=True)
class Plugin:
    """A ConfigManagementPlugin found in the repository and its discover rule."""

    name: str  # as Applications name it: <name>-<version> when a version is set
    path: str
    kind: str  # "fileName", "find.glob", "find.command" or "" (no rule)
    pattern: str
    pos: Pos
    runs_avp: bool = False  # its generate command runs argocd-vault-plugin


def explicit_types(src: AppSource) -> list[str]:
    """The source's explicit blocks (ArgoCD's ExplicitType); empty: discovery decides."""
    return [key for key in EXPLICIT if isinstance(src.get(key), YMap)]


def plugins(model: RepoModel) -> list[Plugin]:
    """Every ConfigManagementPlugin of the repository (a file of its own or a ConfigMap value)."""
    found = model.memo.get("cmp_plugins")
    if found is None:
        found = model.memo["cmp_plugins"] = list(_plugins(model))
    return found


def is_avp(model: RepoModel, name: str | None) -> bool:
    """Whether the plugin a source names runs argocd-vault-plugin: the configured ``avp_plugin``,
    or a plugin of this repository of that name whose generate command runs it."""
    if name is None:
        return False
    return name == model.config.avp_plugin or any(p.name == name and p.runs_avp for p in plugins(model))


def discovering(model: RepoModel, directory: str) -> Iterator[tuple[Plugin, bool]]:
    """The plugins that may take a source directory by discovery, in ArgoCD's order: (plugin,
    certain). A ``find.command`` rule cannot be run here (certain False); the first rule that
    matches takes the source, so nothing after it is yielded."""
    for plugin in sorted(plugins(model), key=lambda p: p.name):
        if plugin.kind == "find.command":
            yield plugin, False
        elif plugin.kind and matches(model, plugin, directory):
            yield plugin, True
            return


# --- the plugins ------------------------------------------------------------------------------------

def _plugins(model: RepoModel) -> Iterator[Plugin]:
    for obj in model.objects:
        if obj.kind == "ConfigManagementPlugin":
            yield _plugin(obj.path, obj.data, None, None)
        elif obj.kind == "ConfigMap" and obj.api_version == "v1":
            data = obj.data.get("data")
            if not isinstance(data, YMap):
                continue
            lines = None
            for key, value in data.items():
                if not isinstance(value, str) or "ConfigManagementPlugin" not in value:
                    continue
                lines = lines or s.SourceLines(obj.file.text)
                for doc in yamlio.load_text(value).documents:
                    if isinstance(doc.data, YMap) and doc.data.get("kind") == "ConfigManagementPlugin":
                        yield _plugin(obj.path, doc.data, lines, (data.value_pos(key), value))


def _plugin(path: str, data: YMap, lines: s.SourceLines | None, block: tuple[Pos, str] | None) -> Plugin:
    meta = data.get("metadata")
    spec = data.get("spec")
    name = str(meta.get("name") or "") if isinstance(meta, YMap) else ""
    if isinstance(spec, YMap) and spec.get("version"):
        name = f"{name}-{spec['version']}"
    discover = spec.get("discover") if isinstance(spec, YMap) else None
    kind, pattern, where = "", "", data.pos
    if isinstance(discover, YMap):
        find = discover.get("find")
        find = find if isinstance(find, YMap) else YMap()
        command = find.get("command")
        if isinstance(discover.get("fileName"), str) and discover["fileName"]:
            kind, pattern, where = "fileName", discover["fileName"], discover.value_pos("fileName")
        elif isinstance(find.get("glob"), str) and find["glob"]:
            kind, pattern, where = "find.glob", find["glob"], find.value_pos("glob")
        elif isinstance(command, (YSeq, YMap)) and command:
            kind, where = "find.command", find.key_pos("command")
    if block is not None:
        # a plugin inside a ConfigMap value: its positions are lines of that block scalar
        where = s.block_line(lines, block[0], where[0] - 1, pattern or None)
    generate = spec.get("generate") if isinstance(spec, YMap) else None
    runs_avp = isinstance(generate, YMap) and any(
        AVP_BINARY in str(part) for key in ("command", "args") if isinstance(generate.get(key), YSeq)
        for part in generate[key])
    return Plugin(name, path, kind, pattern, where, runs_avp)


# --- matching the discover rule ---------------------------------------------------------------------

def _paths(model: RepoModel) -> list[str]:
    paths = model.memo.get("cmp_discover_paths")
    if paths is None:
        paths = model.memo["cmp_discover_paths"] = sorted(model.all_files | model.dirs)
    return paths


def matches(model: RepoModel, plugin: Plugin, directory: str) -> bool:
    """Whether the discover rule finds a file or directory from ``directory``, as the cmp-server does."""
    joined = posixpath.normpath(posixpath.join(directory or ".", plugin.pattern.lstrip("/")))
    if joined.startswith(".."):
        return False  # outside the repository the plugin receives
    zglob = plugin.kind == "find.glob"
    tokens = _tokens(joined, zglob)
    if tokens is None:
        return False  # Go: ErrBadPattern, the plugin reports no match
    if all(t[0] == "c" for t in tokens):
        return model.exists(joined) or joined == "."
    literal = "".join(t[1] for t in _prefix(tokens))
    prefix = literal[:literal.rfind("/") + 1]
    paths = _paths(model)
    for i in range(bisect.bisect_left(paths, prefix), len(paths)):
        path = paths[i]
        if not path.startswith(prefix):
            break
        if zglob and len(path) <= len(prefix.rstrip("/")):
            continue
        if _run(tokens, path):
            return True
    return False


def _prefix(tokens: list[tuple]) -> Iterator[tuple]:
    for token in tokens:
        if token[0] != "c":
            return
        yield token


def _tokens(pattern: str, zglob: bool) -> list[tuple] | None:
    """The pattern as tokens: ("c", char), ("?",), ("*",) within a segment, ("**",) any directories,
    ("[", negate, chars, ranges). None for a pattern Go's filepath.Match refuses."""
    out: list[tuple] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if zglob and pattern.startswith("**/", i):
                out.append(("**",))
                i += 3
                continue
            out.append(("*",))
        elif zglob:
            out.append(("c", ch))  # go-zglob: every other character is literal
        elif ch == "\\":
            if i + 1 >= n:
                return None
            i += 1
            out.append(("c", pattern[i]))
        elif ch == "?":
            out.append(("?",))
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                return None
            body = pattern[i + 1:end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            chars, ranges, j = set(), [], 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    ranges.append((body[j], body[j + 2]))
                    j += 3
                else:
                    chars.add(body[j])
                    j += 1
            out.append(("[", negate, frozenset(chars), tuple(ranges)))
            i = end
        else:
            out.append(("c", ch))
        i += 1
    return out


def _run(tokens: list[tuple], text: str) -> bool:
    """Simulate the tokens on ``text`` (a set of states: linear in the text for each token)."""
    end = len(tokens)

    def close(states: set[int]) -> set[int]:
        out, stack = set(), list(states)
        while stack:
            st = stack.pop()
            if st in out:
                continue
            out.add(st)
            if 0 <= st < end and tokens[st][0] in ("*", "**"):
                stack.append(st + 1)  # zero characters (for "**/": no directory)
        return out

    current = close({0})
    for ch in text:
        moved: set[int] = set()
        for st in current:
            if st < 0 or st >= end:
                continue
            token = tokens[st]
            kind = token[0]
            if kind == "c":
                if token[1] == ch:
                    moved.add(st + 1)
            elif kind == "?":
                if ch != "/":
                    moved.add(st + 1)
            elif kind == "*":
                if ch != "/":
                    moved.add(st)
            elif kind == "**":
                moved.add(-st - 1)  # inside the directories (a negative state): leaves on a "/"
                if ch == "/":
                    moved.add(st + 1)
            elif kind == "[":
                if ch != "/" and (ch in token[2] or any(lo <= ch <= hi for lo, hi in token[3])) != token[1]:
                    moved.add(st + 1)
        for st in [st for st in current if st < 0]:
            moved.add(st)
            if ch == "/":
                moved.add(-st)  # -(-st-1) - 1 + 1: the token after "**/"
        if not moved:
            return False
        current = close(moved)
    return end in current
