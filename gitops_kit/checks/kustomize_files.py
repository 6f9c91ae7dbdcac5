"""kustomize-files: a kustomization names a file or directory that is not in the repository.

``kustomize build`` stops at the first missing input, so ArgoCD shows ComparisonError and syncs
nothing of the kustomization. Every local path a Kustomization or Component names is looked up
in the walked tree (``model.exists``), relative to the kustomization's directory:
``resources``/``bases``/``components`` (a directory must hold a kustomization file),
``patches[].path``, ``patchesStrategicMerge``, ``patchesJson6902[].path``, the ``files``
(``key=path`` too), ``envs`` and ``env`` of ``configMapGenerator``/``secretGenerator``, ``crds``,
``configurations``, ``replacements[].path``, ``generators``/``transformers``/``validators``,
``openapi.path``, ``helmGlobals.chartHome``, and for ``helmCharts``: ``valuesFile``,
``additionalValuesFiles`` and, for an entry without ``repo``, the chart ``<chartHome>/<name>``.

Not judged: remote entries (URLs, git repository specs), inline patches and transformer
configurations, paths that leave the repository or are absolute, paths the configuration
excludes, and paths inside a directory the walk does not enter (a chart's ``templates/`` and
``charts/``, a linked directory), whose content is not known.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, Iterator

from .. import discover
from ..findings import Hit
from ..model import KUSTOMIZATION_FILES, RepoModel
from ..yamlio import YMap, YSeq
from . import _kustomize as k

Pos = tuple[int, int]
# A kustomize remote target without a scheme: "example.com/org/repo//dir?ref=v1" (a host first).
_HOST_FIRST = re.compile(r"\A[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?/")
# Entries whose item is a path, or a directory holding a kustomization ("resource").
_RESOURCES = ("resources", "bases", "components")
_FILE_LISTS = ("patchesStrategicMerge", "crds", "configurations")
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


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    docs = k.documents(model)
    if not docs:
        return
    entered = _entered(model)
    exclude = model.config.exclude
    for path, data in docs:
        base = posixpath.dirname(path)
        missing: list[str] = []
        for ref in refs(data):
            target = _target(base, ref.ref)
            if target is None or (exclude and discover.matches(target, exclude)):
                continue
            if any(target.startswith(m + "/") for m in missing):
                continue  # under a missing chartHome: that entry is the one to fix
            problem = _problem(model, entered, target, ref)
            if problem is None:
                continue
            missing.append(target)
            shown = target or "the repository root"
            yield Hit(path, ref.pos, f"{ref.field} {ref.ref!r} {problem} ({shown}): kustomize build fails, so "
                      "ArgoCD shows ComparisonError and syncs nothing of this kustomization",
                      app=model.app_of_path(path), key=f"{path}:{ref.field}:{ref.ref}")


def refs(data: YMap) -> Iterator[Ref]:
    """Every local path entry of one kustomization document (remote and inline ones left out)."""
    for name in _RESOURCES:
        yield from _strings(data, name, resource=True)
    for name in _FILE_LISTS:
        yield from _strings(data, name)
    for name in _PLUGIN_LISTS:
        yield from _strings(data, name, resource=True)
    for name in ("patches", "patchesJson6902", "replacements"):
        yield from _paths_of(data, name)
    for name in _GENERATORS:
        seq = data.get(name)
        if not isinstance(seq, YSeq):
            continue
        for i, gen in enumerate(seq):
            if not isinstance(gen, YMap):
                continue
            where = f"{name}[{i}]"
            for field in ("files", "envs"):
                for ref in _strings(gen, field, label=f"{where}.{field}"):
                    # "key=path": the key names the data entry, the path after it is the file
                    yield Ref(ref.field, ref.ref.split("=", 1)[1].strip() if "=" in ref.ref else ref.ref, ref.pos)
            env = gen.get("env")
            if isinstance(env, str) and env.strip():
                yield Ref(f"{where}.env", env.strip(), gen.value_pos("env"))
    openapi = data.get("openapi")
    if isinstance(openapi, YMap) and isinstance(openapi.get("path"), str) and openapi["path"].strip():
        yield Ref("openapi.path", openapi["path"].strip(), openapi.value_pos("path"))
    yield from _helm(data)


def _strings(data: YMap, name: str, resource: bool = False, label: str | None = None) -> Iterator[Ref]:
    seq = data.get(name)
    if not isinstance(seq, YSeq):
        return
    for i, item in enumerate(seq):
        if isinstance(item, str) and item.strip() and not _inline(item) and not _remote(item):
            yield Ref(f"{label or name} entry", item.strip(), seq.item_pos(i), resource=resource)


def _paths_of(data: YMap, name: str) -> Iterator[Ref]:
    seq = data.get(name)
    if not isinstance(seq, YSeq):
        return
    for i, item in enumerate(seq):
        if isinstance(item, YMap) and isinstance(item.get("path"), str) and item["path"].strip():
            value = item["path"].strip()
            if not _remote(value):
                yield Ref(f"{name}[{i}].path", value, item.value_pos("path"))


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
    return k.is_remote(ref) or "?ref=" in ref or "?version=" in ref or bool(_HOST_FIRST.match(ref.strip()))


def _target(base: str, ref: str) -> str | None:
    """The repo-relative path of an entry; None when it is absolute or leaves the repository
    (the GitOps root may be a folder of a larger checkout: not ours to judge)."""
    if ref.startswith("/"):
        return None
    target = posixpath.normpath(posixpath.join(base or ".", ref))
    if target == ".." or target.startswith("../"):
        return None
    return "" if target == "." else target


def _problem(model: RepoModel, entered: set[str], target: str, ref: Ref) -> str | None:
    """What is wrong with an existing or missing target, or None (also when it cannot be known)."""
    if target in model.all_files:
        return "is a file, not a directory" if ref.directory else None
    if target == "" or target in model.dirs:
        if not (ref.resource or ref.directory) or target not in entered:
            # a plain file field naming a directory is kustomize's own message; an unentered
            # directory's content is unknown
            return None
        if ref.directory:
            return None
        if any(f"{target}/{name}" in model.all_files for name in KUSTOMIZATION_FILES) if target else \
                any(name in model.all_files for name in KUSTOMIZATION_FILES):
            return None
        return "is a directory without a kustomization.yaml"
    parent = target
    while parent:
        parent = posixpath.dirname(parent)
        if parent == "" or parent in model.dirs:
            break
    if parent and parent not in entered:
        return None  # inside a directory the walk did not enter: not known
    return "does not exist in the repository"


def _entered(model: RepoModel) -> set[str]:
    """Directories whose content the walk saw (those with at least one file or directory in it)."""
    found = model.memo.get("kustomize_files_entered")
    if found is None:
        found = {posixpath.dirname(p) for p in model.all_files} | {posixpath.dirname(d) for d in model.dirs}
        model.memo["kustomize_files_entered"] = found
    return found
