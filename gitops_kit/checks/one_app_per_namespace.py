"""one-app-per-namespace: in layers whose apps own their namespace, no two Applications share one."""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit
from ..model import Application, RepoModel


def _owns(model: RepoModel, app: Application) -> bool:
    """The layer's owns_namespaces, unless the app's config says otherwise (apps.<name>.owns_namespace)."""
    override = model.config.app(app.name).get("owns_namespace") if app.name else None
    if isinstance(override, bool):
        return override
    spec = model.config.layer(app.layer)
    return bool(spec and spec.owns_namespaces)


def shares_key(app: Application, namespace: str) -> str:
    """The fingerprint key of the finding that ``app`` shares ``namespace`` with another app."""
    return f"{app.obj.identity()}:shares:{namespace}"


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    by_namespace: dict[str, list[Application]] = {}
    for app in model.child_apps():
        namespace = app.dest_namespace
        if namespace and app.layer is not None and _owns(model, app):
            by_namespace.setdefault(namespace, []).append(app)
    for namespace in sorted(by_namespace):
        apps = sorted(by_namespace[namespace], key=lambda a: (a.path, a.obj.doc))
        first = apps[0]
        for app in apps[1:]:
            label = repr(app.name) if app.name else f"in {app.path}"
            yield Hit(app.path, app.destination.value_pos("namespace"),
                      f"Application {label} deploys into namespace {namespace!r}, already used by Application "
                      f"{first.name!r} ({first.path}): one app per namespace",
                      app=app.name or None, key=shares_key(app, namespace),
                      # the first app's file: a commit that moves it into this namespace caused this
                      related=((first.path, first.destination.value_pos("namespace")),))
