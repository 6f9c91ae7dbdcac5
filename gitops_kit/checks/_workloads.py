"""Private helpers of the placement and namespace rules (node-tier, network-policy, resource-quota,
topology-spread, app-health-check): which Application a bundle belongs to, which namespaces apps own,
which objects land in a namespace, and where a tree selects a node tier.

Candidates for the model: ``bundle_owners`` (bundle <-> Application), ``owned_namespaces`` and
``effective_namespace`` are facts about the repository layout, not about one rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .. import yamlio
from ..model import KUSTOMIZATION_FILES, Application, K8sObject, RepoModel
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

@dataclass
class Owners:
    """Which child Application a bundle (apps/helm/<x>, apps/manifests/<x>) belongs to, both ways."""

    app_of_bundle: dict[str, Application]
    bundle_of_app: dict[int, str]  # id(Application) -> bundle name

    def app(self, bundle: str | None) -> Application | None:
        return self.app_of_bundle.get(bundle) if bundle else None

    def bundle(self, app: Application) -> str | None:
        return self.bundle_of_app.get(id(app))


def bundle_of_path(model: RepoModel, path: str) -> str | None:
    """The bundle a repo-relative file lies in, or None outside apps/helm/* and apps/manifests/*.
    Answered once per path and model (rules ask for every object, and a file holds several)."""
    known = model.memo.get("bundle_of_path")
    if known is None:
        known = model.memo["bundle_of_path"] = {}
    try:
        return known[path]
    except KeyError:
        pass
    name = None
    for base in (model.config.helm_dir, model.config.manifests_dir):
        prefix = base + "/"
        if path.startswith(prefix) and "/" in path[len(prefix):]:
            name = path[len(prefix):].split("/", 1)[0]
            break
    known[path] = name
    return name


def _referenced_bundles(model: RepoModel, app: Application) -> Iterator[str]:
    for src in app.sources:
        path = src.path
        if path and (src.repo_url is None or model.is_this_repo(src.repo_url) or model.repo_url is None):
            name = bundle_of_path(model, path.removeprefix("./").strip("/") + "/")
            if name:
                yield name
        for vf, _pos in src.value_files():
            if vf.startswith("$") and "/" in vf:
                name = bundle_of_path(model, vf.split("/", 1)[1])
                if name:
                    yield name


def bundle_owners(model: RepoModel) -> Owners:
    """Bundle <-> child Application: by equal name first, else by a source path or value file into it.
    Computed once per model: node-tier, network-policy and resource-quota all ask."""
    owners = model.memo.get("bundle_owners")
    if owners is None:
        owners = model.memo["bundle_owners"] = _bundle_owners(model)
    return owners


def _bundle_owners(model: RepoModel) -> Owners:
    by_bundle: dict[str, Application] = {}
    for name in model.bundles:
        for app in model.apps_by_name.get(name, ()):
            if not app.is_root:
                by_bundle[name] = app
                break
    for app in model.child_apps():
        for name in _referenced_bundles(model, app):
            if name in model.bundles and name not in by_bundle:
                by_bundle[name] = app
    back: dict[int, str] = {}
    for name, app in by_bundle.items():
        back.setdefault(id(app), name)
    return Owners(by_bundle, back)


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

@dataclass(frozen=True)
class OwnedNamespace:
    """A namespace an app owns, and the Application whose destination names it."""

    namespace: str
    app: Application

    @property
    def pos(self) -> Pos:
        dest = self.app.destination
        return dest.value_pos("namespace") if "namespace" in dest else self.app.obj.pos

    @property
    def key(self) -> str:
        return f"{self.app.obj.identity()}:spec.destination.namespace"


def owns_namespace(model: RepoModel, app: Application) -> bool:
    """An app's own override (``owns_namespace``) first, else its layer's ``owns_namespaces``."""
    override = model.config.app(app.name).get("owns_namespace")
    if override is not None:
        return bool(override)
    spec = model.config.layer(app.layer)
    return bool(spec and spec.owns_namespaces)


def owned_namespaces(model: RepoModel) -> list[OwnedNamespace]:
    """Destination namespaces of child Applications that own their namespace."""
    out = []
    for app in model.child_apps():
        ns = app.dest_namespace
        if ns and owns_namespace(model, app):
            out.append(OwnedNamespace(ns, app))
    return out


def effective_namespace(model: RepoModel, obj: K8sObject, owners: Owners) -> str | None:
    """metadata.namespace, else the destination namespace of the bundle's Application (where ArgoCD puts it)."""
    if obj.namespace:
        return obj.namespace
    app = owners.app(bundle_of_path(model, obj.path))
    return app.dest_namespace if app is not None else None


def by_namespace(model: RepoModel, objects: Iterable[K8sObject], owners: Owners) -> dict[str, list[K8sObject]]:
    """Objects grouped by the namespace they land in."""
    out: dict[str, list[K8sObject]] = {}
    for obj in objects:
        ns = effective_namespace(model, obj, owners)
        if ns:
            out.setdefault(ns, []).append(obj)
    return out


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

