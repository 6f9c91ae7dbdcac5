"""The model from parsed files: Kubernetes objects (kustomize patches marked), Applications and
their layers, app bundles. Split from :func:`gitops_kit.model.build` so that parsing can be
parallel or cached; nothing here reads a file."""

from __future__ import annotations

from pathlib import Path

from .. import discover
from ..config import Config
from ..yamlio import YMap, YSeq
from .kustomize import patch_targets
from .types import (KUSTOMIZATION_FILES, Application, AppSource, Bundle, K8sObject, Layer, RepoModel, SourceFile,
                    is_kustomization)


def assemble(root: Path, config: Config, files: dict[str, SourceFile], walked: discover.Walk) -> RepoModel:
    """Build the model from parsed files."""
    objects, kustomize_docs = _objects(files)
    patches = patch_targets(kustomize_docs)
    by_kind: dict[str, list[K8sObject]] = {}
    for obj in objects:
        if obj.path in patches:
            obj.patch = True
        by_kind.setdefault(obj.kind, []).append(obj)
    applications = _applications(config, by_kind.get("Application", []))
    layers = _layers(config, applications)
    apps_by_name: dict[str, list[Application]] = {}
    for app in applications:
        apps_by_name.setdefault(app.name, []).append(app)
    model = RepoModel(root=root, config=config, files=files, objects=objects, applications=applications,
                      layers=layers, bundles=_bundles(config, files, objects, walked),
                      dirs=walked.dirs, all_files=walked.files, skipped=walked.skipped,
                      repo_url=_repo_url(config, layers), by_kind=by_kind, apps_by_name=apps_by_name)
    model.memo["kustomize_documents"] = kustomize_docs
    model.memo["kustomize_patch_files"] = patches
    return model


def _objects(files: dict[str, SourceFile]) -> tuple[list[K8sObject], list[tuple[str, YMap]]]:
    """Every document with a string apiVersion and kind, in file order, and the kustomizations
    and kustomize Components (:func:`.kustomize.documents_of`, found in the same pass)."""
    objects: list[K8sObject] = []
    kustomize_docs: list[tuple[str, YMap]] = []
    for sf in files.values():
        named = sf.path.rsplit("/", 1)[-1] in KUSTOMIZATION_FILES
        for doc in sf.documents:
            data = doc.data
            if not isinstance(data, YMap):
                continue
            api, kind = data.get("apiVersion"), data.get("kind")
            if kind in ("Kustomization", "Component") or (named and kind is None):
                if is_kustomization(sf.path, data) or (
                        kind == "Component" and str(api or "").startswith("kustomize.config.k8s.io/")):
                    kustomize_docs.append((sf.path, data))
            if not isinstance(api, str) or not isinstance(kind, str):
                continue
            meta = data.get("metadata")
            name = ns = None
            if isinstance(meta, YMap):
                name = meta.get("name") if isinstance(meta.get("name"), str) else None
                ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
            objects.append(K8sObject(sf, doc.index, data, api, kind, name, ns))
    return objects, kustomize_docs


def _applications(config: Config, candidates: list[K8sObject]) -> list[Application]:
    """The ArgoCD Applications, each with its sources and the layer whose directory holds it."""
    roots = {spec.root: spec.name for spec in config.layers}
    layer_dirs = [(spec.dir + "/", spec.name) for spec in config.layers]
    applications: list[Application] = []
    for obj in candidates:
        if not obj.api_version.startswith("argoproj.io/") or obj.patch:
            continue  # a patch of an Application is part of one, not an Application
        sources = _sources(obj)
        if obj.path in roots:
            applications.append(Application(obj, roots[obj.path], True, sources))
            continue
        layer = next((name for prefix, name in layer_dirs if obj.path.startswith(prefix)), None)
        applications.append(Application(obj, layer, False, sources))
    return applications


def _sources(obj: K8sObject) -> list[AppSource]:
    spec = obj.spec
    if spec is None:
        return []
    many = spec.get("sources")
    if isinstance(many, YSeq):
        return [AppSource(s, i) for i, s in enumerate(many) if isinstance(s, YMap)]
    if isinstance(spec.get("source"), YMap):
        return [AppSource(spec["source"], -1)]
    return []


def _layers(config: Config, applications: list[Application]) -> dict[str, Layer]:
    layers = {spec.name: Layer(spec.name, None) for spec in config.layers}
    for app in applications:
        if app.layer is None:
            continue
        if app.is_root:
            if layers[app.layer].root is None:
                layers[app.layer].root = app
        else:
            layers[app.layer].apps.append(app)
    return layers


def _repo_url(config: Config, layers: dict[str, Layer]) -> str | None:
    """The configured repository URL, else the first layer root's."""
    if config.repo_url or not config.layers:
        return config.repo_url
    first_root = layers[config.layers[0].name].root
    if first_root is not None and first_root.sources:
        return first_root.sources[0].repo_url
    return config.repo_url


def _bundles(config: Config, files: dict[str, SourceFile], objects: list[K8sObject],
             walked: discover.Walk) -> dict[str, Bundle]:
    """apps/helm/<app>/ and apps/manifests/<app>/, by app name."""
    bundles: dict[str, Bundle] = {}

    def bundle_named(name: str) -> Bundle:
        bundle = bundles.get(name)
        if bundle is None:
            bundle = bundles[name] = Bundle(name)
        return bundle

    helm_prefix, man_prefix = config.helm_dir + "/", config.manifests_dir + "/"
    for d in walked.dirs:
        for prefix, attr in ((helm_prefix, "helm_dir"), (man_prefix, "manifests_dir")):
            if d.startswith(prefix) and "/" not in d[len(prefix):]:
                setattr(bundle_named(d[len(prefix):]), attr, d)
    for sf in files.values():
        for prefix in (helm_prefix, man_prefix):
            if sf.path.startswith(prefix):
                rest = sf.path[len(prefix):]
                if "/" not in rest:
                    continue
                name, inner = rest.split("/", 1)
                bundle = bundle_named(name)
                if prefix == helm_prefix:
                    bundle.helm_files[inner] = sf
    for obj in objects:
        if obj.path.startswith(man_prefix) and "/" in obj.path[len(man_prefix):]:
            bundle_named(obj.path[len(man_prefix):].split("/", 1)[0]).manifests.append(obj)
    return bundles
