"""What the schema rules look at: every Kubernetes object (kustomize patches and plugin
configurations left out: they are not objects) and every file validated by its name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ..model import KUSTOMIZATION_FILES

if TYPE_CHECKING:  # pragma: no cover
    from ..model import K8sObject, RepoModel

Pos = tuple[int, int]


# ----------------------------------------------------------------------------------------------
# what the schema rules look at

@dataclass
class Target:
    """A document to validate: a Kubernetes object, or a file validated by its name."""

    path: str
    data: Any
    pos: Pos
    api_version: str | None
    kind: str | None
    label: str  # "NetworkPolicy 'default-deny'", "Chart.yaml"
    identity: str
    file_schema: str | None = None  # gitops-kit schema chosen by file name
    obj: "K8sObject | None" = None


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def targets(model: "RepoModel", skip_files: Iterable[str]) -> list[Target]:
    """Every Kubernetes object and every Chart.yaml / kustomization.yaml, minus skipped files
    (Helm values files by default: they are chart input, not objects); built once per model and
    list of skips (schema and schema-unknown share it)."""
    skips = tuple(s for s in skip_files if isinstance(s, str))
    key = ("schema_targets", skips)
    found = model.memo.get(key)
    if found is None:
        found = model.memo[key] = list(_targets(model, skips))
    return found


def _targets(model: "RepoModel", skips: tuple[str, ...]) -> Iterator[Target]:
    import fnmatch
    import re

    from . import project_index

    by_name = project_index()[1]
    # one regex for all patterns, and one answer per file (a file holds many objects)
    skip_rx = re.compile("|".join(f"(?:{fnmatch.translate(pat)})" for pat in skips)) if skips else None
    skip_of: dict[str, bool] = {}

    def skipped(path: str) -> bool:
        if skip_rx is None:
            return False
        hit = skip_of.get(path)
        if hit is None:
            hit = skip_of[path] = bool(skip_rx.match(_basename(path)) or skip_rx.match(path))
        return hit

    plugin_files = kustomize_plugin_files(model)
    named: set[tuple[str, int]] = set()
    relevant = model.relevant
    for sf in model.files.values():
        if not relevant(sf.path):
            continue  # a focused (pre-commit) run: validation findings are per file
        base = _basename(sf.path)
        schema_name = by_name.get(base)
        if schema_name is None or skipped(sf.path):
            continue
        for doc in sf.documents:
            if doc.data is None:
                continue
            api = doc.data.get("apiVersion") if isinstance(doc.data, dict) else None
            if base in KUSTOMIZATION_FILES and isinstance(api, str) and \
                    not api.startswith("kustomize.config.k8s.io/"):
                continue  # e.g. a Flux Kustomization kept in a file of that name: an ordinary object
            named.add((sf.path, doc.index))
            yield Target(sf.path, doc.data, getattr(doc.data, "pos", doc.pos), api if isinstance(api, str) else None,
                         None, base, f"{sf.path}#{doc.index}", file_schema=schema_name)
    for obj in model.objects:
        # a patch is a partial object (the model marks it), a plugin configuration never reaches the cluster
        if not relevant(obj.path) or (obj.path, obj.doc) in named or obj.patch or obj.path in plugin_files \
                or skipped(obj.path):
            continue
        label = f"{obj.kind} {obj.name!r}" if obj.name else obj.kind
        yield Target(obj.path, obj.data, obj.pos, obj.api_version, obj.kind, label, obj.identity(), obj=obj)


def kustomize_plugin_files(model: "RepoModel") -> set[str]:
    """Repository files a kustomization names under ``generators``, ``transformers`` or
    ``validators``: the configuration of a kustomize plugin (a KSOPS ``ksops`` generator, a
    builtin transformer), which kustomize reads and never sends to the cluster."""
    out: set[str] = set()
    for sf in model.files.values():
        if _basename(sf.path) not in KUSTOMIZATION_FILES or not sf.documents:
            continue
        data = sf.documents[0].data
        if not isinstance(data, dict):
            continue
        base = sf.path.rsplit("/", 1)[0] if "/" in sf.path else ""
        for key in ("generators", "transformers", "validators"):
            items = data.get(key)
            for ref in items if isinstance(items, list) else ():
                if isinstance(ref, str) and ref and "\n" not in ref and "://" not in ref:
                    path = _join(base, ref)
                    if path in model.files:
                        out.add(path)
    return out


def _join(base: str, rel: str) -> str:
    parts = [p for p in base.split("/") if p] if not rel.startswith("/") else []
    for part in rel.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)
