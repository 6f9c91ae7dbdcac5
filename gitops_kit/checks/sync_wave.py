"""sync-wave: waves are quoted integers, roots sit at their layer's wave, children inside their
layer's band, and configured orderings (``apps.<app>.after``) hold. The bands and orderings are
conventions (at most warnings in a repository that has not opted into them); a wave that is not
a quoted integer breaks the sync."""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..findings import Hit, show
from ..model import SYNC_WAVE, Application, RepoModel
from ..yamlio import QStr
from ._apps import layer_index

_INTEGER = re.compile(r"[+-]?[0-9]+")  # what ArgoCD's strconv.Atoi accepts


def parse_wave(value: Any) -> tuple[int | None, str | None]:
    """(wave number, problem): a wave must be an integer written as a string."""
    if isinstance(value, bool) or value is None:
        return None, f"{show(value)}, not a quoted integer"
    if isinstance(value, int):
        # Kubernetes annotations are strings: the API server rejects the whole object.
        return value, f"{value}, an unquoted number: annotations must be strings, write \"{value}\""
    if isinstance(value, str):
        if _INTEGER.fullmatch(value):
            return int(value), None
        return None, f"{show(value) if isinstance(value, QStr) else value}, not an integer"
    return None, f"{show(value)}, not a quoted integer"



def _has_wave(app: Application) -> bool:
    return SYNC_WAVE in app.obj.annotations()



def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    waves: dict[int, int | None] = {}  # id(app) -> wave number (0 when absent), None when unusable
    for app in model.applications:
        ident = app.obj.identity()
        if _has_wave(app):
            number, problem = parse_wave(app.wave)
            if problem:
                yield Hit(app.path, app.wave_pos(), f"Application {app.label} has sync-wave {problem}",
                          app=app.name or None, key=f"{ident}:wave-type")
        else:
            number = 0
        waves[id(app)] = number
        spec = model.config.layer(app.layer)
        if spec is None or number is None:
            continue
        shown = f"sync-wave {show(app.wave)}" if _has_wave(app) else "no sync-wave (so wave 0)"
        if app.is_root:
            if number != int(spec.wave):
                yield Hit(app.path, app.wave_pos(), f"root {app.label} has {shown}, but the root of layer "
                          f"{spec.name!r} syncs at wave \"{spec.wave}\"", app=app.name or None,
                          key=f"{ident}:root-wave", severity=model.config.convention_severity)
        elif not spec.wave_min <= number <= spec.wave_max:
            yield Hit(app.path, app.wave_pos(), f"Application {app.label} has {shown}, outside the band "
                      f"{spec.wave_min}..{spec.wave_max} of layer {spec.name!r}", app=app.name or None,
                      key=f"{ident}:band", severity=model.config.convention_severity)
    yield from _ordering(model, waves)


def _ordering(model: RepoModel, waves: dict[int, int | None]) -> Iterator[Hit]:
    order = layer_index(model)
    children: dict[str, Application] = {}
    for app in model.child_apps():
        children.setdefault(app.name, app)
    for name in sorted(model.config.data.get("apps") or {}):
        after = model.config.app(name).get("after") or []
        if isinstance(after, str):
            after = [after]
        app = children.get(name)
        if app is None or not isinstance(after, list):
            continue  # the config may describe apps this repository does not have
        ident = app.obj.identity()
        for dep_name in after:
            if not isinstance(dep_name, str):
                continue
            dep = children.get(dep_name)
            key = f"{ident}:after:{dep_name}"
            if dep is None and dep_name in model.apps_by_name:
                continue  # a root, not an app: the layer waves order roots
            if dep is None:
                yield Hit(app.path, app.wave_pos(), f"Application {name!r} must come after {dep_name!r} (config "
                          f"apps.{name}.after), but no Application {dep_name!r} exists", app=name, key=key,
                          severity=model.config.convention_severity)
                continue
            if app.layer not in order or dep.layer not in order:
                continue  # outside the layers: layout reports it
            mine, theirs = order[app.layer], order[dep.layer]
            if theirs > mine:
                yield Hit(app.path, app.wave_pos(), f"Application {name!r} (layer {app.layer!r}) must come after "
                          f"{dep_name!r}, which is in the later layer {dep.layer!r}", app=name, key=key,
                          related=((dep.path, dep.wave_pos()),), severity=model.config.convention_severity)
            elif theirs == mine:
                a, d = waves.get(id(app)), waves.get(id(dep))
                if a is not None and d is not None and a <= d:
                    yield Hit(app.path, app.wave_pos(), f"Application {name!r} has sync-wave {a}, not after "
                              f"{dep_name!r} (wave {d}) in layer {app.layer!r}: give it a higher wave",
                              app=name, key=key, related=((dep.path, dep.wave_pos()),),
                              severity=model.config.convention_severity)
