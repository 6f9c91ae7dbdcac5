"""Private helpers of the placement and namespace rules (node-tier, network-policy, resource-quota,
topology-spread, app-health-check): which Application a bundle belongs to, which namespaces apps own,
which objects land in a namespace, and where a tree selects a node tier.

``bundle_owners``, ``owned_namespaces`` and ``effective_namespace`` moved to
:mod:`gitops_kit.model.ownership` (facts about the repository, not about one rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .. import yamlio
from ..model import KUSTOMIZATION_FILES, RepoModel
from ..yamlio import YMap, YSeq

Pos = tuple[int, int]

HELM_META_FILES = frozenset({"Chart.yaml", "Chart.yml", "kustomization.yaml", "kustomization.yml"})
# Operators whose CRDs take a node selector as YAML text (AWX: spec.node_selector: "role: worker").
TEXT_SELECTOR_KEYS = ("node_selector",)
_PLACEMENT_KEYS = frozenset({"nodeSelector", "nodeAffinity", "nodeAffinityPreset", *TEXT_SELECTOR_KEYS})
REQUIRED_AFFINITY = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED_AFFINITY = "preferredDuringSchedulingIgnoredDuringExecution"


def is_int(value: Any) -> bool:
    """A YAML integer (``true`` is not one, although Python says so)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_object(data: Any) -> bool:
    """Whether a document is a Kubernetes object (string apiVersion and kind)."""
    return isinstance(data, YMap) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str)


def dotted(path: Iterable[Any]) -> str:
    """A key path as text for fingerprints: ``spec.template.spec.nodeSelector``."""
    return ".".join(f"[{p}]" if is_int(p) else str(p) for p in path)


# --- bundles and their Applications ---------------------------------------------------------------------

# Bundle ownership and namespaces are facts of the model; re-exported for the checks.
from ..model.ownership import (  # noqa: F401
    OwnedNamespace,
    Owners,
    bundle_of_path,
    bundle_owners,
    by_namespace,
    effective_namespace,
    owned_namespaces,
    owns_namespace,
)


def helm_dir_files(model: RepoModel, bundle: str) -> list[tuple[str, Any]]:
    """(name, SourceFile) of the files directly in apps/helm/<bundle>/, sorted by name."""
    b = model.bundles.get(bundle)
    if b is None:
        return []
    return sorted(((n, sf) for n, sf in b.helm_files.items() if "/" not in n), key=lambda item: item[0])


def kustomize_helm_charts(model: RepoModel, bundle: str) -> list[tuple[Any, YMap]]:
    """(SourceFile, entry) of each ``helmCharts`` entry of apps/helm/<bundle>/kustomization.yaml."""
    b = model.bundles.get(bundle)
    if b is None:
        return []
    out: list[tuple[Any, YMap]] = []
    for name in KUSTOMIZATION_FILES:
        sf = b.helm_file(name)
        if sf is None:
            continue
        for doc in sf.documents:
            charts = doc.data.get("helmCharts") if isinstance(doc.data, YMap) else None
            if isinstance(charts, YSeq):
                out.extend((sf, c) for c in charts if isinstance(c, YMap))
    return out


# --- namespaces -----------------------------------------------------------------------------------------

# --- tier selections ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TierUse:
    """A place where a tree selects nodes by the tier label.

    ``checked`` is False where the value is not a hard "run only on this tier" (preferred affinity,
    NotIn, Exists): it still counts as a deliberate tier choice, but its value is not compared.
    """

    value: Any
    pos: Pos
    path: tuple
    how: str
    checked: bool = True


def _affinity_uses(aff: YMap, label: str, path: tuple) -> Iterator[TierUse]:
    required = aff.get(REQUIRED_AFFINITY)
    terms = required.get("nodeSelectorTerms") if isinstance(required, YMap) else None
    if isinstance(terms, YSeq):
        for ti, term in enumerate(terms):
            exprs = term.get("matchExpressions") if isinstance(term, YMap) else None
            if not isinstance(exprs, YSeq):
                continue
            for ei, expr in enumerate(exprs):
                if not isinstance(expr, YMap) or expr.get("key") != label:
                    continue
                where = path + (REQUIRED_AFFINITY, "nodeSelectorTerms", ti, "matchExpressions", ei)
                values = expr.get("values")
                if expr.get("operator") == "In" and isinstance(values, YSeq) and values:
                    for vi, value in enumerate(values):
                        yield TierUse(value, values.item_pos(vi), where + ("values", vi), "required nodeAffinity")
                else:
                    yield TierUse(None, expr.pos, where, "required nodeAffinity", checked=False)
    preferred = aff.get(PREFERRED_AFFINITY)
    if isinstance(preferred, YSeq):
        for pi, item in enumerate(preferred):
            pref = item.get("preference") if isinstance(item, YMap) else None
            exprs = pref.get("matchExpressions") if isinstance(pref, YMap) else None
            if isinstance(exprs, YSeq) and any(isinstance(e, YMap) and e.get("key") == label for e in exprs):
                yield TierUse(None, item.pos, path + (PREFERRED_AFFINITY, pi), "preferred nodeAffinity",
                              checked=False)


def _text_selector(text: str, pos: Pos, label: str, path: tuple) -> Iterator[TierUse]:
    """A node selector written as YAML text; positions inside a block scalar start on the next line."""
    docs = yamlio.load_text(str(text)).documents
    sel = docs[0].data if docs else None
    if isinstance(sel, YMap) and label in sel:
        inner = sel.value_pos(label)
        where = (pos[0] + inner[0], pos[1]) if "\n" in text else pos
        yield TierUse(sel[label], where, path + (label,), "node_selector")


def tier_uses(tree: Any, label: str) -> Iterator[TierUse]:
    """Every nodeSelector / nodeAffinity (and Bitnami ``nodeAffinityPreset``) on ``label`` in ``tree``.

    A ``nodeSelector`` that is not a mapping (Calico's ``nodeSelector: all()``) is another kind of
    selector and is ignored.
    """
    stack: list[tuple[tuple, Any]] = [((), tree)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, YMap):
            if node.keys() & _PLACEMENT_KEYS:  # one C-level test instead of five lookups per mapping
                yield from _placement_uses(node, label, path)
            for key, value in node.items():
                if isinstance(value, (YMap, YSeq)):
                    stack.append((path + (key,), value))
        elif isinstance(node, YSeq):
            for i, value in enumerate(node):
                if isinstance(value, (YMap, YSeq)):
                    stack.append((path + (i,), value))


def _placement_uses(node: YMap, label: str, path: tuple) -> Iterator[TierUse]:
    """The tier selections written directly on ``node`` (see :func:`tier_uses`)."""
    sel = node.get("nodeSelector")
    if isinstance(sel, YMap) and label in sel:
        yield TierUse(sel[label], sel.value_pos(label), path + ("nodeSelector", label), "nodeSelector")
    for key in TEXT_SELECTOR_KEYS:
        if isinstance(node.get(key), str):
            yield from _text_selector(node[key], node.value_pos(key), label, path + (key,))
    aff = node.get("nodeAffinity")
    if isinstance(aff, YMap):
        yield from _affinity_uses(aff, label, path + ("nodeAffinity",))
    preset = node.get("nodeAffinityPreset")
    if isinstance(preset, YMap) and preset.get("key") == label:
        values = preset.get("values")
        hard = preset.get("type") == "hard"
        if isinstance(values, YSeq) and values:
            for vi, value in enumerate(values):
                yield TierUse(value, values.item_pos(vi), path + ("nodeAffinityPreset", "values", vi),
                              "nodeAffinityPreset", checked=hard)

