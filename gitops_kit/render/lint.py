"""``lint --render``: the object rules also run on what each Application renders.

A second model shares everything with the repository's (``dataclasses.replace``) but also holds
the rendered objects, as files below each app's bundle (``apps/manifests/<app>/@rendered/...``,
never on disk), so the rules count them as the app's. The object rules run over it through the
normal engine; each finding on a rendered object is then mapped back to the line that set the
value (a values leaf, traced by :meth:`Values.origin`), else to the Application's source line,
and its message names the template.

Rendering wins over the values heuristics: for topology-spread, node-tier and retain-policy, the
findings in the values files of a chart that rendered are replaced by the rendered ones; for
network-policy and resource-quota the namespace coverage counts the rendered objects too; for
plaintext-secret a rendered finding counts only when its value came from the repository (a
chart default or a ``randAlphaNum`` password is not the repository's secret), and a heuristic
finding at the same line is reported once.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from typing import Any

from .. import catalog, engine, suppress
from ..findings import Finding, Location, fingerprint
from ..model import K8sObject, RepoModel
from ..yamlio import YMap, YSeq, walk
from . import AppRender, Options, RenderedObject, ordered, render_apps

RULE = "render"
# The rules that read objects, and so also run on rendered ones.
OBJECT_RULES = ("schema", "deprecated-api", "node-tier", "topology-spread", "retain-policy", "plaintext-secret",
                "kustomize-namespace", "network-policy", "resource-quota")
# Rules whose findings stand at the Application (a namespace without a policy): their render-run
# findings replace those of the plain run, which did not see the rendered objects.
NAMESPACE_RULES = frozenset({"network-policy", "resource-quota"})
# Rules that guess from values files what a chart makes of them: rendering replaces the guess.
HEURISTIC_RULES = frozenset({"topology-spread", "node-tier", "retain-policy"})
SECRET_RULE = "plaintext-secret"
# Keys that name the same setting in values and in the rendered object.
_ALIASES = {"replicas": ("replicas", "replicaCount"), "replicaCount": ("replicas", "replicaCount")}
# Cluster-scoped kinds: ArgoCD sets no namespace on them.
CLUSTER_SCOPED = frozenset({"Namespace", "Node", "PersistentVolume", "StorageClass", "CustomResourceDefinition",
                            "ClusterRole", "ClusterRoleBinding", "PriorityClass", "IngressClass", "RuntimeClass",
                            "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
                            "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "APIService",
                            "CSIDriver", "CSINode", "VolumeSnapshotClass", "ClusterIssuer", "PodSecurityPolicy"})


@dataclass
class Outcome:
    """What ``lint --render`` adds to a lint run."""

    findings: list[Finding]
    renders: list[AppRender]
    dropped: int  # plain-run findings replaced by rendered ones


def prefetch(model: RepoModel) -> list[str]:
    """``--fetch``: pull every chart and pinned remote kustomize resource the apps need that the
    caches lack (the only network use). Returns one line per chart or resource that could not be
    pulled (the render then reports it)."""
    from ..charts import fetch_missing

    return fetch_missing([(model, app) for app in model.child_apps()])


def run(model: RepoModel, rules: list[catalog.RuleSpec], plain: list[Finding], options: Options) -> Outcome:
    """Render every child Application and run the object rules on the result; returns the findings
    of the whole run (``plain``: the plain run's, before suppression reporting is final)."""
    renders = render_apps(model, None, options)
    chosen = [s for s in rules if s.id in OBJECT_RULES]
    rendered_files, objects, owner = _rendered(model, renders)
    mapped: list[Finding] = []
    namespace_findings: list[Finding] = []
    # the apps whose namespace coverage the render run judges again (a bundle with rendered files)
    judged = {owner[path][0].app.name for path in rendered_files}
    if chosen and objects:
        by_kind: dict[str, list[K8sObject]] = {}
        for obj in [*model.objects, *objects]:
            by_kind.setdefault(obj.kind, []).append(obj)
        # Focused on the rendered files: the repository's own objects were judged by the plain run
        # and are here only to be looked up (CRDs for schemas, policies and quotas of a namespace).
        second = replace(model, files={**model.files, **rendered_files}, objects=[*model.objects, *objects],
                         by_kind=by_kind, memo={}, focus=frozenset(rendered_files), _focus_dirs=None)
        result = engine.run(second, chosen)
        sups = suppress.collect(model)
        for f in result.findings:
            if f.path in rendered_files:
                back = _map_back(model, f, owner[f.path], renders)
                if back is not None:
                    mapped.append(back)
            elif f.rule in NAMESPACE_RULES and f.app in judged:
                namespace_findings.append(f)
        mapped, _ = suppress.apply(mapped, sups)
    ran_namespace = {s.id for s in chosen} & NAMESPACE_RULES if objects else set()
    heuristic_files = _values_files(model, renders)
    at = {(f.rule, f.path, f.line) for f in mapped}
    kept, dropped = [], 0
    for f in plain:
        replaced = (f.rule in ran_namespace and f.app in judged) or \
            (f.rule in HEURISTIC_RULES and f.path in heuristic_files)
        if replaced or (f.rule, f.path, f.line) in at:
            dropped += 1
            continue
        kept.append(f)
    problems = _problem_findings(model, renders, rules)
    findings = engine.link_causes([*kept, *namespace_findings, *mapped, *problems])
    findings.sort(key=Finding.sort_key)
    return Outcome(_unique(findings), renders, dropped)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        key = (f.fingerprint, f.line)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _rendered(model: RepoModel, renders: list[AppRender]
              ) -> tuple[dict[str, Any], list[K8sObject], dict[str, tuple[AppRender, RenderedObject]]]:
    """The rendered files, their objects as K8sObjects, and path -> (app render, first object)."""
    prefix = model.config.manifests_dir + "/"
    files: dict[str, Any] = {}
    objects: list[K8sObject] = []
    owner: dict[str, tuple[AppRender, RenderedObject]] = {}
    for r in renders:
        for ro in ordered(r.objects):
            path = ro.file.path
            if not (path.startswith(prefix) and "/@rendered/" in path):
                continue  # a directory source's object: the repository's own, linted already
            files[path] = ro.file
            owner.setdefault(path, (r, ro))
            meta = ro.data.get("metadata")
            name = ns = None
            if isinstance(meta, YMap):
                name = meta.get("name") if isinstance(meta.get("name"), str) else None
                ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
            if ns is None and ro.kind not in CLUSTER_SCOPED:
                ns = r.app.dest_namespace  # ArgoCD applies it in the destination namespace
            objects.append(K8sObject(ro.file, ro.doc, ro.data, str(ro.data["apiVersion"]), ro.kind, name, ns))
    return files, objects, owner


def _values_files(model: RepoModel, renders: list[AppRender]) -> set[str]:
    """The values files of every Helm source that rendered completely."""
    from ..model.values import value_files

    out: set[str] = set()
    for r in renders:
        for src in r.app.sources:
            if src.index in r.rendered and src.index in r.values:
                out.update(vf.rel for vf in value_files(model, r.app, src) if vf.rel)
                chart_values = _chart_values(model, src)
                if chart_values is not None:
                    out.add(chart_values[0])
    return out


def _node_at(data: YMap, line: int) -> tuple[tuple, Any] | None:
    """The deepest (key path, value) of ``data`` standing on ``line``."""
    best = None
    for path, parent, value in walk(data):
        if parent is None:
            continue
        key = path[-1]
        if isinstance(parent, YMap):
            pos = parent.value_pos(key) if not isinstance(value, (YMap, YSeq)) else parent.key_pos(key)
        elif isinstance(parent, YSeq):
            pos = parent.item_pos(key)
        else:
            continue
        if pos[0] == line and (best is None or len(path) >= len(best[0])):
            best = (path, value)
    return best


def _decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _trace(values: Any, key_path: tuple, value: Any) -> tuple[str, tuple[int, int]] | None:
    """Where in the repository the values leaf that produced ``value`` (at ``key_path`` of the
    rendered object) was set: a leaf with the same key and value, else (strings of six characters
    or more, a Secret's base64 decoded too) the same value."""
    if values is None or isinstance(value, (dict, list)) or value is None:
        return None
    last = next((k for k in reversed(key_path) if isinstance(k, str)), None)
    names = _ALIASES.get(last, (last,)) if last else ()
    wanted = {value}
    if isinstance(value, str):
        decoded = _decoded(value)
        if decoded:
            wanted.add(decoded)
    by_value = None
    for path, _parent, leaf in walk(values.tree):
        if isinstance(leaf, (dict, list)) or leaf is None or not path:
            continue
        if leaf in wanted or (isinstance(leaf, (int, float)) and str(leaf) in {str(w) for w in wanted}):
            where = values.origin(path)
            if where is None:
                continue
            if path[-1] in names:
                return where
            if by_value is None and isinstance(leaf, str) and len(leaf) >= 6:
                by_value = where
    return by_value


def _chart_values(model: RepoModel, src: Any) -> tuple[str, YMap] | None:
    """The values.yaml of a chart of this repository that ``src`` deploys (the chart's defaults,
    which Helm reads first: in this repository, so they are the repository's values too)."""
    from .helm import chart_dir

    directory = chart_dir(model, src) if src.chart is None else None
    if directory is None:
        return None
    rel = f"{directory}/values.yaml" if directory else "values.yaml"
    sf = model.files.get(rel)
    data = sf.documents[0].data if sf is not None and sf.documents else None
    return (rel, data) if isinstance(data, YMap) else None


def _trace_chart_defaults(model: RepoModel, src: Any, key_path: tuple, value: Any
                          ) -> tuple[str, tuple[int, int]] | None:
    """:func:`_trace` over the values.yaml of a chart of this repository."""
    found = _chart_values(model, src)
    if found is None:
        return None
    rel, data = found

    class _Leaves:  # the shape _trace reads: a tree and the origin of a path
        tree = data

        @staticmethod
        def origin(path: tuple) -> tuple[str, tuple[int, int]] | None:
            node: Any = data
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, YMap) else node[key] if isinstance(node, YSeq) else None
            if isinstance(node, YMap):
                return rel, node.value_pos(path[-1])
            if isinstance(node, YSeq):
                return rel, node.item_pos(path[-1])
            return None

    return _trace(_Leaves, key_path, value)


def _map_back(model: RepoModel, f: Finding, owned: tuple[AppRender, RenderedObject], renders: list[AppRender]
              ) -> Finding | None:
    """A render-model finding at the line that set the value, else at the Application's source."""
    r, first = owned
    sf = first.file
    ro = first
    for doc_index, start, end in sf.doc_ranges():
        if start <= f.line <= end:
            ro = next((o for o in r.objects if o.file is sf and o.doc == doc_index), first)
            break
    src = next((s for s in r.app.sources if s.index == ro.source), None)
    src_pos = src.pos("chart" if src.chart else "path") if src is not None else r.app.obj.pos
    node = _node_at(ro.data, f.line)
    where = _trace(r.values.get(ro.source), *node) if node is not None else None
    if where is None and node is not None and src is not None:
        where = _trace_chart_defaults(model, src, *node)
    if where is None and f.rule == SECRET_RULE:
        return None  # a chart default or a generated value: not a secret this repository holds
    if where is None:
        path, pos = r.app.path, src_pos
    else:
        path, pos = where
    what = f"{ro.kind} {ro.name!r}" if ro.name else ro.kind
    message = f"{f.message} [rendered: {what} from {ro.template} of app {r.app.name!r}]"
    key = f"render:{r.app.name}:{ro.source}:{ro.template}:{f.fingerprint}"
    return replace(f, path=path, line=max(1, pos[0]), column=max(1, pos[1]), message=message, app=r.app.name,
                   fingerprint=fingerprint(f.rule, path, key), related=(Location(r.app.path, *src_pos),))


def _problem_findings(model: RepoModel, renders: list[AppRender], rules: list[catalog.RuleSpec]) -> list[Finding]:
    """The render rule's findings: one per render problem (see :mod:`.check`)."""
    from .. import checks
    from . import check

    spec = catalog.load().get(RULE)
    if spec is None or spec.id not in {s.id for s in rules}:
        return []
    model.memo[check.MEMO] = check.hits(model, renders)
    if spec.check in checks.REGISTRY:
        return engine.run(model, [spec]).findings
    # not registered (yet): stamped and suppressed here as the engine would
    override = model.config.rule_settings(RULE).get("severity")
    stamped = [engine._stamp(spec, hit, model, override) for hit in model.memo[check.MEMO]]
    return suppress.apply(stamped, suppress.collect(model))[0]
