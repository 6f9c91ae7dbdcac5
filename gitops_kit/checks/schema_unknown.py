"""schema-unknown: objects of a kind no schema covers are counted and reported, never passed as valid."""

from __future__ import annotations

from typing import Any, Iterator

from .. import schemas_k8s
from ..findings import Hit
from ..model import RepoModel


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    sset = schemas_k8s.for_model(model)
    gone = _removed_apis(model)
    for target in schemas_k8s.targets(model, params.get("skip_files") or []):
        if not model.in_focus(target.path):
            continue
        if target.file_schema is not None or target.obj is None:
            continue
        api, kind = target.api_version or "", target.kind or ""
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
        yield Hit(target.path, pos, f"{api} {target.label} is not validated: {why}",
                  key=f"{target.identity}:unknown")


def _removed_apis(model: RepoModel) -> dict[tuple[str, str], str]:
    from .deprecated_api import table

    target = schemas_k8s.parse_minor(str(model.config.data.get("kubernetes_version") or ""))
    out = {}
    for entry in table():
        removed = schemas_k8s.parse_minor(entry.get("removed_in") or "")
        if target and removed and removed <= target:
            out[(entry["apiVersion"], entry["kind"])] = entry["removed_in"]
    return out
