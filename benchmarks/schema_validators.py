"""Which JSON Schema library validates Kubernetes manifests fastest? (issue 6)

Validates the same ~8000 realistic manifests (Namespace, ResourceQuota, LimitRange, six
NetworkPolicies, Deployment, Service, ConfigMap, Secret per app; 2 % with a planted mistake)
against kubernetes-validate's strict schemas with:

- jsonschema (Draft 2020-12, one validator per kind, $ref targets loaded once in a Registry)
- jsonschema-rs (one compiled validator per kind, $ref targets in a Registry)
- fastjsonschema (one generated function per kind, $ref targets served from memory)
- kubernetes-validate's own ``validate()`` per object (a sample, extrapolated: it re-reads
  and re-builds everything on every call)

and reports import time, compile time, validation time and how many objects each found
invalid (they must agree). Run from the repository root:

    python benchmarks/schema_validators.py [--apps 667] [--version 1.31] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gitops_kit import schemas_k8s

DEFS_URI = schemas_k8s.DEFS_URI


def corpus(apps: int, seed: int = 7) -> list[dict]:
    """Deterministic manifests for ``apps`` apps; about 2 % carry one mistake."""
    rnd = random.Random(seed)
    out: list[dict] = []
    for i in range(apps):
        ns = f"app-{i:04d}"
        labels = {"app.kubernetes.io/name": ns, "app.kubernetes.io/part-of": "bench"}
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
        out.append({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": ns},
                    "spec": {"hard": {"requests.cpu": "2", "requests.memory": "4Gi", "limits.memory": "8Gi",
                                      "pods": "20", "persistentvolumeclaims": "5"}}})
        out.append({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": ns},
                    "spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"},
                                         "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]}})
        for name, spec in _policies(ns):
            out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": name, "namespace": ns}, "spec": spec})
        out.append(_deployment(ns, labels, rnd))
        out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": ns, "namespace": ns, "labels": labels},
                    "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http",
                                                            "protocol": "TCP"}]}})
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{ns}-config", "namespace": ns},
                    "data": {f"key{j}": f"value {j}" for j in range(rnd.randint(3, 12))}})
        out.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{ns}-db", "namespace": ns},
                    "type": "Opaque", "stringData": {"password": f"<path:kv/data/argocd/apps/helm/{ns}#db>"}})
    for obj in rnd.sample(out, len(out) // 50):
        _break(obj, rnd)
    return out


def _policies(ns: str) -> list[tuple[str, dict]]:
    return [
        ("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        ("default-deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]}),
        ("allow-same-namespace", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                                  "ingress": [{"from": [{"podSelector": {}}]}], "egress": [{"to": [{"podSelector": {}}]}]}),
        ("allow-dns-egress", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]}),
        ("allow-monitoring", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring-core"}}}]}]}),
        ("allow-internet-egress", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.42.0.0/16", "10.43.0.0/16"]}}]}]}),
    ]


def _deployment(ns: str, labels: dict, rnd: random.Random) -> dict:
    container = {
        "name": "app", "image": f"registry.example.com/{ns}:1.{rnd.randint(0, 9)}.0",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": f"VAR_{j}", "value": str(j)} for j in range(rnd.randint(2, 8))]
        + [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{ns}-db", "key": "password"}}}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": ns, "namespace": ns, "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"nodeSelector": {"example.com/role": "worker"}, "containers": [container],
                         "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                        "whenUnsatisfiable": "DoNotSchedule",
                                                        "labelSelector": {"matchLabels": labels}}],
                         "volumes": [{"name": "config", "configMap": {"name": f"{ns}-config"}}]}}}}


def _break(obj: dict, rnd: random.Random) -> None:
    """One typical mistake: an unknown field, a wrong type or a missing required field."""
    how = rnd.choice(("typo", "type", "missing"))
    kind = obj["kind"]
    if how == "typo":
        obj.setdefault("metadata", {})["lables"] = {"x": "y"}
    elif how == "type" or kind not in ("NetworkPolicy", "Deployment"):
        obj["metadata"]["labels"] = {"enabled": True}
    elif kind == "NetworkPolicy":
        obj["spec"]["podSelektor"] = obj["spec"].pop("podSelector")
    else:
        del obj["spec"]["selector"]


# ----------------------------------------------------------------------------------------------

def load_schemas(version: str, objs: list[dict]) -> tuple[dict, dict[tuple[str, str], dict]]:
    core = schemas_k8s._core(version)
    if core is None:
        raise SystemExit(f"no bundled schemas for Kubernetes {version}")
    kinds = {(o["apiVersion"], o["kind"]) for o in objs}
    return core.defs, {k: core.schema(*k) for k in sorted(kinds)}


def bench_jsonschema(defs: dict, schemas: dict, objs: list[dict]) -> tuple[float, Callable[[dict], bool]]:
    import jsonschema
    from referencing import Registry, Resource

    registry = Registry().with_resource(DEFS_URI, Resource.from_contents(defs))
    validators = {k: jsonschema.Draft202012Validator(s, registry=registry) for k, s in schemas.items()}
    return 0.0, lambda o: validators[(o["apiVersion"], o["kind"])].is_valid(o)


def bench_jsonschema_rs(defs: dict, schemas: dict, objs: list[dict]) -> tuple[float, Callable[[dict], bool]]:
    import jsonschema_rs

    registry = jsonschema_rs.Registry([(DEFS_URI, defs)])
    validators = {k: jsonschema_rs.validator_for(s, registry=registry) for k, s in schemas.items()}
    return 0.0, lambda o: validators[(o["apiVersion"], o["kind"])].is_valid(o)


def bench_fastjsonschema(defs: dict, schemas: dict, objs: list[dict]) -> tuple[float, Callable[[dict], bool]]:
    import fastjsonschema

    handlers = {"https": lambda uri: defs if uri.split("#")[0] == DEFS_URI else {}}
    funcs = {}
    for key, schema in schemas.items():
        # fastjsonschema knows drafts 4/6/7 only; the Kubernetes schemas use nothing newer than
        # $defs, which it resolves as a plain JSON pointer.
        sch = dict(schema)
        sch["$schema"] = "http://json-schema.org/draft-07/schema#"
        funcs[key] = fastjsonschema.compile(sch, handlers=handlers)

    def ok(o: dict) -> bool:
        try:
            funcs[(o["apiVersion"], o["kind"])](o)
            return True
        except fastjsonschema.JsonSchemaException:
            return False
    return 0.0, ok


def bench_kubernetes_validate(version: str) -> Callable[[dict], bool]:
    import kubernetes_validate

    def ok(o: dict) -> bool:
        try:
            kubernetes_validate.validate(o, version, strict=True)
            return True
        except kubernetes_validate.ValidationError:
            return False
    return ok


def import_time(module: str, runs: int = 5) -> float:
    """Median time of ``import module`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                                  text=True).stdout) for _ in range(runs))


def bench_gitops_kit(version: str, objs: list[dict]) -> dict:
    """The product's path: YAML parsed with positions (yamlio), to_json, the run's SchemaSet."""
    from gitops_kit import yamlio

    docs = [yamlio.load_text(yamlio.dump(o)).documents[0].data for o in objs]
    t = time.perf_counter()
    sset = schemas_k8s.build_set(version, [])
    validators = {(d["apiVersion"], d["kind"]): sset.validator(d["apiVersion"], d["kind"]) for d in docs}
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    invalid = 0
    for d in docs:
        if schemas_k8s.validate(sset, validators[(d["apiVersion"], d["kind"])], d, d.pos):
            invalid += 1
    validate_s = time.perf_counter() - t
    return {"library": "gitops-kit schema rule path (jsonschema-rs, YAML nodes -> JSON, messages)",
            "import_s": import_time("jsonschema_rs"), "compile_s": compile_s, "validate_s": validate_s,
            "objects_per_s": len(objs) / validate_s, "invalid": invalid}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--apps", type=int, default=667, help="apps to generate (12 objects each)")
    ap.add_argument("--version", default="1.31", help="Kubernetes minor version of the schemas")
    ap.add_argument("--sample", type=int, default=100, help="objects for kubernetes-validate's per-call API")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)

    objs = corpus(args.apps)
    defs, schemas = load_schemas(args.version, objs)
    print(f"{len(objs)} objects, {len(schemas)} kinds, Kubernetes {args.version} strict schemas")
    rows = []
    for name, module, build in (("jsonschema", "jsonschema", bench_jsonschema),
                                ("jsonschema-rs", "jsonschema_rs", bench_jsonschema_rs),
                                ("fastjsonschema", "fastjsonschema", bench_fastjsonschema)):
        imp = import_time(module)
        t = time.perf_counter()
        try:
            _, ok = build(defs, schemas, objs)
        except Exception as exc:
            rows.append({"library": name, "import_s": imp, "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        compile_s = time.perf_counter() - t
        data = copy.deepcopy(objs)
        t = time.perf_counter()
        invalid = sum(1 for o in data if not ok(o))
        validate_s = time.perf_counter() - t
        rows.append({"library": name, "import_s": imp, "compile_s": compile_s, "validate_s": validate_s,
                     "objects_per_s": len(objs) / validate_s, "invalid": invalid})
    rows.append(bench_gitops_kit(args.version, objs))
    imp = import_time("kubernetes_validate")
    ok = bench_kubernetes_validate(args.version)
    sample = objs[: args.sample]
    t = time.perf_counter()
    invalid = sum(1 for o in sample if not ok(o))
    per = (time.perf_counter() - t) / len(sample)
    rows.append({"library": "kubernetes-validate validate() per call", "import_s": imp, "compile_s": 0.0,
                 "validate_s": per * len(objs), "objects_per_s": 1 / per, "invalid": None,
                 "note": f"extrapolated from {len(sample)} objects ({invalid} invalid)"})

    print(f"| library | import | compile all kinds | validate {len(objs)} | objects/s | invalid found |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['library']} | {r['import_s'] * 1000:.0f} ms | failed: {r['error']} | | | |")
            continue
        inv = r["invalid"] if r["invalid"] is not None else r.get("note", "")
        print(f"| {r['library']} | {r['import_s'] * 1000:.0f} ms | {r['compile_s'] * 1000:.0f} ms "
              f"| {r['validate_s']:.3f} s | {r['objects_per_s']:,.0f} | {inv} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"objects": len(objs), "version": args.version, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
