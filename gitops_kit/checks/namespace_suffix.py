"""namespace-suffix: a child Application's destination namespace is a valid name whose suffix
says its tier (``-system`` infrastructure, ``-core`` platform, none for apps)."""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit
from ..model import RepoModel
from ._apps import namespace_problem


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    for app in model.child_apps():  # roots deploy Applications into ArgoCD's namespace: exempt
        spec = model.config.layer(app.layer)
        dest = app.destination
        if spec is None or dest.get("namespace") is None:
            continue  # outside the layers (layout's finding), or no destination namespace at all
        problem = namespace_problem(dest["namespace"], spec)
        if problem is not None:
            label = repr(app.name) if app.name else f"in {app.path}"
            yield Hit(app.path, dest.value_pos("namespace"), f"Application {label}: {problem}",
                      app=app.name or None, key=f"{app.obj.identity()}:spec.destination.namespace")
