"""automated-sync: every Application reconciles itself (selfHeal) and removes what git removed (prune).

Applications, and the Applications an ApplicationSet generates: its ``spec.template.spec.syncPolicy``
is judged the same way (``automated: {}`` lacks selfHeal and prune). A template that a
``templatePatch`` may change (a Go template text) is judged only when the patch does not mention
``syncPolicy``.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, show
from ..model import RepoModel
from ..yamlio import YMap

Pos = tuple[int, int]


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    required = params["require"]
    for app in model.applications:
        spec = app.obj.spec
        if spec is None:
            continue  # no spec at all: the schema rule's business, not this one's
        yield from _judge(app.path, f"Application {app.name!r}", app.name, app.obj.identity(), spec,
                          app.obj.pos, required)
    for obj in model.kind("ApplicationSet"):
        if not obj.api_version.startswith("argoproj.io/") or obj.patch:
            continue
        spec = obj.data.get("spec")
        template = spec.get("template") if isinstance(spec, YMap) else None
        tspec = template.get("spec") if isinstance(template, YMap) else None
        if not isinstance(tspec, YMap):
            continue  # no template spec: the schema rule's business
        patch = spec.get("templatePatch")
        if isinstance(patch, str) and "syncPolicy" in patch:
            continue  # the generated Applications' syncPolicy comes from a Go template
        name = obj.name or "(unnamed)"
        yield from _judge(obj.path, f"ApplicationSet {name!r} template", obj.name, obj.identity(), tspec,
                          template.key_pos("spec"), required, "spec.template.spec.")


def _judge(path: str, label: str, app: str | None, ident: str, spec: YMap, where_none: Pos,
           required: list[str], prefix: str = "") -> Iterator[Hit]:
    policy = spec.get("syncPolicy")
    if not isinstance(policy, YMap):
        yield Hit(path, spec.key_pos("syncPolicy") if "syncPolicy" in spec else where_none,
                  f"{label} has no {prefix}syncPolicy.automated: the cluster is never reconciled to git",
                  app=app, key=f"{ident}:syncPolicy")
        return
    automated = policy.get("automated")
    if not isinstance(automated, YMap):
        where = policy.key_pos("automated") if "automated" in policy else policy.pos
        yield Hit(path, where, f"{label} has no {prefix}syncPolicy.automated: the cluster is never reconciled "
                  "to git", app=app, key=f"{ident}:automated")
        return
    for key in required:
        value = automated.get(key)
        if value is True:
            continue
        if key in automated:
            msg = f"{label} has {prefix}syncPolicy.automated.{key}: {show(value)}, must be true"
            pos = automated.value_pos(key)
        else:
            msg = f"{label} lacks {prefix}syncPolicy.automated.{key}: true"
            pos = policy.key_pos("automated")
        yield Hit(path, pos, msg, app=app, key=f"{ident}:{key}")
