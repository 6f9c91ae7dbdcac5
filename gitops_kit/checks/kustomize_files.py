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
``charts/``, a linked directory), whose content is not known. A missing file that a
``.gitignore`` of its directory (or above) lists is generated before the build (a
config-management plugin's ``helm template > all.yaml``): not reported.
"""

from __future__ import annotations

import posixpath
from typing import Any, Iterator

from .. import discover
from ..findings import Hit
from ..model import KUSTOMIZATION_FILES, RepoModel
from ..model.kustomize import Ref, documents, refs
from ..model.kustomize import target as _target
from ..model.paths import gitignored

Pos = tuple[int, int]


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    docs = documents(model)
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
            if problem is None or (problem == MISSING and gitignored(model, target)):
                continue
            missing.append(target)
            shown = target or "the repository root"
            yield Hit(path, ref.pos, f"{ref.field} {ref.ref!r} {problem} ({shown}): kustomize build fails, so "
                      "ArgoCD shows ComparisonError and syncs nothing of this kustomization",
                      app=model.app_of_path(path), key=f"{path}:{ref.field}:{ref.ref}")


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
    return MISSING


MISSING = "does not exist in the repository"


def _entered(model: RepoModel) -> set[str]:
    """Directories whose content the walk saw (those with at least one file or directory in it)."""
    found = model.memo.get("kustomize_files_entered")
    if found is None:
        found = {posixpath.dirname(p) for p in model.all_files} | {posixpath.dirname(d) for d in model.dirs}
        model.memo["kustomize_files_entered"] = found
    return found
