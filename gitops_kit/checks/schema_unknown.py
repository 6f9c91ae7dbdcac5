"""schema-unknown: kinds no schema covers are counted and reported, never passed as valid.

One finding per kind (apiVersion and kind) per run, at its first object, with the number of
objects and files it covers: a repository of forty HTTPRoutes has one coverage gap, not forty.
Configuration files of cluster tools that are not cluster objects (k3d's ``Simple``, kind's
``Cluster``, kubeadm and kubelet configurations: the ``tool_configs`` API groups) are not
Kubernetes objects at all and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from .. import schemas_k8s
from ..findings import Hit
from ..model import RepoModel

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 21

# Facts other checks read too: the engine builds them before it shares the checks between
# two processes, so that neither builds them again.
SHARED_FACTS = (schemas_k8s.for_model,)


@dataclass
class _Gap:
    """The objects of one uncovered kind: the first (where the finding goes) and the rest."""

    path: str
    pos: tuple[int, int]
    label: str
    why: str
    count: int = 1
    files: set[str] = field(default_factory=set)


def _tool_config(api: str, prefixes: tuple[str, ...]) -> bool:
    return any(api == p.rstrip("/") or api.startswith(p if p.endswith("/") else p + "/") for p in prefixes)


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    sset = schemas_k8s.for_model(model)
    gone = _removed_apis(model)
    tools = tuple(str(p) for p in params.get("tool_configs") or ())
    gaps: dict[tuple[str, str], _Gap] = {}
    for target in schemas_k8s.targets(model, params.get("skip_files") or []):
        if target.file_schema is not None or target.obj is None:
            continue
        api, kind = target.api_version or "", target.kind or ""
        if tools and _tool_config(api, tools):
            continue  # a cluster tool's own configuration file (k3d, kind, kubeadm), never applied
        gap = gaps.get((api, kind))
        if gap is not None:
            gap.count += 1
            gap.files.add(target.path)
            continue
        source = sset.source(api, kind)
        if source is not None and source.schema is not None and source.error is None:
            sset.validator(api, kind)  # compiling may reveal a broken CRD schema
        if source is not None and source.error is None:
            continue
        data = target.data
        pos = data.value_pos("kind") if hasattr(data, "value_pos") else target.pos
        if source is not None:
            why = f"{source.label} defines it, but {source.error}"
        elif (api, kind) in gone or (api, "*") in gone:
            why = f"{api} was removed from Kubernetes in {gone.get((api, kind)) or gone.get((api, '*'))}"
        else:
            where = f"Kubernetes {sset.version}" if sset.version else "Kubernetes (kubernetes-validate missing)"
            why = f"no schema for it in {where}, gitops-kit's CRD schemas or a CustomResourceDefinition in the repository"
        gaps[(api, kind)] = _Gap(target.path, pos, target.label, why, files={target.path})
    for (api, kind), gap in gaps.items():
        if gap.count == 1:
            what = f"{api} {gap.label} is not validated"
        else:
            more = len(gap.files) - 1
            where = f"here and in {more} other file{'s' if more != 1 else ''}" if more else "in this file"
            what = (f"{api} {gap.label} and {gap.count - 1} other {kind} object{'s' if gap.count > 2 else ''} "
                    f"({where}) are not validated")
        yield Hit(gap.path, gap.pos, f"{what}: {gap.why}", key=f"{api}/{kind}:unknown")


def _removed_apis(model: RepoModel) -> dict[tuple[str, str], str]:
    from .deprecated_api import table

    target = schemas_k8s.parse_minor(str(model.config.data.get("kubernetes_version") or ""))
    out = {}
    for entry in table():
        removed = schemas_k8s.parse_minor(entry.get("removed_in") or "")
        if target and removed and removed <= target:
            out[(entry["apiVersion"], entry["kind"])] = entry["removed_in"]
    return out
