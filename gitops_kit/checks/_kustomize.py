"""What the kustomizations and plain directories of this repository deliver, offline.

Shared by apply-size, kustomize-subjects, kustomize-build, kustomize-files, cmp-discover and
avp-placeholder: which source of an
Application is a kustomization or a plain directory of this repository (ArgoCD's own detection),
and which local objects, remote resources and ``helmCharts`` a kustomization pulls in through
``resources``/``bases``/``components``, followed into sub-kustomizations. Directory sources use
:func:`gitops_kit.checks._apps.source_includes`, the layout rule's model of ArgoCD's directory walk.

Indexes are built once per model (``model.memo``); nothing here reads a file.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterator

from ..model import KUSTOMIZATION_FILES, AppSource, Application, K8sObject, RepoModel, is_kustomization
from ..yamlio import YMap, YSeq
from ._apps import norm_path, source_includes

Pos = tuple[int, int]
RESOURCE_FIELDS = ("resources", "bases", "components")
# kustomize fetches these over the network (a URL, or a git repository spec such as
# github.com/org/repo//path?ref=v1); anything else is a local file or directory.
_REMOTE = re.compile(r"\A(?:[a-zA-Z][a-zA-Z0-9+.\-]*://|git@|(?:github|gitlab|bitbucket)\.(?:com|org)/)")


def is_remote(ref: str) -> bool:
    """Whether a kustomization entry is fetched over the network."""
    return bool(_REMOTE.match(ref.strip()))


@dataclass(frozen=True)
class Entry:
    """One ``resources``/``bases``/``components`` entry of a kustomization file."""

    kustomization: str  # repo-relative path of the kustomization file
    field: str
    ref: str
    pos: Pos


@dataclass
class Tree:
    """What one kustomization pulls in, sub-kustomizations included."""

    path: str  # the kustomization file
    objects: list[K8sObject] = field(default_factory=list)
    remotes: list[Entry] = field(default_factory=list)
    helm_charts: list[tuple[str, Pos]] = field(default_factory=list)  # (kustomization, position)
    kustomizations: list[tuple[str, YMap]] = field(default_factory=list)  # every one visited, this first
    dirs: list[str] = field(default_factory=list)  # their directories, in visiting order


def by_dir(model: RepoModel) -> dict[str, tuple[str, YMap]]:
    """Directory -> (path, document) of the kustomization file in it (kustomize's file names)."""
    index = model.memo.get("kustomize_by_dir")
    if index is None:
        index = {}
        for path, data in model.kustomizations():
            directory, name = posixpath.split(path)
            if name in KUSTOMIZATION_FILES and directory not in index:
                index[directory] = (path, data)
        model.memo["kustomize_by_dir"] = index
    return index


def documents(model: RepoModel) -> list[tuple[str, YMap]]:
    """(path, document) of every Kustomization and kustomize Component, in path order."""
    found = model.memo.get("kustomize_documents")
    if found is None:
        found = []
        for path, sf in model.files.items():
            for doc in sf.documents:
                data = doc.data
                if is_kustomization(path, data) or (
                        isinstance(data, YMap) and data.get("kind") == "Component"
                        and str(data.get("apiVersion") or "").startswith("kustomize.config.k8s.io/")):
                    found.append((path, data))
        model.memo["kustomize_documents"] = found
    return found


def objects_by_path(model: RepoModel) -> dict[str, list[K8sObject]]:
    """File -> its Kubernetes objects (kustomization documents excluded)."""
    index = model.memo.get("objects_by_path")
    if index is None:
        index = {}
        for obj in model.objects:
            if not is_kustomization(obj.path, obj.data):
                index.setdefault(obj.path, []).append(obj)
        model.memo["objects_by_path"] = index
    return index


def entries(path: str, data: YMap) -> Iterator[Entry]:
    """The string entries of the resource fields of one kustomization."""
    for name in RESOURCE_FIELDS:
        seq = data.get(name)
        if not isinstance(seq, YSeq):
            continue
        for i, ref in enumerate(seq):
            if isinstance(ref, str) and ref.strip():
                yield Entry(path, name, ref.strip(), seq.item_pos(i))


def resolve(entry: Entry) -> str:
    """A local entry as a repo-relative path (may start with '..' when it leaves the repository)."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(entry.kustomization), entry.ref))


def tree(model: RepoModel, directory: str) -> Tree | None:
    """The kustomization in ``directory`` and all it pulls in, or None when there is none."""
    memo = model.memo.setdefault("kustomize_trees", {})
    if directory in memo:
        return memo[directory]
    index = by_dir(model)
    found = index.get(directory)
    if found is None:
        memo[directory] = None
        return None
    objects = objects_by_path(model)
    result = Tree(found[0])
    seen: set[str] = set()
    stack = [directory]
    while stack:
        current = stack.pop()
        if current in seen or current not in index:
            continue
        seen.add(current)
        kpath, data = index[current]
        result.kustomizations.append((kpath, data))
        result.dirs.append(current)
        charts = data.get("helmCharts")
        if isinstance(charts, YSeq) and charts:
            result.helm_charts.append((kpath, data.key_pos("helmCharts")))
        subdirs = []
        for entry in entries(kpath, data):
            if is_remote(entry.ref):
                result.remotes.append(entry)
                continue
            target = resolve(entry)
            if target in model.files:
                result.objects.extend(objects.get(target, ()))
            elif target in index:
                subdirs.append(target)
        stack.extend(reversed(subdirs))
    memo[directory] = result
    return result


# --- Application sources ---------------------------------------------------------------------------

def ours(model: RepoModel, src: AppSource) -> bool:
    """Whether a source reads this repository (unknown URLs count as ours, as elsewhere)."""
    url = src.repo_url
    return model.repo_url is None or url is None or model.is_this_repo(url)


def source_dir(model: RepoModel, src: AppSource) -> str | None:
    """The repo-relative directory of a git source of this repository, else None (charts, other repos)."""
    if src.chart is not None or src.path is None or not ours(model, src):
        return None
    directory = norm_path(src.path)
    return None if directory.startswith("..") else directory


def source_kind(model: RepoModel, src: AppSource) -> str | None:
    """How ArgoCD renders a source of this repository: "kustomize", "helm", "directory", "plugin", or None.

    An explicit ``directory``/``kustomize``/``helm``/``plugin`` block decides; else ArgoCD
    detects a kustomization, then a Chart.yaml, at the top of the path (repo-server discovery).
    """
    directory = source_dir(model, src)
    if directory is None:
        return None
    explicit = [key for key in ("kustomize", "helm", "directory", "plugin") if isinstance(src.get(key), YMap)]
    if len(explicit) == 1:
        return explicit[0]  # ArgoCD's ExplicitType (two blocks are an error it reports itself)
    if directory in by_dir(model):
        return "kustomize"
    chart = f"{directory}/Chart.yaml" if directory else "Chart.yaml"
    if chart in model.all_files:
        return "helm"
    return "directory"


def delivered(model: RepoModel, app: Application, src: AppSource) -> list[K8sObject] | None:
    """The objects of this repository a source syncs (None: it renders something not in the repository).

    A plugin source whose directory holds a kustomization is read as that kustomization (the
    repository's plugins run ``kustomize build``); a Helm chart needs rendering (None).
    """
    kind = source_kind(model, src)
    directory = source_dir(model, src)
    if kind is None or directory is None:
        return None
    if kind in ("kustomize", "plugin"):
        found = tree(model, directory)
        return list(found.objects) if found is not None else None
    if kind == "directory":
        return [obj for obj in objects_below(model).get(directory, ()) if source_includes(src, obj.path)]
    return None


def objects_below(model: RepoModel) -> dict[str, list[K8sObject]]:
    """Every folder ("" for the root) -> the objects in it or below it, built once per model: a
    scan of all objects per directory source made lint quadratic in the number of apps."""
    index = model.memo.get("objects_below")
    if index is None:
        index = {}
        for obj in model.objects:
            parts = obj.path.split("/")[:-1]
            index.setdefault("", []).append(obj)
            for depth in range(1, len(parts) + 1):
                index.setdefault("/".join(parts[:depth]), []).append(obj)
        model.memo["objects_below"] = index
    return index


def kustomize_dirs(model: RepoModel) -> list[tuple[str, Application, AppSource]]:
    """(directory, app, source) of every kustomization an Application of this repository renders."""
    out = []
    for app in model.applications:
        for src in app.sources:
            if source_kind(model, src) in ("kustomize", "plugin"):
                directory = source_dir(model, src)
                if directory is not None and directory in by_dir(model):
                    out.append((directory, app, src))
    return out

