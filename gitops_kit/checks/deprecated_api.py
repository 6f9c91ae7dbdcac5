"""deprecated-api: an apiVersion removed in the target Kubernetes version (error) or deprecated
in it (warning), from the table in schemas/deprecated_apis.json."""

from __future__ import annotations

import fnmatch
import json
from functools import lru_cache
from typing import Any, Iterator

from .. import data, schemas_k8s
from ..findings import Hit, Severity
from ..model import RepoModel

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 10


@lru_cache(maxsize=1)
def table() -> tuple[dict, ...]:
    """The deprecation table: apiVersion, kind ("*" for every kind), deprecated_in, removed_in, replacement."""
    return tuple(json.loads(data.read_text("schemas", "deprecated_apis.json"))["apis"])


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    wanted = str(model.config.data.get("kubernetes_version") or "")
    target = schemas_k8s.parse_minor(wanted)
    if target is None:
        return
    index: dict[tuple[str, str], dict] = {(e["apiVersion"], e["kind"]): e for e in table()}
    apis = {api for api, _ in index}
    skips = [s for s in params.get("skip_files") or [] if isinstance(s, str)]
    for obj in model.objects:
        if obj.api_version not in apis:
            continue
        entry = index.get((obj.api_version, obj.kind)) or index.get((obj.api_version, "*"))
        if entry is None:
            continue
        base = obj.path.rsplit("/", 1)[-1]
        if any(fnmatch.fnmatchcase(base, p) or fnmatch.fnmatchcase(obj.path, p) for p in skips):
            continue
        removed = schemas_k8s.parse_minor(entry.get("removed_in") or "")
        deprecated = schemas_k8s.parse_minor(entry.get("deprecated_in") or "")
        what = f"{obj.kind} {obj.name!r}" if obj.name else obj.kind
        use = f"use {entry['replacement']}"
        pos = obj.data.value_pos("apiVersion")
        if removed is not None and removed <= target:
            yield Hit(obj.path, pos, f"{what}: {obj.api_version} was removed in Kubernetes {entry['removed_in']} "
                      f"(target {wanted}); {use}", key=f"{obj.identity()}:apiVersion")
        elif deprecated is not None and deprecated <= target:
            until = f", removed in {entry['removed_in']}" if entry.get("removed_in") else ""
            yield Hit(obj.path, pos, f"{what}: {obj.api_version} is deprecated since Kubernetes "
                      f"{entry['deprecated_in']}{until} (target {wanted}); {use}",
                      key=f"{obj.identity()}:apiVersion", severity=Severity.WARNING)
