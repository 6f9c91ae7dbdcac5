"""The model from parsed files: Kubernetes objects (kustomize patches marked), Applications and
their layers, app bundles. Split from :func:`gitops_kit.model.build` so that parsing can be
parallel or cached; nothing here reads a file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import discover
from ..config import Config
from ..yamlio import YMap, YSeq
from .kustomize import patch_targets
from .types import (KUSTOMIZATION_FILES, Application, AppSource, Bundle, K8sObject, Layer, RepoModel, SourceFile,
                    _norm, is_kustomization, strip_credentials, url_key)


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


@dataclass(frozen=True)
class ImpliedRepo:
    """This repository's URL as its Applications read it: for when neither repo.url nor a layer
    root names it (``model.repo_url`` is None), and for ``adopt``, which proposes repo.url."""

    url: str | None  # spelled as most sources spell it (no credentials); None: nothing points here
    revision: str | None  # the revision most sources of that URL read (not HEAD)
    from_remote: bool  # the git remote, which a source reads
    # url_key -> the sources whose path exists here (and ApplicationSet git URLs) that read it
    votes: Counter = field(default_factory=Counter)

    @property
    def key(self) -> str | None:
        return url_key(self.url) if self.url is not None else None


def implied_repo(model: RepoModel, remote: str | None = None) -> ImpliedRepo:
    """The git remote (``remote``; default ``config.git_remote``, "" for none) when a source reads it, else
    the URL (compared by :func:`url_key`) that most sources whose path exists here read, counting
    the git URLs of ApplicationSets; and the revision most of them read. Memoised per remote."""
    remote = remote if remote is not None else model.config.git_remote
    memo = model.memo.setdefault("implied_repo", {})
    found = memo.get(remote)
    if found is None:
        found = memo[remote] = _implied_repo(model, remote)
    return found


def _implied_repo(model: RepoModel, remote: str | None) -> ImpliedRepo:
    votes: Counter[str] = Counter()
    spellings: Counter[tuple[str, str]] = Counter()
    revisions: dict[str, Counter[str]] = {}
    read: set[str] = set()

    def vote(url: str, revision: Any) -> None:
        key = url_key(url)
        votes[key] += 1
        spellings[(key, strip_credentials(url))] += 1
        if isinstance(revision, str) and revision.strip() not in ("", "HEAD") and "{{" not in revision:
            revisions.setdefault(key, Counter())[revision.strip()] += 1

    for app in model.applications:
        for s in app.sources:
            url = s.repo_url
            if s.chart is not None or s.path is None or not url or "{{" in url:
                continue
            read.add(url_key(url))
            if _norm(s.path) != "" and model.exists(s.path):  # every repository has a root
                vote(url, s.target_revision)
    for url, revision in appset_git_urls(model):
        read.add(url_key(url))
        vote(url, revision)
    remote_key = url_key(remote) if remote else None
    if remote_key is not None and remote_key in read:
        top, spelled = remote_key, strip_credentials(remote or "")
    elif votes:
        top = votes.most_common(1)[0][0]
        spelled = None
    else:
        return ImpliedRepo(None, None, False, votes)
    for (key, text), _ in sorted(spellings.items(), key=lambda kv: (-kv[1], kv[0])):
        if key == top:
            spelled = text  # the spelling most sources use
            break
    rev = revisions[top].most_common(1)[0][0] if top in revisions else None
    return ImpliedRepo(spelled, rev, top == remote_key, votes)


def appset_git_urls(model: RepoModel) -> list[tuple[str, str | None]]:
    """(repoURL, revision) of every git generator and template source of the ApplicationSets
    whose URL is written out (not a template parameter)."""
    out: list[tuple[str, str | None]] = []
    for obj in model.kind("ApplicationSet"):
        spec = obj.spec
        if not obj.api_version.startswith("argoproj.io/") or spec is None:
            continue
        stack: list[Any] = [spec.get("generators")]
        while stack:  # matrix and merge generators nest generators
            node = stack.pop()
            if isinstance(node, YSeq):
                stack.extend(node)
            elif isinstance(node, YMap):
                git = node.get("git")
                if isinstance(git, YMap) and isinstance(git.get("repoURL"), str):
                    rev = git.get("revision")
                    out.append((git["repoURL"], rev if isinstance(rev, str) else None))
                for inner in node.values():
                    if isinstance(inner, YMap):
                        stack.append(inner.get("generators"))
        template = spec.get("template")
        tspec = template.get("spec") if isinstance(template, YMap) else None
        if isinstance(tspec, YMap):
            sources = tspec.get("sources") if isinstance(tspec.get("sources"), YSeq) else [tspec.get("source")]
            for src in sources:
                if isinstance(src, YMap) and isinstance(src.get("repoURL"), str) and "chart" not in src:
                    rev = src.get("targetRevision")
                    out.append((src["repoURL"], rev if isinstance(rev, str) else None))
    return [(url, rev) for url, rev in out if "{{" not in url and "${" not in url]


def with_repo_url(model: RepoModel, url: str | None) -> RepoModel:
    """The same repository with ``url`` as this repository's URL (``adopt``: the URL it
    proposes), so that every fact ("which sources read this repository", value files through
    ``$ref``) answers for it; the facts memoised for the old URL are not carried over."""
    return replace(model, repo_url=url, memo={}, _focus_dirs=None)


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
