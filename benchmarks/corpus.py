"""A deterministic corpus generator: N apps of a three-layer GitOps repository.

``generate(dest, n_apps, violations, seed)`` writes a repository that follows the conventions of
``gitops_kit/defaults.yaml`` (the three-layer write-up) exactly:

- ``argo/root-{bootstrap,platform,apps}.yaml`` at waves "0"/"1"/"2"; root-bootstrap renders
  ``argo/`` with ``directory: {recurse: true, include: '{bootstrap/*.yaml,root-platform.yaml,root-apps.yaml}'}``
  so one ``kubectl apply`` brings up every layer;
- per app ``argo/<layer>/<app>-app.yaml`` (multi-source Helm: pinned chart, ``ref: values``,
  ``apps/manifests/<app>``; automated prune + selfHeal; quoted wave inside the layer's band),
  ``apps/helm/<app>/values.yaml`` (60-200 lines of chart values, the app's tier in every
  ``nodeSelector``, topology spread beside every ``replicaCount`` above 1), and
  ``apps/manifests/<app>/{namespace,quota,network-policy}.yaml``.

Apps are spread about 10% bootstrap (``<app>-system``, control tier), 30% platform
(``<app>-core``, control) and 60% apps (``<app>``, worker). ``violations`` is the fraction of apps
given exactly one violation from :data:`VIOLATIONS`. The same arguments always give a
byte-identical tree: every random draw comes from ``random.Random`` seeded with a string (hashed
with SHA-512 by the standard library, so independent of ``PYTHONHASHSEED``) and files are written
in sorted order.
"""

from __future__ import annotations

import json
import random
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml

REPO_URL = "https://gitlab.example.com/platform/gitops.git"
BRANCH = "master"
ARGOCD_NAMESPACE = "argocd-system"
TIER_LABEL = "example.com/role"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
K8S_SERVER = "https://kubernetes.default.svc"

CONFIG_NAME = ".gitops-kit.yaml"
CONFIG = f"""# gitops-kit settings for this generated repository (merged over the shipped defaults).
repo:
  url: {REPO_URL}
  branch: {BRANCH}
"""

# ArgoCD itself, as in the reference example: a bootstrap Application of git manifests whose argocd-cm
# restores the Application health check, so that each layer's wave waits for the previous layer.
# It is not one of the N apps.
ARGOCD_FILES = {
    "argo/bootstrap/argocd-app.yaml": f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: argocd
  namespace: {ARGOCD_NAMESPACE}
  annotations:
    {SYNC_WAVE}: "-3"
spec:
  project: default
  destination:
    server: {K8S_SERVER}
    namespace: {ARGOCD_NAMESPACE}
  sources:
    - repoURL: {REPO_URL}
      targetRevision: {BRANCH}
      path: apps/manifests/argocd
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
""",
    "apps/manifests/argocd/namespace.yaml": f"""apiVersion: v1
kind: Namespace
metadata:
  name: {ARGOCD_NAMESPACE}
  labels:
    pod-security.kubernetes.io/enforce: baseline
""",
    "apps/manifests/argocd/argocd-cm.yaml": f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: {ARGOCD_NAMESPACE}
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
  url: https://argocd.example.com
  timeout.reconciliation: 180s
  application.resourceTrackingMethod: annotation
  # The Application health check ArgoCD 1.8 removed: app-of-apps waves wait for Healthy children.
  resource.customizations.health.argoproj.io_Application: |
    hs = {{}}
    hs.status = "Progressing"
    hs.message = ""
    if obj.status ~= nil then
      if obj.status.health ~= nil then
        hs.status = obj.status.health.status
        if obj.status.health.message ~= nil then
          hs.message = obj.status.health.message
        end
      end
    end
    return hs
""",
}

# name, root wave, child wave band, namespace suffix, node tier, share of the apps
LAYERS = (
    ("bootstrap", "0", (-3, 0), "-system", "control", 0.1),
    ("platform", "1", (0, 9), "-core", "control", 0.3),
    ("apps", "2", (0, 9), "", "worker", 0.6),
)
OTHER_TIER = {"control": "worker", "worker": "control"}

# The violations, in the order they are handed out (round robin over the apps chosen to carry one),
# and the rule that should report each. ``missing-quota`` only counts in a layer that owns its
# namespaces (apps): an app of another layer skips to the next kind of the list.
VIOLATIONS: dict[str, str] = {
    "prune-false": "automated-sync",
    "unquoted-wave": "sync-wave",
    "namespace-suffix": "namespace-suffix",
    "wrong-tier": "node-tier",
    "wildcard-chart-version": "helm-pattern",
    "missing-quota": "resource-quota",
    "duplicate-key": "yaml-syntax",
    "plaintext-password": "plaintext-secret",
}
_ONLY_IN = {"missing-quota": {"apps"}}

# Chart catalogue per layer: (app base name, chart repository, chart, version, image, tag, port).
# Base names avoid the apps that gitops_kit/defaults.yaml configures (vault-ha, loki, traefik...),
# so no per-app override changes what a generated app must look like.
CHARTS: dict[str, tuple[tuple[str, str, str, str, str, str, int], ...]] = {
    "bootstrap": (
        ("cert-manager", "https://charts.jetstack.io", "cert-manager", "v1.16.2", "jetstack/cert-manager-controller", "v1.16.2", 9402),
        ("external-dns", "https://kubernetes-sigs.github.io/external-dns", "external-dns", "1.15.0", "external-dns/external-dns", "v0.15.0", 7979),
        ("reflector", "https://emberstack.github.io/helm-charts", "reflector", "9.0.322", "emberstack/kubernetes-reflector", "9.0.322", 8080),
        ("kured", "https://kubereboot.github.io/charts", "kured", "5.6.0", "kubereboot/kured", "1.16.2", 8080),
        ("descheduler", "https://kubernetes-sigs.github.io/descheduler", "descheduler", "0.32.1", "descheduler/descheduler", "v0.32.1", 10258),
        ("metrics-server", "https://kubernetes-sigs.github.io/metrics-server", "metrics-server", "3.12.2", "metrics-server/metrics-server", "v0.7.2", 10250),
        ("reloader", "https://stakater.github.io/stakater-charts", "reloader", "1.2.0", "stakater/reloader", "v1.2.0", 9090),
        ("snapshot-controller", "https://piraeus.io/helm-charts", "snapshot-controller", "4.0.1", "sig-storage/snapshot-controller", "v8.2.0", 8080),
    ),
    "platform": (
        ("cnpg", "https://cloudnative-pg.io/charts", "cloudnative-pg", "0.23.0", "cloudnative-pg/cloudnative-pg", "1.25.0", 8080),
        ("mariadb-operator", "https://helm.mariadb.com/mariadb-operator", "mariadb-operator", "0.37.1", "mariadb-operator/mariadb-operator", "0.37.1", 8080),
        ("redis", "https://charts.bitnami.com/bitnami", "redis", "20.6.2", "bitnami/redis", "7.4.2", 6379),
        ("keycloak", "https://codecentric.github.io/helm-charts", "keycloakx", "7.0.1", "keycloak/keycloak", "26.0.7", 8080),
        ("minio", "https://charts.min.io", "minio", "5.4.0", "minio/minio", "RELEASE.2024-12-18T13-15-44Z", 9000),
        ("rabbitmq", "https://charts.bitnami.com/bitnami", "rabbitmq", "15.2.2", "bitnami/rabbitmq", "4.0.5", 5672),
        ("registry", "https://helm.goharbor.io", "harbor", "1.18.2", "goharbor/harbor-core", "v2.14.2", 8080),
        ("grafana", "https://grafana.github.io/helm-charts", "grafana", "8.8.2", "grafana/grafana", "11.4.0", 3000),
        ("opensearch", "https://opensearch-project.github.io/helm-charts", "opensearch", "2.28.0", "opensearchproject/opensearch", "2.18.0", 9200),
        ("nats", "https://nats-io.github.io/k8s/helm/charts", "nats", "1.2.9", "nats-io/nats", "2.10.24", 4222),
        ("velero", "https://vmware-tanzu.github.io/helm-charts", "velero", "8.2.0", "velero/velero", "v1.15.1", 8085),
        ("memcached", "https://charts.bitnami.com/bitnami", "memcached", "7.6.1", "bitnami/memcached", "1.6.34", 11211),
    ),
    "apps": (
        ("netbox", "https://charts.netbox.oss.netboxlabs.com", "netbox", "5.0.40", "netboxcommunity/netbox", "v4.1.11", 8080),
        ("filebrowser", "https://utkuozdemir.github.io/helm-charts", "filebrowser", "1.0.0", "filebrowser/filebrowser", "v2.31.2", 8080),
        ("gitea", "https://dl.gitea.com/charts", "gitea", "10.6.0", "gitea/gitea", "1.22.6", 3000),
        ("wikijs", "https://charts.js.wiki", "wiki", "2.2.0", "requarks/wiki", "2.5.305", 3000),
        ("nextcloud", "https://nextcloud.github.io/helm", "nextcloud", "6.6.3", "library/nextcloud", "30.0.4-apache", 80),
        ("mattermost", "https://helm.mattermost.com", "mattermost-team-edition", "6.6.67", "mattermost/mattermost-team-edition", "10.3.1", 8065),
        ("jenkins", "https://charts.jenkins.io", "jenkins", "5.8.3", "jenkins/jenkins", "2.479.3-jdk17", 8080),
        ("uptime-kuma", "https://helm.irsigler.cloud", "uptime-kuma", "2.21.2", "louislam/uptime-kuma", "1.23.16", 3001),
        ("bookstack", "https://charts.example.com/bookstack", "bookstack", "1.4.2", "linuxserver/bookstack", "24.12.1", 80),
        ("n8n", "https://8gears.container-registry.com/chartrepo/library", "n8n", "0.25.2", "n8nio/n8n", "1.73.1", 5678),
        ("outline", "https://charts.example.com/outline", "outline", "0.4.1", "outlinewiki/outline", "0.82.0", 3000),
        ("homepage", "https://jameswynn.github.io/helm-charts", "homepage", "2.0.1", "gethomepage/homepage", "v0.10.9", 3000),
        ("paperless", "https://charts.example.com/paperless", "paperless-ngx", "0.19.1", "paperless-ngx/paperless-ngx", "2.13.5", 8000),
        ("inventory", "https://charts.example.com/internal", "web-service", "2.3.0", "platform/inventory", "3.8.1", 8080),
        ("billing", "https://charts.example.com/internal", "web-service", "2.3.0", "platform/billing", "1.14.0", 8080),
        ("tickets", "https://charts.example.com/internal", "web-service", "2.3.0", "platform/tickets", "5.2.7", 8080),
    ),
}


# --- a small, fast YAML emitter (block style; strings quoted only when they must be) -----------------

class Raw(str):
    """Emitted exactly as written (used for the deliberate violations)."""

    __slots__ = ()


class Single(str):
    """Emitted single-quoted (``'{a,b}'``), as the reference example writes globs."""

    __slots__ = ()


_SAFE = re.compile(r"[A-Za-z0-9_/$.][A-Za-z0-9_./$@%+=:-]*")
_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()


@lru_cache(maxsize=65536)
def _string(text: str) -> str:
    """``text`` plain when YAML reads it back as this same string, else double-quoted."""
    if (_SAFE.fullmatch(text) and not text.endswith(":")
            and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG):
        return text
    return json.dumps(text)


def _scalar(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Single):
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _string(str(value))


class Flow(list):
    """A short list of scalars written ``[a, b]``, as such lists usually are."""

    __slots__ = ()


def _flow(items: list) -> str | None:
    if not isinstance(items, Flow) or any(isinstance(i, (dict, list)) for i in items):
        return None
    parts = [_scalar(i) for i in items]
    if any("," in p or p[0] in "[]{}" for p in parts):
        return None
    return "[" + ", ".join(parts) + "]"


def _emit_map(mapping: dict, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            out.append(f"{pad}{_scalar(key)}:")
            _emit_map(value, indent + 2, out)
        elif isinstance(value, list) and value:
            flow = _flow(value)
            if flow is not None:
                out.append(f"{pad}{_scalar(key)}: {flow}")
                continue
            out.append(f"{pad}{_scalar(key)}:")
            _emit_seq(value, indent + 2, out)
        else:
            out.append(f"{pad}{_scalar(key)}: {_scalar(value)}")


def _emit_seq(items: list, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, (dict, list)) and item:
            sub: list[str] = []
            (_emit_map if isinstance(item, dict) else _emit_seq)(item, indent + 2, sub)
            sub[0] = f"{pad}- {sub[0][indent + 2:]}"
            out.extend(sub)
        else:
            out.append(f"{pad}- {_scalar(item)}")


def to_yaml(data: dict) -> str:
    """One block-style YAML document (no ``---``)."""
    out: list[str] = []
    _emit_map(data, 0, out)
    return "\n".join(out) + "\n"


# --- the apps ------------------------------------------------------------------------------------------

class App:
    """One generated app: its place in the layers and what its files say."""

    def __init__(self, name: str, layer: str, chart: tuple, index: int) -> None:
        spec = next(s for s in LAYERS if s[0] == layer)
        self.name = name
        self.layer = layer
        self.index = index
        self.repo, self.chart, self.version, self.image, self.tag, self.port = chart[1:]
        self.band = spec[2]
        self.namespace = name + spec[3]
        self.tier = spec[4]
        self.violation: str | None = None

    def rng(self, seed: int, what: str) -> random.Random:
        return random.Random(f"{seed}:{self.name}:{what}")


def layer_counts(n_apps: int) -> dict[str, int]:
    """Apps per layer: about 10% / 30% / 60%, at least one per layer from three apps on."""
    if n_apps < 3:
        return {"bootstrap": 0, "platform": 0, "apps": n_apps}
    boot = max(1, round(n_apps * LAYERS[0][5]))
    plat = max(1, round(n_apps * LAYERS[1][5]))
    return {"bootstrap": boot, "platform": plat, "apps": n_apps - boot - plat}


def plan(n_apps: int, violations: float = 0.0, seed: int = 0) -> list[App]:
    """The apps of a corpus, each with the violation it carries (or None)."""
    if n_apps < 1:
        raise ValueError("n_apps must be at least 1")
    if not 0.0 <= violations <= 1.0:
        raise ValueError("violations is a fraction between 0 and 1")
    apps: list[App] = []
    for layer, count in layer_counts(n_apps).items():
        charts = CHARTS[layer]
        for i in range(count):
            chart = charts[i % len(charts)]
            lap = i // len(charts)
            name = chart[0] if lap == 0 else f"{chart[0]}-{lap + 1}"
            apps.append(App(name, layer, chart, len(apps)))
    chosen = sorted(random.Random(f"{seed}:violations").sample(range(n_apps), round(violations * n_apps)))
    kinds = list(VIOLATIONS)
    for turn, index in enumerate(chosen):
        app = apps[index]
        for step in range(len(kinds)):
            kind = kinds[(turn + step) % len(kinds)]
            if app.layer in _ONLY_IN.get(kind, {app.layer}):
                app.violation = kind
                break
    return apps


def _namespace(app: App) -> str:
    if app.violation != "namespace-suffix":
        return app.namespace
    # bootstrap: no suffix at all; platform: -system (platform is -core); apps: -core (forbidden there)
    return {"bootstrap": app.name, "platform": app.name + "-system", "apps": app.name + "-core"}[app.layer]


def application(app: App, seed: int) -> str:
    rng = app.rng(seed, "application")
    wave: Any = str(rng.randint(*app.band))
    if app.violation == "unquoted-wave":
        wave = Raw(wave)
    version: Any = "*" if app.violation == "wildcard-chart-version" else app.version
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": app.name,
            "namespace": ARGOCD_NAMESPACE,
            "annotations": {SYNC_WAVE: wave},
        },
        "spec": {
            "project": "default",
            "destination": {"server": K8S_SERVER, "namespace": _namespace(app)},
            "sources": [
                {"repoURL": app.repo, "chart": app.chart, "targetRevision": version,
                 "helm": {"releaseName": app.name, "valueFiles": [f"$values/apps/helm/{app.name}/values.yaml"]}},
                {"repoURL": REPO_URL, "targetRevision": BRANCH, "ref": "values"},
                {"repoURL": REPO_URL, "targetRevision": BRANCH, "path": f"apps/manifests/{app.name}"},
            ],
            "syncPolicy": {
                "automated": {"prune": app.violation != "prune-false", "selfHeal": True},
            },
        },
    }
    return to_yaml(doc)


def root(layer: str, wave: str, first: bool) -> str:
    source: dict[str, Any] = {"repoURL": REPO_URL, "targetRevision": BRANCH}
    if first:
        others = ",".join(f"root-{spec[0]}.yaml" for spec in LAYERS[1:])
        source["path"] = "argo"
        source["directory"] = {"recurse": True, "include": Single(f"{{{layer}/*.yaml,{others}}}")}
    else:
        source["path"] = f"argo/{layer}"
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"root-{layer}", "namespace": ARGOCD_NAMESPACE, "annotations": {SYNC_WAVE: wave}},
        "spec": {
            "project": "default",
            "destination": {"server": K8S_SERVER, "namespace": ARGOCD_NAMESPACE},
            "source": source,
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }
    return to_yaml(doc)


def _labels(app: App) -> dict[str, str]:
    return {"app.kubernetes.io/name": app.name, "app.kubernetes.io/part-of": app.layer}


def namespace(app: App) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": _namespace(app), "labels": {**_labels(app),
                                                          "pod-security.kubernetes.io/enforce": "baseline",
                                                          "pod-security.kubernetes.io/warn": "restricted"}},
    }
    return to_yaml(doc)


def quota(app: App, seed: int) -> str:
    rng = app.rng(seed, "quota")
    cpu = rng.choice((2, 4, 8))
    mem = rng.choice((4, 8, 16))
    doc = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": f"{app.name}-quota", "namespace": _namespace(app)},
        "spec": {"hard": {
            "requests.cpu": str(cpu), "requests.memory": f"{mem}Gi",
            "limits.cpu": str(cpu * 2), "limits.memory": f"{mem * 2}Gi",
            "requests.storage": f"{rng.choice((20, 50, 100))}Gi",
            "persistentvolumeclaims": str(rng.choice((5, 10))), "pods": str(rng.choice((20, 40, 60))),
            "services.loadbalancers": "0",
        }},
    }
    return to_yaml(doc)


def network_policies(app: App) -> str:
    ns = _namespace(app)

    def policy(name: str, spec: dict) -> dict:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": name, "namespace": ns}, "spec": spec}

    def from_ns(namespace_name: str) -> dict:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace_name}}}

    docs = [
        policy("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        policy("default-deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]}),
        policy("allow-same-namespace", {
            "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        }),
        policy("allow-dns-egress", {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{
                "to": [{**from_ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        }),
        policy("allow-monitoring", {
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [from_ns("monitoring-core")], "ports": [{"protocol": "TCP", "port": "metrics"}]}],
        }),
        policy("allow-traefik", {
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [from_ns("traefik-system")], "ports": [{"protocol": "TCP", "port": app.port}]}],
        }),
    ]
    return "---\n".join(to_yaml(d) for d in docs)


# --- values.yaml ---------------------------------------------------------------------------------------

def _spread(app: App, component: str | None = None) -> list[dict]:
    labels = {"app.kubernetes.io/name": app.name}
    if component:
        labels["app.kubernetes.io/component"] = component
    return [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": labels}}]


def _resources(rng: random.Random) -> dict:
    cpu = rng.choice((50, 100, 200, 250, 500))
    mem = rng.choice((64, 128, 256, 512, 1024))
    return {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"},
            "limits": {"cpu": f"{cpu * 4}m", "memory": f"{mem * 2}Mi"}}


def _probe(rng: random.Random, path: str, delay: int) -> dict:
    return {"httpGet": {"path": path, "port": "http"}, "initialDelaySeconds": delay,
            "periodSeconds": rng.choice((10, 15, 20)), "timeoutSeconds": rng.choice((1, 3, 5)),
            "failureThreshold": rng.choice((3, 5, 6))}


def _component(app: App, rng: random.Random, name: str, tier: str) -> dict:
    replicas = rng.choice((1, 2, 3))
    out: dict[str, Any] = {"enabled": True, "replicaCount": replicas}
    if replicas > 1:
        out["topologySpreadConstraints"] = _spread(app, name)
    out["nodeSelector"] = {TIER_LABEL: tier}
    out["resources"] = _resources(rng)
    out["extraArgs"] = Flow([f"--concurrency={rng.randint(2, 16)}", f"--queue={name}"])
    return out


def _optional_sections(app: App, rng: random.Random, tier: str) -> list[tuple[str, Callable[[], Any]]]:
    host = f"{app.name}.example.com"
    return [
        ("podSecurityContext", lambda: {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                                        "seccompProfile": {"type": "RuntimeDefault"}}),
        ("securityContext", lambda: {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                     "capabilities": {"drop": Flow(["ALL"])}}),
        ("ingress", lambda: {"enabled": True, "className": "traefik",
                             "annotations": {"traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
                                             "traefik.ingress.kubernetes.io/router.tls": "true"},
                             "hosts": [{"host": host, "paths": [{"path": "/", "pathType": "Prefix"}]}],
                             "tls": [{"secretName": "wildcard-example-com-tls", "hosts": Flow([host])}]}),
        ("persistence", lambda: {"enabled": True, "storageClass": "longhorn", "accessModes": Flow(["ReadWriteOnce"]),
                                 "size": f"{rng.choice((1, 5, 10, 20, 50))}Gi",
                                 "annotations": {"helm.sh/resource-policy": "keep"}}),
        ("metrics", lambda: {"enabled": True, "port": 9090,
                             "serviceMonitor": {"enabled": True, "namespace": "monitoring-core",
                                                "interval": "30s", "scrapeTimeout": "10s",
                                                "labels": {"release": "kube-prometheus-stack"}}}),
        ("serviceAccount", lambda: {"create": True, "name": app.name, "automountServiceAccountToken": False,
                                    "annotations": {}}),
        ("podAnnotations", lambda: {"reloader.stakater.com/auto": "true",
                                    "prometheus.io/scrape": "true", "prometheus.io/port": "9090"}),
        ("podLabels", lambda: {"app.kubernetes.io/part-of": app.layer, "example.com/team": rng.choice(
            ("platform", "infra", "apps", "data", "identity"))}),
        ("autoscaling", lambda: {"enabled": False, "minReplicas": 2, "maxReplicas": rng.choice((4, 6, 10)),
                                 "targetCPUUtilizationPercentage": rng.choice((60, 70, 80)),
                                 "targetMemoryUtilizationPercentage": 80}),
        ("database", lambda: {"type": "postgresql", "host": "postgres-rw.cnpg-core.svc.cluster.local", "port": 5432,
                              "name": app.name.replace("-", "_"), "user": app.name.replace("-", "_"),
                              "existingSecret": f"{app.name}-db", "existingSecretPasswordKey": "password",
                              "sslmode": "require"}),
        ("startupProbe", lambda: _probe(rng, "/healthz", 0) | {"failureThreshold": 30}),
        ("podDisruptionBudget", lambda: {"enabled": True, "minAvailable": 1}),
        ("worker", lambda: _component(app, rng, "worker", tier)),
        ("scheduler", lambda: _component(app, rng, "scheduler", tier)),
        ("extraVolumes", lambda: [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                                  {"name": "config", "configMap": {"name": f"{app.name}-config"}}]),
        ("extraVolumeMounts", lambda: [{"name": "tmp", "mountPath": "/tmp"},
                                       {"name": "config", "mountPath": "/etc/" + app.name, "readOnly": True}]),
        ("networkPolicy", lambda: {"enabled": False}),
        ("priorityClassName", lambda: rng.choice(("", "platform-critical", "app-default"))),
        ("updateStrategy", lambda: {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
        ("tolerations", lambda: []),
        ("affinity", lambda: {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": app.name}}}}]}}),
        ("config", lambda: {"logLevel": rng.choice(("info", "debug", "warn")), "logFormat": "json",
                            "timezone": "Europe/Berlin", "baseURL": f"https://{host}",
                            "smtp": {"host": "smtp.example.com", "port": 25, "from": f"{app.name}@example.com"},
                            "features": Flow(rng.sample(["sso", "audit", "webhooks", "api", "exports", "search",
                                                    "notifications", "backups"], rng.randint(2, 6)))}),
    ]


def _line_count(data: dict) -> int:
    out: list[str] = []
    _emit_map(data, 0, out)
    return len(out)


def values(app: App, seed: int) -> str:
    rng = app.rng(seed, "values")
    tier = OTHER_TIER[app.tier] if app.violation == "wrong-tier" else app.tier
    target = 60 + int(140 * rng.random() ** 5)  # most values files are short, a few long (mean ~83)
    replicas = rng.choice((1, 2, 3)) if app.layer == "apps" else rng.choice((1, 3))
    data: dict[str, Any] = {
        "nameOverride": "",
        "fullnameOverride": app.name,
        "image": {"registry": "registry.example.com", "repository": f"proxy/{app.image}", "tag": app.tag,
                  "pullPolicy": "IfNotPresent"},
        "imagePullSecrets": [{"name": "registry-pull-secret"}],
        "replicaCount": replicas,
    }
    if replicas > 1:
        data["topologySpreadConstraints"] = _spread(app)
    data["nodeSelector"] = {TIER_LABEL: tier}
    data["resources"] = _resources(rng)
    data["service"] = {"type": "ClusterIP", "port": app.port, "targetPort": "http",
                       "annotations": {}}
    data["livenessProbe"] = _probe(rng, "/healthz", rng.choice((10, 30, 60)))
    data["readinessProbe"] = _probe(rng, "/ready", rng.choice((5, 10)))
    data["env"] = [{"name": "TZ", "value": "Europe/Berlin"}, {"name": "LOG_FORMAT", "value": "json"}]
    if app.violation == "plaintext-password":
        data["auth"] = {"adminUser": "admin", "password": "hunter2"}
    lines = _line_count(data)
    sections = _optional_sections(app, rng, tier)
    rng.shuffle(sections)
    for key, build in sections:
        if lines >= target:
            break
        section = build()
        size = _line_count({key: section})
        if lines + size > 200:
            continue
        data[key] = section
        lines += size
    extra = 0
    while lines < 60 or lines + 2 <= min(target, 200) and extra < 40:
        data["env"].append({"name": f"{app.name.upper().replace('-', '_')}_SETTING_{extra}",
                            "value": str(rng.randint(0, 9999))})
        extra += 1
        lines += 2
    # Move env to the end so that the padding reads like a long env list, as real values files have.
    data["env"] = data.pop("env")
    header = f"# {app.chart} {app.version} values for {app.name} ({app.layer} layer, {app.tier} tier)\n"
    text = header + to_yaml(data)
    if app.violation == "duplicate-key":
        text += f"fullnameOverride: {app.name}\n"  # the same key again: the second silently wins
    return text


# --- the whole tree ------------------------------------------------------------------------------------

def files(n_apps: int, violations: float = 0.0, seed: int = 0) -> dict[str, str]:
    """Every file of the corpus: repository-relative path -> text."""
    out: dict[str, str] = {CONFIG_NAME: CONFIG, **ARGOCD_FILES}
    for i, (layer, wave, *_rest) in enumerate(LAYERS):
        out[f"argo/root-{layer}.yaml"] = root(layer, wave, i == 0)
    for app in plan(n_apps, violations, seed):
        out[f"argo/{app.layer}/{app.name}-app.yaml"] = application(app, seed)
        out[f"apps/helm/{app.name}/values.yaml"] = values(app, seed)
        base = f"apps/manifests/{app.name}"
        out[f"{base}/namespace.yaml"] = namespace(app)
        if app.violation != "missing-quota":
            out[f"{base}/quota.yaml"] = quota(app, seed)
        out[f"{base}/network-policy.yaml"] = network_policies(app)
    return out


def _objects(text: str) -> int:
    return sum(1 for doc in text.split("\n---\n") if re.search(r"^apiVersion: ", doc, re.M)
               and re.search(r"^kind: ", doc, re.M))


def generate(dest: Path, n_apps: int, violations: float = 0.0, seed: int = 0) -> dict:
    """Write the corpus to ``dest`` (absent or empty) and return its statistics.

    Returns ``{"apps", "files", "bytes", "objects", "layers": {layer: apps}, "violations": {kind:
    apps}, "violating_apps": {app: kind}}``; ``objects`` counts Kubernetes objects (documents with
    ``apiVersion`` and ``kind``), the number ``gitops-kit lint`` reports as ``summary.objects``.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    tree = files(n_apps, violations, seed)
    total = objects = 0
    made: set[Path] = set()
    for rel in sorted(tree):
        data = tree[rel].encode("utf-8")
        target = dest / rel
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        target.write_bytes(data)
        total += len(data)
        objects += _objects(tree[rel])
    apps = plan(n_apps, violations, seed)
    kinds: dict[str, int] = {}
    for app in apps:
        if app.violation:
            kinds[app.violation] = kinds.get(app.violation, 0) + 1
    return {
        "apps": n_apps,
        "files": len(tree),
        "bytes": total,
        "objects": objects,
        "layers": layer_counts(n_apps),
        "violations": dict(sorted(kinds.items())),
        "violating_apps": {a.name: a.violation for a in apps if a.violation},
    }
