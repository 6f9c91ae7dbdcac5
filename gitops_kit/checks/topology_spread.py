"""topology-spread: multi-replica workloads spread one replica per node (hard constraint).

Deployments and StatefulSets anywhere in the repository, and any mapping of an app's values files
(apps/helm/<app>/values*.yaml) with ``replicas``/``replicaCount`` above 1. DaemonSets never: they run
one pod per node by construction.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, show
from ..model import RepoModel
from ..yamlio import YMap, YSeq
from ._workloads import dotted, helm_dir_files, is_int, is_object

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 28

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
KEY = "topologySpreadConstraints"
# Keys that make a values mapping a pod's own settings. A mapping with none of them only tunes
# replication (vault's server.ha.replicas) and inherits its parent's constraints (server.*).
POD_KEYS = frozenset({"nodeSelector", "affinity", "tolerations", "resources", "image", "podAnnotations",
                      "podLabels", "securityContext", "podSecurityContext", "priorityClassName", KEY})


class _Want:
    """The constraint that counts, from the rule's parameters."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.key = str(params["topology_key"])
        self.skew = int(params["max_skew"])
        self.when = str(params["when_unsatisfiable"])

    def __str__(self) -> str:
        return f"topologyKey {self.key}, maxSkew {self.skew}, whenUnsatisfiable {self.when}"

    def verdict(self, constraints: Any) -> str | None:
        """None when ``constraints`` holds a counting entry, else why not (for the message)."""
        near: list[str] = []
        for item in constraints if isinstance(constraints, YSeq) else ():
            if not isinstance(item, YMap) or item.get("topologyKey") != self.key:
                continue
            skew, when = item.get("maxSkew"), item.get("whenUnsatisfiable")
            skew_ok = is_int(skew) and 1 <= skew <= self.skew
            when_ok = when == self.when
            if skew_ok and when_ok:
                return None
            if not skew_ok:
                near.append(f"maxSkew {show(skew)} lets several replicas share a node")
            if not when_ok:
                near.append(f"whenUnsatisfiable {show(when)} is only a preference")
        if near:
            return f"its {self.key} spread constraint does not count: {'; '.join(near)}"
        return f"no {KEY} entry with {self}; one node failure can take down several replicas"


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    want = _Want(params)
    replica_keys = tuple(params.get("replica_keys") or ("replicas", "replicaCount"))

    for obj in model.kind(*WORKLOAD_KINDS):
        if obj.patch or not model.relevant(obj.path):
            continue  # a kustomize patch is partial: the spread belongs to the object it patches
        spec = obj.spec
        if spec is None:
            continue
        replicas = spec.get("replicas")
        if not is_int(replicas) or replicas <= 1:
            continue
        template = spec.get("template")
        pod = template.get("spec") if isinstance(template, YMap) else None
        problem = want.verdict(pod.get(KEY) if isinstance(pod, YMap) else None)
        if problem and _anti_affine(pod, template, want.key):
            problem = None  # at most one replica per node: stronger than any maxSkew
        if problem:
            yield Hit(obj.path, spec.key_pos("replicas"), f"{obj.kind} {show(obj.name)} has {replicas} replicas but "
                      f"{problem}",
                      key=f"{obj.identity()}:spec.replicas")

    for bundle in sorted(model.bundles):
        for fname, sf in helm_dir_files(model, bundle):
            if not model.relevant(sf.path):
                continue
            if not fname.startswith("values") or not fname.endswith((".yaml", ".yml")):
                continue
            text = sf.text or ""
            if "\\" not in text and not any(key in text for key in replica_keys):
                continue  # no replica count anywhere in the file (an escape could hide a key name)
            for doc in sf.documents:
                if is_object(doc.data):
                    continue  # a manifest, checked above as a workload
                yield from _values(sf.path, doc.index, doc.data, want, replica_keys, bundle)


def _anti_affine(pod: Any, template: Any, key: str) -> bool:
    """Whether a required podAntiAffinity term on ``key`` keeps the template's own pods apart (its
    labelSelector's matchLabels are labels of the template; matchExpressions are taken on trust)."""
    affinity = pod.get("affinity") if isinstance(pod, YMap) else None
    anti = affinity.get("podAntiAffinity") if isinstance(affinity, YMap) else None
    terms = anti.get("requiredDuringSchedulingIgnoredDuringExecution") if isinstance(anti, YMap) else None
    meta = template.get("metadata") if isinstance(template, YMap) else None
    labels = meta.get("labels") if isinstance(meta, YMap) else None
    labels = labels if isinstance(labels, YMap) else {}
    for term in terms if isinstance(terms, YSeq) else ():
        if not isinstance(term, YMap) or term.get("topologyKey") != key:
            continue
        selector = term.get("labelSelector")
        if not isinstance(selector, YMap):
            continue
        match = selector.get("matchLabels")
        if isinstance(match, YMap) and match and all(labels.get(k) == v for k, v in match.items()):
            return True
        if not match and selector.get("matchExpressions"):
            return True
    return False


def _values(path: str, index: int, tree: Any, want: _Want, keys: tuple[str, ...], app: str) -> Iterator[Hit]:
    wanted = frozenset(keys)
    stack: list[tuple[tuple, Any, Any]] = [((), tree, None)]
    while stack:
        where, node, parent = stack.pop()
        if isinstance(node, YMap):
            if node.keys() & wanted:  # a set test in C: most mappings hold no replica count
                yield from _values_mapping(path, index, where, node, parent, want, keys, app)
            for k, v in node.items():
                if isinstance(v, (YMap, YSeq)):
                    stack.append((where + (k,), v, node))
        elif isinstance(node, YSeq):
            for i, v in enumerate(node):
                if isinstance(v, (YMap, YSeq)):
                    stack.append((where + (i,), v, node))


def _values_mapping(path: str, index: int, where: tuple, node: YMap, parent: Any, want: _Want,
                    keys: tuple[str, ...], app: str) -> Iterator[Hit]:
    if node.get("kind") == "DaemonSet":
        return  # e.g. traefik's deployment.kind: DaemonSet ignores replicas
    for key in keys:
        count = node.get(key)
        if not is_int(count) or count <= 1:
            continue
        constraints = node.get(KEY)
        template = node.get("template")
        pod = template.get("spec") if isinstance(template, YMap) else None
        if constraints is None and isinstance(pod, YMap):
            constraints = pod.get(KEY)  # an embedded Deployment spec (extraObjects and the like)
        problem = want.verdict(constraints)
        if problem and isinstance(parent, YMap) and KEY in parent and not POD_KEYS & set(node):
            problem = want.verdict(parent.get(KEY))
        if problem:
            label = dotted(where + (key,))
            yield Hit(path, node.key_pos(key), f"{label}: {count} but {problem}", app=app,
                      key=f"#{index}:{label}")
