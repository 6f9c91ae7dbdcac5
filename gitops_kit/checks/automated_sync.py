"""automated-sync: every Application reconciles itself (selfHeal) and removes what git removed (prune)."""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, show
from ..model import RepoModel
from ..yamlio import YMap


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    required = params["require"]
    for app in model.applications:
        if not model.in_focus(app.path):
            continue
        ident = app.obj.identity()
        spec = app.obj.spec
        if spec is None:
            continue  # no spec at all: the schema rule's business, not this one's
        policy = app.sync_policy
        if policy is None:
            yield Hit(app.path, spec.key_pos("syncPolicy") if "syncPolicy" in spec else app.obj.pos,
                      f"Application {app.name!r} has no syncPolicy.automated: the cluster is never reconciled "
                      "to git", app=app.name, key=f"{ident}:syncPolicy")
            continue
        automated = policy.get("automated")
        if not isinstance(automated, YMap):
            where = policy.key_pos("automated") if "automated" in policy else policy.pos
            yield Hit(app.path, where, f"Application {app.name!r} has no syncPolicy.automated: the cluster is "
                      "never reconciled to git", app=app.name, key=f"{ident}:automated")
            continue
        for key in required:
            value = automated.get(key)
            if value is True:
                continue
            if key in automated:
                msg = f"Application {app.name!r} has syncPolicy.automated.{key}: {show(value)}, must be true"
                pos = automated.value_pos(key)
            else:
                msg = f"Application {app.name!r} lacks syncPolicy.automated.{key}: true"
                pos = policy.key_pos("automated")
            yield Hit(app.path, pos, msg, app=app.name, key=f"{ident}:{key}")
