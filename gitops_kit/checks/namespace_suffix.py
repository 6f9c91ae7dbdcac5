"""namespace-suffix: a child Application's destination namespace is a valid name whose suffix
says its tier (``-system`` infrastructure, ``-core`` platform, none for apps)."""

from __future__ import annotations

from typing import Any, Iterator

from ..config import LayerSpec
from ..findings import CauseKey, Hit, cause_key
from ..model import Application, RepoModel
from ._apps import namespace_problem

RULE = "namespace-suffix"
# A layer without a suffix convention: what namespace_problem then finds is an invalid name.
_NO_SUFFIXES = LayerSpec("", "", "", "0", 0, 0, (), (), (), None, False)


def _key(app: Application) -> str:
    return f"{app.obj.identity()}:spec.destination.namespace"


def namespace_causes(app: Application) -> tuple[CauseKey, ...]:
    """The findings a wrong destination namespace of ``app`` gives at the Application: a finding
    that only follows from that namespace (a policy or quota missing there, bundle objects in
    another namespace) names them as its possible causes."""
    from .one_app_per_namespace import shares_key

    causes = [cause_key(RULE, app.path, _key(app))]
    if app.dest_namespace:
        causes.append(cause_key("one-app-per-namespace", app.path, shares_key(app, app.dest_namespace)))
    return tuple(causes)


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    for app in model.child_apps():  # roots deploy Applications into ArgoCD's namespace: exempt
        spec = model.config.layer(app.layer)
        dest = app.destination
        if spec is None or dest.get("namespace") is None:
            continue  # outside the layers (layout's finding), or no destination namespace at all
        problem = namespace_problem(dest["namespace"], spec)
        if problem is not None:
            label = repr(app.name) if app.name else f"in {app.path}"
            # an invalid name breaks the sync; a suffix is a convention (rules/namespace-suffix.yaml)
            invalid = namespace_problem(dest["namespace"], _NO_SUFFIXES) is not None
            yield Hit(app.path, dest.value_pos("namespace"), f"Application {label}: {problem}",
                      app=app.name or None, key=_key(app),
                      severity=None if invalid else model.config.convention_severity)
