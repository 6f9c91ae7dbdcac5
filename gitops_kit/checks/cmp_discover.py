"""cmp-discover: a config-management plugin whose ``discover`` rule takes Applications it must not.

ArgoCD's repo-server asks every sidecar plugin with a ``discover`` rule before its own kustomize
and Helm detection, for every source without an explicit ``kustomize``/``helm``/``directory``/
``plugin`` block (util/app/discovery). A match renders the source through the plugin. For
argocd-vault-plugin that means Vault: an Application that syncs before Vault (or that Vault
needs, transitively through ``apps.<name>.after``) then cannot render at all. An Application that
names the plugin is rendered by it only when the rule matches too ("couldn't find cmp-server
plugin with name ... supporting the given repository"); that is reported as well.

The rule is evaluated as the plugin's cmp-server does (cmpserver/plugin/plugin.go): ``fileName``
with Go's filepath.Glob, ``find.glob`` with mattn/go-zglob (``**/`` any number of directories,
``*`` within one, every other character literal), both joined to the source directory; only
the first of fileName, find.glob, find.command counts. ``find.command`` cannot run offline and
is not judged. Helm chart sources are not in the repository and are not judged.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Iterator

from .. import yamlio
from ..findings import Hit
from ..model import AppSource, Application, RepoModel
from ..yamlio import YMap, YSeq
from . import _kustomize as k
from . import _secrets as s
from ._apps import layer_index

Pos = tuple[int, int]
_WAVE = re.compile(r"\A\s*[+-]?\d+\s*\Z")


@dataclass(frozen=True)
class Plugin:
    """A ConfigManagementPlugin found in the repository and its discover rule."""

    name: str  # as Applications name it: <name>-<version> when a version is set
    path: str
    kind: str  # "fileName", "find.glob", "find.command" or "" (no rule)
    pattern: str
    pos: Pos


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    plugins = list(_plugins(model))
    if not plugins:
        return
    deps = _dependencies(model, params)
    order = _positions(model)
    for app in model.applications:
        for src in app.sources:
            directory = k.source_dir(model, src)
            if directory is None:
                continue
            explicit = [key for key in ("kustomize", "helm", "directory", "plugin") if isinstance(src.get(key), YMap)]
            for plugin in plugins:
                if plugin.kind in ("", "find.command"):
                    continue
                if not (model.in_focus(plugin.path) or model.in_focus(app.path)):
                    continue
                if not explicit:
                    if deps and _matches(model, plugin, directory):
                        yield from _too_wide(model, plugin, app, directory, deps, order)
                elif explicit == ["plugin"] and _names(src, plugin, len(plugins)):
                    if not _matches(model, plugin, directory):
                        yield _too_narrow(plugin, app, src, directory)


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
    return Plugin(name, path, kind, pattern, where)


def _names(src: AppSource, plugin: Plugin, count: int) -> bool:
    """Whether a source's ``plugin`` block asks for this plugin (an empty name: discovery among all)."""
    block = src.get("plugin")
    name = block.get("name") if isinstance(block, YMap) else None
    if isinstance(name, str) and name:
        return name == plugin.name
    return count == 1


# --- matching the discover rule ---------------------------------------------------------------------

def _paths(model: RepoModel) -> list[str]:
    paths = model.memo.get("cmp_discover_paths")
    if paths is None:
        paths = model.memo["cmp_discover_paths"] = sorted(model.all_files | model.dirs)
    return paths


def _matches(model: RepoModel, plugin: Plugin, directory: str) -> bool:
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


# --- ordering ---------------------------------------------------------------------------------------

def _dependencies(model: RepoModel, params: dict[str, Any]) -> list[Application]:
    """The Applications the plugin needs synced first: ``depends_on`` names, else apps of those charts."""
    names = [str(n) for n in params.get("depends_on") or ()]
    if names:
        return [app for name in names for app in model.apps_by_name.get(name, ()) if not app.is_root]
    charts = {str(c) for c in params.get("depends_on_charts") or ()}
    return [app for app in model.child_apps() if any(src.chart in charts for src in app.sources)]


def _positions(model: RepoModel) -> dict[int, tuple[int, int]]:
    """id(Application) -> (layer order, sync wave): the order in which they sync."""
    layers = layer_index(model)
    out = {}
    for app in model.applications:
        if app.layer not in layers:
            continue
        wave = app.wave
        number = int(wave) if isinstance(wave, str) and _WAVE.match(wave) else 0
        out[id(app)] = (layers[app.layer], -10**9 if app.is_root else number)
    return out


def _needed(model: RepoModel, deps: list[Application]) -> set[str]:
    """The dependencies and, through ``apps.<name>.after``, everything they sync after."""
    seen: set[str] = set()
    stack = [d.name for d in deps]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        after = model.config.app(name).get("after") or []
        stack.extend(str(a) for a in after if isinstance(a, str))
    return seen


def _too_wide(model: RepoModel, plugin: Plugin, app: Application, directory: str, deps: list[Application],
              order: dict[int, tuple[int, int]]) -> Iterator[Hit]:
    mine = order.get(id(app))
    needed = _needed(model, deps)
    blocker = None
    if app.name in needed and not app.is_root:
        blocker = next((d for d in deps if d.name == app.name), deps[0])
        why = f"which {', '.join(repr(d.name) for d in deps)} need{'s' if len(deps) == 1 else ''} synced first"
    else:
        for dep in deps:
            theirs = order.get(id(dep))
            if mine is not None and theirs is not None and mine <= theirs:
                blocker = dep
                why = f"which syncs {'with' if mine == theirs else 'before'} {dep.name!r} (layer {dep.layer}, " \
                      f"wave {dep.wave or '0'})"
                break
    if blocker is None:
        return
    shown = f"{directory}/" if directory else "the repository root"
    yield Hit(plugin.path, plugin.pos,
              f"discover {plugin.kind} {plugin.pattern!r} of plugin {plugin.name!r} matches {shown} of Application "
              f"{app.name!r}, {why}: ArgoCD renders it through the plugin (discovery comes before its own kustomize "
              f"and Helm detection), and that fails until {blocker.name!r} is up; narrow the rule, or drop it and "
              "name the plugin in the Applications that use it",
              key=f"{plugin.path}:{plugin.name}:{app.obj.identity()}", related=((app.path, app.obj.pos),))


def _too_narrow(plugin: Plugin, app: Application, src: AppSource, directory: str) -> Hit:
    block = src.get("plugin")
    pos = block.value_pos("name") if isinstance(block, YMap) and "name" in block else src.pos("plugin")
    shown = f"{directory}/" if directory else "the repository root"
    return Hit(app.path, pos,
               f"Application {app.name!r} names plugin {plugin.name!r}, whose discover {plugin.kind} "
               f"{plugin.pattern!r} does not match {shown}: with a discover rule set, ArgoCD uses a named plugin only "
               "where the rule matches, and manifest generation fails (\"couldn't find cmp-server plugin ... "
               "supporting the given repository\"); widen the rule or remove it", app=app.name or None,
               key=f"{app.obj.identity()}:{src.index}:plugin", related=((plugin.path, plugin.pos),))
