"""Ownership: which Application owns each bundle and object, where objects land, and which
Application deploys each Application (its parent: a layer root or any other app-of-apps).

A check calls :func:`bundle_owners` / :func:`owner_of` (the child Application an app bundle or
object belongs to), :func:`effective_namespace` (the namespace an object lands in) and
:func:`parents` (the Applications whose sources deliver an Application's file).
Built once per model (``model.memo``); nothing here reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from . import Application, K8sObject, RepoModel
from . import kustomize as kz
from .values import value_files

Pos = tuple[int, int]


@dataclass
class Owners:
    """Which child Application a bundle (apps/helm/<x>, apps/manifests/<x>) belongs to, both ways."""

    app_of_bundle: dict[str, Application]
    bundle_of_app: dict[int, str]  # id(Application) -> bundle name

    def app(self, bundle: str | None) -> Application | None:
        return self.app_of_bundle.get(bundle) if bundle else None

    def bundle(self, app: Application) -> str | None:
        return self.bundle_of_app.get(id(app))


def bundle_of_path(model: RepoModel, path: str) -> str | None:
    """The bundle a repo-relative file lies in, or None outside apps/helm/* and apps/manifests/*.
    Answered once per path and model (rules ask for every object, and a file holds several)."""
    known = model.memo.get("bundle_of_path")
    if known is None:
        known = model.memo["bundle_of_path"] = {}
    try:
        return known[path]
    except KeyError:
        pass
    name = None
    for base in (model.config.helm_dir, model.config.manifests_dir):
        prefix = base + "/"
        if path.startswith(prefix) and "/" in path[len(prefix):]:
            name = path[len(prefix):].split("/", 1)[0]
            break
    known[path] = name
    return name


def bundle_dirs(model: RepoModel, bundle: str | None, existing: bool = True) -> tuple[str, ...]:
    """The directories of ``bundle`` (apps/helm/<b>, apps/manifests/<b>): those in the tree, or
    with ``existing=False`` both (a focused run asks whether a staged deletion lies in one)."""
    if not bundle:
        return ()
    dirs = (f"{model.config.helm_dir}/{bundle}", f"{model.config.manifests_dir}/{bundle}")
    return tuple(d for d in dirs if model.exists(d)) if existing else dirs


def _referenced_bundles(model: RepoModel, app: Application) -> Iterator[str]:
    for src in app.sources:
        path = src.path
        if path and (src.repo_url is None or model.is_this_repo(src.repo_url) or model.repo_url is None):
            name = bundle_of_path(model, path.removeprefix("./").strip("/") + "/")
            if name:
                yield name
        for vf in value_files(model, app, src):
            name = bundle_of_path(model, vf.rel) if vf.rel and vf.raw.startswith("$") else None
            if name:
                yield name


def bundle_owners(model: RepoModel) -> Owners:
    """Bundle <-> child Application: by equal name first, else by a source path or value file into it.
    Computed once per model: node-tier, network-policy and resource-quota all ask."""
    owners = model.memo.get("bundle_owners")
    if owners is None:
        owners = model.memo["bundle_owners"] = _bundle_owners(model)
    return owners


def _bundle_owners(model: RepoModel) -> Owners:
    by_bundle: dict[str, Application] = {}
    for name in model.bundles:
        for app in model.apps_by_name.get(name, ()):
            if not app.is_root:
                by_bundle[name] = app
                break
    for app in model.child_apps():
        for name in _referenced_bundles(model, app):
            if name in model.bundles and name not in by_bundle:
                by_bundle[name] = app
    back: dict[int, str] = {}
    for name, app in by_bundle.items():
        back.setdefault(id(app), name)
    return Owners(by_bundle, back)


@dataclass(frozen=True)
class OwnedNamespace:
    """A namespace an app owns, and the Application whose destination names it."""

    namespace: str
    app: Application

    @property
    def pos(self) -> Pos:
        dest = self.app.destination
        return dest.value_pos("namespace") if "namespace" in dest else self.app.obj.pos

    @property
    def key(self) -> str:
        return f"{self.app.obj.identity()}:spec.destination.namespace"


def owns_namespace(model: RepoModel, app: Application) -> bool:
    """An app's own override (``owns_namespace``) first, else its layer's ``owns_namespaces``."""
    override = model.config.app(app.name).get("owns_namespace")
    if override is not None:
        return bool(override)
    spec = model.config.layer(app.layer)
    return bool(spec and spec.owns_namespaces)


def owned_namespaces(model: RepoModel) -> list[OwnedNamespace]:
    """Destination namespaces of child Applications that own their namespace."""
    out = []
    for app in model.child_apps():
        ns = app.dest_namespace
        if ns and owns_namespace(model, app):
            out.append(OwnedNamespace(ns, app))
    return out


def effective_namespace(model: RepoModel, obj: K8sObject, owners: Owners | None = None) -> str | None:
    """Where the object lands: the ``namespace`` of the kustomization that emits it, else its
    metadata.namespace, else the destination namespace of its bundle's Application (ArgoCD's)."""
    if not obj.patch:
        kustomized = kz.effective(model, obj.path).namespace
        if kustomized:
            return kustomized
    if obj.namespace:
        return obj.namespace
    owners = owners or bundle_owners(model)
    app = owners.app(bundle_of_path(model, obj.path))
    return app.dest_namespace if app is not None else None


def by_namespace(model: RepoModel, objects: Iterable[K8sObject], owners: Owners | None = None
                 ) -> dict[str, list[K8sObject]]:
    """Objects grouped by the namespace they land in."""
    out: dict[str, list[K8sObject]] = {}
    for obj in objects:
        ns = effective_namespace(model, obj, owners)
        if ns:
            out.setdefault(ns, []).append(obj)
    return out


# --- which Application deploys an Application ------------------------------------------------------------

def parents(model: RepoModel, app: Application) -> list[Application]:
    """The Applications whose sources deliver ``app``'s file (a layer root, or any app-of-apps),
    in model order; empty when nothing in the repository deploys it."""
    from .delivery import deliveries

    memo = model.memo.setdefault("app_parents", {})
    found = memo.get(id(app))
    if found is None:
        found = []
        for d in deliveries(model, app.path):
            if d.app is not app and d.kind in ("directory", "kustomize", "plugin") and \
                    not any(p is d.app for p in found):
                found.append(d.app)
        memo[id(app)] = found
    return found


def owner_of(model: RepoModel, obj: K8sObject) -> Application | None:
    """The child Application an object belongs to: its bundle's Application."""
    return bundle_owners(model).app(bundle_of_path(model, obj.path))
