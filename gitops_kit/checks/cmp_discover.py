"""cmp-discover: a config-management plugin whose ``discover`` rule takes Applications it must not.

ArgoCD's repo-server asks every sidecar plugin with a ``discover`` rule before its own kustomize
and Helm detection, for every source without an explicit ``kustomize``/``helm``/``directory``/
``plugin`` block (util/app/discovery). A match renders the source through the plugin. For
argocd-vault-plugin that means Vault: an Application that syncs before Vault (or that Vault
needs, transitively through ``apps.<name>.after``) then cannot render at all. An Application that
names the plugin is rendered by it only when the rule matches too ("couldn't find cmp-server
plugin with name ... supporting the given repository"); that is reported as well.

The discover rules are read and evaluated by :mod:`gitops_kit.checks._cmp` (as the cmp-server
does), shared with avp-placeholder. ``find.command`` cannot run offline and is not judged. Helm
chart sources are not in the repository and are not judged.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..findings import Hit
from ..model import AppSource, Application, RepoModel
from ..yamlio import YMap
from . import _kustomize as k
from ._apps import layer_index
from ._cmp import Plugin, explicit_types
from ._cmp import matches as _matches
from ._cmp import plugins as _plugins
from ._cmp import _run, _tokens  # noqa: F401  (the matcher's tests in test_deploy_rules reach it here)

Pos = tuple[int, int]
_WAVE = re.compile(r"\A\s*[+-]?\d+\s*\Z")


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    plugins = _plugins(model)
    if not plugins:
        return
    deps = _dependencies(model, params)
    order = _positions(model)
    for app in model.applications:
        for src in app.sources:
            directory = k.source_dir(model, src)
            if directory is None:
                continue
            explicit = explicit_types(src)
            for plugin in plugins:
                if plugin.kind in ("", "find.command"):
                    continue
                if not explicit:
                    if deps and _matches(model, plugin, directory):
                        yield from _too_wide(model, plugin, app, directory, deps, order)
                elif explicit == ["plugin"] and _names(src, plugin, len(plugins)):
                    if not _matches(model, plugin, directory):
                        yield _too_narrow(plugin, app, src, directory)


def _names(src: AppSource, plugin: Plugin, count: int) -> bool:
    """Whether a source's ``plugin`` block asks for this plugin (an empty name: discovery among all)."""
    block = src.get("plugin")
    name = block.get("name") if isinstance(block, YMap) else None
    if isinstance(name, str) and name:
        return name == plugin.name
    return count == 1


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
