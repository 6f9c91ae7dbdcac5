"""Kustomize, offline: the kustomizations of this repository, what each pulls in, and which files
are patches rather than whole objects.

``tree`` follows ``resources``/``bases``/``components`` into sub-kustomizations and collects the
local objects, remote entries and ``helmCharts``; ``refs`` lists every local path a kustomization
names (kustomize-files judges them); ``patch_files`` is the set of files kustomizations use as
patches (``patches`` with a path or in the legacy string form, ``patchesStrategicMerge``,
``patchesJson6902``), whose objects the model marks ``patch``; ``effective`` is the namespace,
name prefix/suffix and labels a kustomization gives the objects it emits.

Indexes are built once per model (``model.memo``); nothing here reads a file.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterator

from ..yamlio import YMap, YSeq
from . import KUSTOMIZATION_FILES, K8sObject, RepoModel, SourceFile, is_kustomization

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
        found = model.memo["kustomize_documents"] = documents_of(model.files)
    return found


def documents_of(files: dict[str, SourceFile]) -> list[tuple[str, YMap]]:
    """:func:`documents` of parsed files (the model uses it while it is assembled)."""
    found = []
    for path, sf in files.items():
        for doc in sf.documents:
            data = doc.data
            if is_kustomization(path, data) or (
                    isinstance(data, YMap) and data.get("kind") == "Component"
                    and str(data.get("apiVersion") or "").startswith("kustomize.config.k8s.io/")):
                found.append((path, data))
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


# --- the local paths a kustomization names ---------------------------------------------------------

# A kustomize remote target without a scheme: "example.com/org/repo//dir?ref=v1" (a host first).
_HOST_FIRST = re.compile(r"\A[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?/")
# Entries whose item is a path, or a directory holding a kustomization ("resource").
_RESOURCES = ("resources", "bases", "components")
_FILE_LISTS = ("crds", "configurations")
PATCH_FIELDS = ("patches", "patchesStrategicMerge", "patchesJson6902")
_PLUGIN_LISTS = ("generators", "transformers", "validators")
_GENERATORS = ("configMapGenerator", "secretGenerator")


@dataclass(frozen=True)
class Ref:
    """One local path a kustomization names."""

    field: str  # as shown in messages: "patches[2].path"
    ref: str
    pos: Pos
    resource: bool = False  # a directory must hold a kustomization file
    directory: bool = False  # must be a directory (chartHome, a local chart)
    patch: bool = False  # kustomize reads it as a patch (a partial object), not as a resource


def refs(data: YMap) -> Iterator[Ref]:
    """Every local path entry of one kustomization document (remote and inline ones left out)."""
    for name in _RESOURCES:
        yield from _strings(data, name, resource=True)
    yield from _strings(data, "patchesStrategicMerge", patch=True)
    for name in _FILE_LISTS:
        yield from _strings(data, name)
    for name in _PLUGIN_LISTS:
        yield from _strings(data, name, resource=True)
    yield from _paths_of(data, "patches", patch=True)
    yield from _strings(data, "patches", patch=True)  # the legacy string form
    yield from _paths_of(data, "patchesJson6902", patch=True)
    yield from _paths_of(data, "replacements")
    for name in _GENERATORS:
        seq = data.get(name)
        if not isinstance(seq, YSeq):
            continue
        for i, gen in enumerate(seq):
            if not isinstance(gen, YMap):
                continue
            where = f"{name}[{i}]"
            for key in ("files", "envs"):
                for ref in _strings(gen, key, label=f"{where}.{key}"):
                    # "key=path": the key names the data entry, the path after it is the file
                    yield Ref(ref.field, ref.ref.split("=", 1)[1].strip() if "=" in ref.ref else ref.ref, ref.pos)
            env = gen.get("env")
            if isinstance(env, str) and env.strip():
                yield Ref(f"{where}.env", env.strip(), gen.value_pos("env"))
    openapi = data.get("openapi")
    if isinstance(openapi, YMap) and isinstance(openapi.get("path"), str) and openapi["path"].strip():
        yield Ref("openapi.path", openapi["path"].strip(), openapi.value_pos("path"))
    yield from _helm(data)


def _strings(data: YMap, name: str, resource: bool = False, label: str | None = None,
             patch: bool = False) -> Iterator[Ref]:
    seq = data.get(name)
    if not isinstance(seq, YSeq):
        return
    for i, item in enumerate(seq):
        if isinstance(item, str) and item.strip() and not _inline(item) and not _remote(item):
            yield Ref(f"{label or name} entry", item.strip(), seq.item_pos(i), resource=resource, patch=patch)


def patch_refs(data: YMap) -> Iterator[Ref]:
    """The patch files of one kustomization: ``patches`` (``path:``, or a plain string, the legacy
    form kustomize still accepts), ``patchesStrategicMerge``, ``patchesJson6902`` (``path:``)."""
    yield from _paths_of(data, "patches", patch=True)
    yield from _strings(data, "patches", patch=True)
    yield from _strings(data, "patchesStrategicMerge", patch=True)
    yield from _paths_of(data, "patchesJson6902", patch=True)


def _paths_of(data: YMap, name: str, patch: bool = False) -> Iterator[Ref]:
    seq = data.get(name)
    if not isinstance(seq, YSeq):
        return
    for i, item in enumerate(seq):
        if isinstance(item, YMap) and isinstance(item.get("path"), str) and item["path"].strip():
            value = item["path"].strip()
            if not _remote(value):
                yield Ref(f"{name}[{i}].path", value, item.value_pos("path"), patch=patch)


def _helm(data: YMap) -> Iterator[Ref]:
    home = "charts"  # kustomize's default chartHome
    globals_ = data.get("helmGlobals")
    if isinstance(globals_, YMap) and isinstance(globals_.get("chartHome"), str) and globals_["chartHome"].strip():
        home = globals_["chartHome"].strip()
        yield Ref("helmGlobals.chartHome", home, globals_.value_pos("chartHome"), directory=True)
    charts = data.get("helmCharts")
    if not isinstance(charts, YSeq):
        return
    for i, chart in enumerate(charts):
        if not isinstance(chart, YMap):
            continue
        where = f"helmCharts[{i}]"
        values = chart.get("valuesFile")
        if isinstance(values, str) and values.strip() and not _remote(values):
            yield Ref(f"{where}.valuesFile", values.strip(), chart.value_pos("valuesFile"))
        yield from _strings(chart, "additionalValuesFiles", label=f"{where}.additionalValuesFiles")
        repo, name = chart.get("repo"), chart.get("name")
        if (repo is None or (isinstance(repo, str) and not repo.strip())) and isinstance(name, str) and name.strip():
            # no repo: kustomize loads <chartHome>/<name> and has nothing to pull it from
            yield Ref(f"{where} (a chart without repo)", posixpath.join(home, name.strip()),
                      chart.value_pos("name"), directory=True)


def _inline(text: str) -> bool:
    """An inline patch or plugin configuration rather than a path."""
    return "\n" in text.strip() or ": " in text or text.lstrip().startswith(("{", "["))


def _remote(ref: str) -> bool:
    return is_remote(ref) or "?ref=" in ref or "?version=" in ref or bool(_HOST_FIRST.match(ref.strip()))


def target(base: str, ref: str) -> str | None:
    """The repo-relative path of an entry; None when it is absolute or leaves the repository
    (the GitOps root may be a folder of a larger checkout: not ours to judge)."""
    if ref.startswith("/"):
        return None
    target = posixpath.normpath(posixpath.join(base or ".", ref))
    if target == ".." or target.startswith("../"):
        return None
    return "" if target == "." else target


# --- patches and what a kustomization does to the objects it emits ---------------------------------

def patch_files(model: RepoModel) -> frozenset[str]:
    """Every repository file a kustomization (or kustomize Component) uses as a patch."""
    found = model.memo.get("kustomize_patch_files")
    if found is None:
        found = model.memo["kustomize_patch_files"] = patch_targets(documents(model))
    return found


def patch_targets(docs: list[tuple[str, YMap]]) -> frozenset[str]:
    """The repo-relative files these kustomizations name as patches."""
    out = set()
    for path, data in docs:
        base = posixpath.dirname(path)
        for ref in patch_refs(data):
            rel = target(base, ref.ref)
            if rel:
                out.add(rel)
    return frozenset(out)


@dataclass(frozen=True)
class Effective:
    """What the kustomizations that emit an object do to it (outermost last)."""

    namespace: str | None = None
    name_prefix: str = ""
    name_suffix: str = ""
    labels: dict = field(default_factory=dict)  # commonLabels and labels[].pairs
    selector_labels: dict = field(default_factory=dict)  # those kustomize also adds to selectors
    kustomizations: tuple[str, ...] = ()  # the chain, innermost first


_NOTHING = Effective()


def _includers(model: RepoModel) -> dict[str, list[str]]:
    """Resource file or kustomization directory -> kustomization files that list it, in path order."""
    index = model.memo.get("kustomize_includers")
    if index is None:
        index = {}
        for path, data in documents(model):
            for entry in entries(path, data):
                if not is_remote(entry.ref):
                    index.setdefault(resolve(entry), []).append(path)
        model.memo["kustomize_includers"] = index
    return index


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def effective(model: RepoModel, path: str) -> Effective:
    """The namespace, name prefix/suffix and labels the kustomizations listing ``path`` (a file, or
    the directory of a sub-kustomization) give its objects, following the first includer at each
    level up to a kustomization nothing includes. Outer kustomizations win for the namespace and
    labels, and wrap the inner prefix and suffix, as kustomize applies them."""
    memo = model.memo.setdefault("kustomize_effective", {})
    found = memo.get(path)
    if found is not None:
        return found
    includers = _includers(model)
    if path not in includers:  # most files: no kustomization lists them
        found = memo[path] = _NOTHING
        return found
    docs = model.memo.get("kustomize_documents_by_path")
    if docs is None:
        docs = model.memo["kustomize_documents_by_path"] = dict(documents(model))
    namespace, prefix, suffix = None, "", ""
    labels: dict = {}
    selector: dict = {}
    chain: list[str] = []
    current = path
    while True:
        parents = [p for p in includers.get(current, ()) if p not in chain]
        if not parents:
            break
        kpath = parents[0]
        chain.append(kpath)
        data = docs.get(kpath)
        if isinstance(data, YMap):
            namespace = _str(data.get("namespace")) or namespace
            prefix = (_str(data.get("namePrefix")) or "") + prefix
            suffix = suffix + (_str(data.get("nameSuffix")) or "")
            common = data.get("commonLabels")
            if isinstance(common, YMap):
                pairs = {str(k): str(v) for k, v in common.items() if v is not None}
                labels.update(pairs)
                selector.update(pairs)
            for item in data.get("labels") if isinstance(data.get("labels"), YSeq) else ():
                if isinstance(item, YMap) and isinstance(item.get("pairs"), YMap):
                    pairs = {str(k): str(v) for k, v in item["pairs"].items() if v is not None}
                    labels.update(pairs)
                    if item.get("includeSelectors") is True:
                        selector.update(pairs)
        current = posixpath.dirname(kpath)
    found = memo[path] = Effective(namespace, prefix, suffix, labels, selector, tuple(chain))
    return found
