"""What each Application source delivers: its kind and the repository files ArgoCD reads for it.

The one place that answers "which source of which Application renders this file": a check calls
:func:`source_delivery` (kind, directory, whether argocd-vault-plugin runs), :func:`delivered_files`
(the files one source reads) and :func:`deliveries` (the sources that read one file). ArgoCD's
rules are followed: a plain directory source reads its top level only unless ``directory.recurse``,
filtered by ``include``/``exclude``; a kustomization reads what it names (``../base`` included);
a chart directory its chart; a source without an explicit type goes to the first config-management
plugin whose ``discover`` rule takes it (:mod:`.cmp`), then kustomize, Helm, plain directory
detection. ``directory.jsonnet`` is not evaluated: such a source says so in ``unsupported``.

Built once per model (``model.memo``); nothing here reads a file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Iterator

from ..yamlio import YMap
from . import Application, AppSource, K8sObject, RepoModel, cmp
from . import kustomize as kz
from .cmp import explicit_types
from .paths import norm_path, source_includes
from .values import reads_this_repo, value_files

Pos = tuple[int, int]


# --- Application sources ---------------------------------------------------------------------------

def ours(model: RepoModel, src: AppSource) -> bool:
    """Whether a source reads this repository (unknown URLs count as ours, as elsewhere)."""
    return reads_this_repo(model, src)


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
    explicit = explicit_types(src)
    if len(explicit) == 1:
        return explicit[0]  # ArgoCD's ExplicitType (two blocks are an error it reports itself)
    if directory in kz.by_dir(model):
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
        found = kz.tree(model, directory)
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
                if directory is not None and directory in kz.by_dir(model):
                    out.append((directory, app, src))
    return out


# --- what one source delivers ------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)  # compared by identity: one per source
class Delivery:
    """One Application source and how ArgoCD renders it."""

    app: Application
    source: AppSource
    kind: str  # "chart" (from a chart repository), "helm" (a chart directory), "kustomize",
    # "directory", "plugin", "remote" (another repository), "ref" (only a $ref for value files)
    directory: str | None  # the repo-relative directory it reads, for sources of this repository
    label: str  # how messages name it: "Application 'web' spec.source, a kustomize source"
    avp: bool  # argocd-vault-plugin renders it
    unsupported: str | None = None  # what gitops-kit cannot follow offline (jsonnet)


def _label(app: Application, src: AppSource) -> str:
    return f"Application {app.name!r} " + ("spec.source" if src.index < 0 else f"sources[{src.index}]")


def renderer(model: RepoModel, src: AppSource, directory: str) -> tuple[str, str, bool]:
    """(kind, how messages say it, whether argocd-vault-plugin runs) for a source directory of ours.

    A source without an explicit block (or with a plugin block that names no plugin) goes to
    the first plugin whose discover rule takes it (:mod:`.cmp`), before ArgoCD's own
    kustomize/Helm/directory detection. A ``find.command`` rule cannot run offline: when it
    belongs to argocd-vault-plugin its directories count as rendered (the command the AVP
    docs show finds exactly the files that hold placeholders), else it is passed over.
    """
    explicit = explicit_types(src)
    if not explicit or (explicit == ["plugin"] and not src.plugin):
        for plugin, certain in cmp.discovering(model, directory):
            if cmp.is_avp(model, plugin.name):
                return "plugin", f"the {plugin.name} plugin, by its discover {plugin.kind}", True
            if certain:
                return ("plugin", f"plugin {plugin.name!r} (its discover {plugin.kind} {plugin.pattern!r} "
                        "takes it first)", False)
    if explicit == ["plugin"] and src.plugin:
        if cmp.is_avp(model, src.plugin):
            return "plugin", f"the {src.plugin} plugin", True
        return "plugin", f"plugin {src.plugin!r}", False
    kind = source_kind(model, src) or "directory"
    shown = {"kustomize": "a kustomize source", "helm": "a Helm chart source"}.get(kind, "a plain directory source")
    return kind, shown, False


def source_delivery(model: RepoModel, app: Application, src: AppSource) -> Delivery:
    """How ArgoCD renders ``src`` and from which directory (memoised per model)."""
    memo = model.memo.setdefault("source_delivery", {})
    key = (id(app.obj.data), src.index)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _source_delivery(model, app, src)
    return found


def _source_delivery(model: RepoModel, app: Application, src: AppSource) -> Delivery:
    label = _label(app, src)
    if src.chart is not None:
        return Delivery(app, src, "chart", None, f"{label}, chart {src.chart!r}", cmp.is_avp(model, src.plugin))
    if not reads_this_repo(model, src):
        return Delivery(app, src, "remote", None, f"{label}, another repository", False)
    directory = source_dir(model, src)
    if directory is None:
        return Delivery(app, src, "ref", None, label, False)
    kind, shown, avp = renderer(model, src, directory)
    unsupported = None
    opts = src.get("directory")
    if kind == "directory" and isinstance(opts, YMap) and isinstance(opts.get("jsonnet"), YMap) and opts["jsonnet"]:
        unsupported = "directory.jsonnet: gitops-kit does not evaluate jsonnet"
    return Delivery(app, src, kind, directory, f"{label}, {shown}", avp, unsupported)


def _below(model: RepoModel, directory: str) -> list[str]:
    """Every file of the repository in or below ``directory``, in path order."""
    index = model.memo.get("files_below")
    if index is None:
        index = {}
        for rel in sorted(model.all_files):
            parts = rel.split("/")[:-1]
            index.setdefault("", []).append(rel)
            for depth in range(1, len(parts) + 1):
                index.setdefault("/".join(parts[:depth]), []).append(rel)
        model.memo["files_below"] = index
    return index.get(directory, [])


def _kustomize_files(model: RepoModel, directory: str) -> list[str]:
    """The files a kustomization reads: every kustomization it visits, and every local file they
    name (resources, patches, generator inputs, Helm values, ...), and a local chart's directory."""
    found = kz.tree(model, directory)
    if found is None:
        return []
    out: list[str] = []
    for kpath, data in found.kustomizations:
        out.append(kpath)
        base = posixpath.dirname(kpath)
        for ref in kz.refs(data):
            rel = kz.target(base, ref.ref)
            if rel is None:
                continue
            if rel in model.all_files:
                out.append(rel)
            elif ref.directory and (rel in model.dirs):
                out.extend(_below(model, rel))
    return list(dict.fromkeys(out))


def delivered_files(model: RepoModel, app: Application, src: AppSource) -> frozenset[str]:
    """The repository files ArgoCD reads for ``src``: the manifests of a directory source (its
    ``recurse``/``include``/``exclude``), everything a kustomization names, a chart directory and
    its value files, a plugin's whole directory; for every Helm source also its value files."""
    memo = model.memo.setdefault("delivered_files", {})
    key = (id(app.obj.data), src.index)
    found = memo.get(key)
    if found is not None:
        return found
    d = source_delivery(model, app, src)
    files: list[str] = []
    if d.directory is not None:
        if d.kind == "directory":
            files = [rel for rel in _below(model, d.directory) if source_includes(src, rel)]
        elif d.kind == "kustomize" or (d.kind == "plugin" and d.directory in kz.by_dir(model)):
            files = _kustomize_files(model, d.directory)
            if d.kind == "plugin":
                files += _below(model, d.directory)
        else:  # a chart directory, a plugin: they may read anything below the directory
            files = list(_below(model, d.directory))
    files += [vf.rel for vf in value_files(model, app, src) if vf.exists and vf.rel is not None]
    found = memo[key] = frozenset(files)
    return found


class _Index:
    """file -> the deliveries that read it, for every source of every Application."""

    def __init__(self, model: RepoModel) -> None:
        self.files: dict[str, list[Delivery]] = {}
        self.dirs: dict[str, list[Delivery]] = {}  # sources that may read anything below a directory
        for app in model.applications:
            for src in app.sources:
                d = source_delivery(model, app, src)
                if d.directory is not None and d.kind in ("helm", "plugin"):
                    self.dirs.setdefault(d.directory, []).append(d)
                    if d.kind == "plugin" and d.directory in kz.by_dir(model):
                        self._add(_kustomize_files(model, d.directory), d)
                elif d.directory is not None and d.kind == "kustomize":
                    self._add(_kustomize_files(model, d.directory), d)
                elif d.directory is not None and d.kind == "directory":
                    self._add((rel for rel in _below(model, d.directory) if source_includes(src, rel)), d)
                targets = [vf.rel for vf in value_files(model, app, src) if vf.rel is not None]
                if targets:
                    value_delivery = Delivery(app, src, d.kind, d.directory,
                                              f"{_label(app, src)} as a Helm value file of chart "
                                              f"{src.chart or src.path!r}", d.avp)
                    self._add(targets, value_delivery)

    def _add(self, paths: Iterator[str] | list[str], delivery: Delivery) -> None:
        for rel in paths:
            bucket = self.files.setdefault(rel, [])
            if not any(d is delivery for d in bucket):
                bucket.append(delivery)


def deliveries(model: RepoModel, path: str) -> list[Delivery]:
    """Every Application source that reads the repository file ``path``."""
    index = model.memo.get("delivery_index")
    if index is None:
        index = model.memo["delivery_index"] = _Index(model)
    out = list(index.files.get(path, ()))
    parent = path
    while parent:
        parent = parent.rsplit("/", 1)[0] if "/" in parent else ""
        out.extend(d for d in index.dirs.get(parent, ()) if not any(d is o for o in out))
    return out
