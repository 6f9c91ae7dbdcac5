"""gitops-kit's own CRD schemas give the same verdict as the upstream CRDs.

The upstream CustomResourceDefinitions in ../shared/upstream/ are converted with the same
structural-schema converter that handles the CRDs users bring; our reduced schemas in
schemas/crds/ must accept and reject exactly the same documents: a corpus written here
(valid documents, and invalid ones covering typos, wrong types, missing required fields,
single and multi source) and ArgoCD's own annotated examples. Skipped when ../shared is absent.
"""

from __future__ import annotations

import tarfile
import textwrap
from functools import lru_cache

import pytest
import yaml

from gitops_kit import schemas_k8s
from helpers import SHARED

UPSTREAM = SHARED / "upstream"
pytestmark = pytest.mark.skipif(not UPSTREAM.is_dir(), reason="../shared/upstream is not available")

ARGO = "argoproj.io/v1alpha1"
CRDS = {
    ("argoproj.io/v1alpha1", "Application"): "argo-cd/application-crd.yaml",
    ("argoproj.io/v1alpha1", "ApplicationSet"): "argo-cd/applicationset-crd.yaml",
    ("argoproj.io/v1alpha1", "AppProject"): "argo-cd/appproject-crd.yaml",
    ("postgresql.cnpg.io/v1", "Cluster"): "cloudnative-pg/postgresql.cnpg.io_clusters.yaml",
    ("postgresql.cnpg.io/v1", "Database"): "cloudnative-pg/postgresql.cnpg.io_databases.yaml",
    ("k8s.mariadb.com/v1alpha1", "MariaDB"): "mariadb-operator/k8s.mariadb.com_mariadbs.yaml",
    ("k8s.mariadb.com/v1alpha1", "Database"): "mariadb-operator/k8s.mariadb.com_databases.yaml",
    ("k8s.mariadb.com/v1alpha1", "User"): "mariadb-operator/k8s.mariadb.com_users.yaml",
    ("k8s.mariadb.com/v1alpha1", "Grant"): "mariadb-operator/k8s.mariadb.com_grants.yaml",
    ("metallb.io/v1beta1", "IPAddressPool"): "metallb/metallb.io_ipaddresspools.yaml",
    ("metallb.io/v1beta1", "L2Advertisement"): "metallb/metallb.io_l2advertisements.yaml",
    # CRDs read from inside the chart archives the seed pins: (archive, member)
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): ("charts/cloudnative-pg/cloudnative-pg-0.23.0.tgz",
                                                   "cloudnative-pg/templates/crds/crds.yaml"),
    ("k8s.mariadb.com/v1alpha1", "Backup"): ("charts/mariadb-operator/mariadb-operator-0.36.0.tgz",
                                             "mariadb-operator/charts/mariadb-operator-crds/templates/crds.yaml"),
}


def _crd_text(source) -> str:
    """The text of a CRD file: a file in ../shared/upstream, or a member of a chart archive there
    (a Helm template whose `{{ }}` lines only wrap the documents: dropped)."""
    if isinstance(source, str):
        return (UPSTREAM / source).read_text(encoding="utf-8")
    archive, member = source
    if not (UPSTREAM / archive).is_file():
        pytest.skip(f"../shared/upstream/{archive} is not available")
    with tarfile.open(UPSTREAM / archive) as tar:
        text = tar.extractfile(member).read().decode("utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("{{"))


@lru_cache(maxsize=1)
def _sset() -> schemas_k8s.SchemaSet:
    return schemas_k8s.build_set("1.31", [])


@lru_cache(maxsize=None)
def _upstream(api: str, kind: str):
    """The upstream CRD's schema for (api, kind), converted and compiled."""
    group, version = api.split("/")
    for doc in yaml.safe_load_all(_crd_text(CRDS[(api, kind)])):
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        if doc["spec"]["group"] != group or doc["spec"]["names"]["kind"] != kind:
            continue
        for v in doc["spec"]["versions"]:
            if v["name"] == version:
                schema = schemas_k8s.convert_structural(v["schema"]["openAPIV3Schema"],
                                                        schema_id=f"{schemas_k8s.OUR_BASE}upstream/{api}/{kind}")
                return _sset().compile(schema)
    raise AssertionError(f"{api} {kind} not found in {CRDS[(api, kind)]}")


def _errors(validator, doc) -> set[tuple[str, str]]:
    return {(schemas_k8s.render_path(list(e.instance_path)), e.kind.__class__.__name__)
            for e in validator.iter_errors(schemas_k8s.to_json(doc))}


def _verdicts(doc: dict) -> tuple[bool, bool]:
    api, kind = doc["apiVersion"], doc["kind"]
    ours = _sset().validator(api, kind)
    assert ours is not None, f"gitops-kit has no schema for {api} {kind}"
    plain = schemas_k8s.to_json(doc)
    return _upstream(api, kind).is_valid(plain), ours.is_valid(plain)


# ----------------------------------------------------------------------------------------------
# ArgoCD Application

APP_HEAD = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd-system
"""


def _app(name: str, body: str) -> str:
    return APP_HEAD.format(name=name) + textwrap.dedent(body)


VALID_APPS = [
    _app("single-helm-chart", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: traefik-system}
          source:
            repoURL: https://traefik.github.io/charts
            chart: traefik
            targetRevision: 39.0.1
            helm:
              releaseName: traefik
              valueFiles: [values.yaml]
        """),
    _app("multi-source", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: filebrowser}
          sources:
            - repoURL: https://utkuozdemir.github.io/helm-charts
              chart: filebrowser
              targetRevision: 1.0.0
              helm:
                releaseName: filebrowser
                valueFiles: [$values/apps/helm/filebrowser/values.yaml]
            - repoURL: https://gitlab.example.com/platform/gitops.git
              targetRevision: master
              ref: values
            - repoURL: https://gitlab.example.com/platform/gitops.git
              targetRevision: master
              path: apps/manifests/filebrowser
              name: manifests
          syncPolicy:
            automated: {prune: true, selfHeal: true}
        """),
    _app("git-directory", """\
        spec:
          project: default
          destination: {name: in-cluster, namespace: kube-system}
          source:
            repoURL: https://gitlab.example.com/platform/gitops.git
            path: apps/manifests/volume-snapshot-crds
            targetRevision: master
            directory: {recurse: true, include: "*.yaml", exclude: "{skip/*}"}
        """),
    _app("kustomize-options", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: argocd-system}
          source:
            repoURL: https://gitlab.example.com/platform/gitops.git
            path: apps/manifests/argocd
            kustomize:
              namePrefix: p-
              images: [quay.io/argoproj/argocd:v2.13.2]
              commonLabels: {team: platform}
              replicas:
                - {name: argocd-server, count: 2}
                - {name: argocd-repo-server, count: "3"}
              patches:
                - target: {kind: Deployment, name: argocd-server}
                  patch: "- op: add\\n  path: /x\\n  value: 1"
                  options: {allowNameChange: true}
        """),
    _app("plugin-avp", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: registry-core}
          source:
            repoURL: https://gitlab.example.com/platform/gitops.git
            path: apps/helm/registry
            targetRevision: master
            plugin:
              name: avp-helm
              env: [{name: RELEASE, value: registry}]
              parameters:
                - {name: a, string: b}
                - {name: c, array: [d, e]}
                - {name: f, map: {g: h}}
        """),
    _app("helm-values-object", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: loki}
          source:
            repoURL: https://grafana.github.io/helm-charts
            chart: loki
            targetRevision: 6.0.0
            helm:
              valuesObject:
                anything: {goes: [1, 2, {here: true}]}
              parameters:
                - {name: image.tag, value: "1.0", forceString: true}
              skipCrds: false
              ignoreMissingValueFiles: true
        """),
    _app("retry-backoff", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: netbox}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          syncPolicy:
            automated: {prune: true, selfHeal: true, allowEmpty: false}
            syncOptions: [CreateNamespace=true, ServerSideApply=true]
            retry:
              limit: 5
              backoff: {duration: 5s, factor: 2, maxDuration: 3m}
        """),
    _app("ignore-differences", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: vault-core}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          ignoreDifferences:
            - group: admissionregistration.k8s.io
              kind: MutatingWebhookConfiguration
              jsonPointers: [/webhooks/0/clientConfig/caBundle]
            - kind: Secret
              jqPathExpressions: [.data.token]
              managedFieldsManagers: [kube-controller-manager]
        """),
    _app("info-and-history", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: awx}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          info:
            - {name: owner, value: platform-team}
          revisionHistoryLimit: 10
        """),
    _app("managed-namespace-metadata", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: ci-runner}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          syncPolicy:
            managedNamespaceMetadata:
              labels: {example.com/tier: worker}
              annotations: {owner: platform}
        """),
    _app("source-hydrator", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: asset-mgmt}
          sourceHydrator:
            drySource: {repoURL: https://gitlab.example.com/platform/gitops.git, path: dry, targetRevision: HEAD}
            syncSource: {targetBranch: env/prod, path: hydrated}
            hydrateTo: {targetBranch: env/prod-next}
        """),
    APP_HEAD.format(name="metadata-fields") + textwrap.dedent("""\
          finalizers: [resources-finalizer.argocd.argoproj.io]
          labels: {app.kubernetes.io/part-of: platform}
          annotations: {argocd.argoproj.io/sync-wave: "0"}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: promtail}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
        """),
    _app("null-optional-fields", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: valkey}
          source:
            repoURL: https://gitlab.example.com/platform/gitops.git
            path: x
            helm:
          syncPolicy:
        """),
    _app("empty-automated", """\
        spec:
          project: default
          destination: {}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          syncPolicy: {automated: {}}
        """),
    _app("jsonnet-directory", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: monitoring-core}
          source:
            repoURL: https://gitlab.example.com/platform/gitops.git
            path: jsonnet
            directory:
              jsonnet:
                extVars: [{name: cluster, value: prod, code: false}]
                tlas: [{name: replicas, value: "3", code: true}]
                libs: [vendor]
        """),
    _app("status-and-operation-ignored", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: object-store}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
        status:
          sync: {status: Synced}
        """),
]

INVALID_APPS = [
    _app("missing-destination", """\
        spec:
          project: default
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
        """),
    _app("missing-project", """\
        spec:
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
        """),
    _app("missing-spec", """\
        metadata2: {}
        """),
    _app("typo-sources", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          sourcse:
            - repoURL: https://gitlab.example.com/platform/gitops.git
        """),
    _app("typo-repourl", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoUrl: https://gitlab.example.com/platform/gitops.git, path: x}
        """),
    _app("multi-source-item-without-repourl", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          sources:
            - repoURL: https://gitlab.example.com/platform/gitops.git
              ref: values
            - chart: filebrowser
              targetRevision: 1.0.0
        """),
    _app("self-heal-string", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          syncPolicy: {automated: {prune: true, selfHeal: "true"}}
        """),
    _app("prune-integer", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          syncPolicy: {automated: {prune: 1}}
        """),
    _app("sync-options-string", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          syncPolicy: {syncOptions: CreateNamespace=true}
        """),
    _app("history-limit-string", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          revisionHistoryLimit: "10"
        """),
    _app("value-files-string", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source:
            repoURL: https://charts.example.com
            chart: x
            helm: {valueFiles: values.yaml}
        """),
    _app("helm-parameter-typo", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source:
            repoURL: https://charts.example.com
            chart: x
            helm:
              parameters: [{name: a, valeu: b}]
        """),
    _app("info-without-value", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          info: [{name: owner}]
        """),
    _app("ignore-differences-without-kind", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          ignoreDifferences: [{group: apps, jsonPointers: [/spec/replicas]}]
        """),
    APP_HEAD.format(name="metadata-typo") + textwrap.dedent("""\
          lables: {a: b}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
        """),
    _app("destination-null", """\
        spec:
          project: default
          destination:
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
        """),
    _app("spec-is-a-list", """\
        spec:
          - project: default
        """),
    _app("replica-count-list", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source:
            repoURL: https://gitlab.example.com/platform/gitops.git
            path: x
            kustomize: {replicas: [{name: a, count: [1]}]}
        """),
    _app("hydrator-without-sync-source", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          sourceHydrator:
            drySource: {repoURL: https://gitlab.example.com/platform/gitops.git, path: dry, targetRevision: HEAD}
        """),
    _app("hydrator-sync-path-dot", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          sourceHydrator:
            drySource: {repoURL: https://gitlab.example.com/platform/gitops.git, path: dry, targetRevision: HEAD}
            syncSource: {targetBranch: env/prod, path: "."}
        """),
    _app("automated-typo", """\
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: x}
          source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: x}
          syncPolicy: {automated: {prune: true, selfheal: true}}
        """),
]

# ----------------------------------------------------------------------------------------------
# ApplicationSet and AppProject

VALID_APPSETS = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: list-generator}
spec:
  goTemplate: true
  goTemplateOptions: [missingkey=error]
  generators:
    - list:
        elements:
          - {cluster: prod, url: https://kubernetes.default.svc}
  template:
    metadata: {name: "{{.cluster}}-guestbook"}
    spec:
      project: default
      source: {repoURL: https://gitlab.example.com/platform/gitops.git, path: guestbook}
      destination: {server: "{{.url}}", namespace: guestbook}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: git-directories-multi-source}
spec:
  generators:
    - git:
        repoURL: https://gitlab.example.com/platform/gitops.git
        revision: master
        directories: [{path: apps/manifests/*}, {path: apps/manifests/skip, exclude: true}]
  syncPolicy: {applicationsSync: create-update, preserveResourcesOnDeletion: true}
  template:
    metadata:
      name: "{{path.basename}}"
      labels: {layer: apps}
    spec:
      project: default
      sources:
        - {repoURL: https://gitlab.example.com/platform/gitops.git, targetRevision: master, ref: values}
        - {repoURL: https://gitlab.example.com/platform/gitops.git, path: "{{path}}"}
      destination: {server: https://kubernetes.default.svc, namespace: "{{path.basename}}"}
      syncPolicy: {automated: {prune: true, selfHeal: true}}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: matrix-clusters-git}
spec:
  generators:
    - matrix:
        generators:
          - clusters: {selector: {matchLabels: {env: prod}}}
          - git:
              repoURL: https://gitlab.example.com/platform/gitops.git
              revision: HEAD
              files: [{path: "config/*.json"}]
          - matrix: {anything: [goes, here]}
  template:
    metadata: {name: x}
    spec:
      project: default
      destination: {server: https://kubernetes.default.svc}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: merge-and-strategy}
spec:
  generators:
    - merge:
        mergeKeys: [server]
        generators:
          - clusters: {values: {kafka: "true"}}
          - list: {elements: [{server: https://1.2.3.4, values.redis: "true"}]}
  strategy:
    type: RollingSync
    rollingSync:
      steps:
        - matchExpressions: [{key: env, operator: In, values: [dev]}]
          maxUpdate: 25%
        - matchExpressions: [{key: env, operator: In, values: [prod]}]
          maxUpdate: 1
  template:
    metadata: {name: x}
    spec:
      project: default
      destination: {server: https://kubernetes.default.svc}
  templatePatch: |
    spec:
      syncPolicy: {}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: scm-and-pull-request}
spec:
  generators:
    - scmProvider:
        github: {organization: example, tokenRef: {secretName: gh, key: token}}
        filters: [{repositoryMatch: "^app-", pathsExist: [Chart.yaml]}]
    - pullRequest:
        gitlab: {project: "42", pullRequestState: opened}
        requeueAfterSeconds: 1800
    - plugin:
        configMapRef: {name: my-plugin}
        input: {parameters: {key: [1, 2], other: {a: b}}}
  template:
    metadata: {name: x}
    spec:
      project: default
      destination: {server: https://kubernetes.default.svc}
"""

INVALID_APPSETS = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: missing-template}
spec:
  generators: [{list: {elements: []}}]
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: empty-matrix-generators}
spec:
  generators:
    - matrix:
        generators:
  template:
    metadata: {name: x}
    spec: {project: default, destination: {server: https://kubernetes.default.svc}}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: git-without-revision}
spec:
  generators:
    - git: {repoURL: https://gitlab.example.com/platform/gitops.git, directories: [{path: "*"}]}
  template:
    metadata: {name: x}
    spec: {project: default, destination: {server: https://kubernetes.default.svc}}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: generator-typo}
spec:
  generators:
    - lists: {elements: []}
  template:
    metadata: {name: x}
    spec: {project: default, destination: {server: https://kubernetes.default.svc}}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: template-spec-without-project}
spec:
  generators: [{list: {elements: []}}]
  template:
    metadata: {name: x}
    spec: {destination: {server: https://kubernetes.default.svc}}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: applications-sync-enum}
spec:
  generators: [{list: {elements: []}}]
  syncPolicy: {applicationsSync: create-or-update}
  template:
    metadata: {name: x}
    spec: {project: default, destination: {server: https://kubernetes.default.svc}}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: template-source-typo}
spec:
  generators: [{list: {elements: []}}]
  template:
    metadata: {name: x}
    spec:
      project: default
      destination: {server: https://kubernetes.default.svc}
      source: {repoURL: https://gitlab.example.com/platform/gitops.git, revision: HEAD}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: merge-without-keys}
spec:
  generators:
    - merge: {generators: [{clusters: {}}]}
  template:
    metadata: {name: x}
    spec: {project: default, destination: {server: https://kubernetes.default.svc}}
"""

VALID_PROJECTS = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: platform}
spec:
  description: Platform services
  sourceRepos: ["https://gitlab.example.com/platform/gitops.git"]
  destinations: [{server: https://kubernetes.default.svc, namespace: "*-core"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
  namespaceResourceBlacklist: [{group: "", kind: ResourceQuota}]
  roles:
    - name: ci
      policies: ["p, proj:platform:ci, applications, sync, platform/*, allow"]
      groups: [platform-admins]
      jwtTokens: [{iat: 1700000000}]
  syncWindows:
    - {kind: allow, schedule: "10 1 * * *", duration: 1h, applications: ["*"], manualSync: true}
  orphanedResources: {warn: true, ignore: [{kind: ConfigMap, name: kube-root-ca.crt}]}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: empty-spec}
spec: {}
"""

INVALID_PROJECTS = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: source-repos-string}
spec: {sourceRepos: "*"}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: whitelist-without-kind}
spec: {clusterResourceWhitelist: [{group: "*"}]}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: role-without-name}
spec: {roles: [{policies: []}]}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: destination-typo}
spec: {destinations: [{sever: https://kubernetes.default.svc}]}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: description-too-long}
spec: {description: "%s"}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: missing-spec}
""" % ("x" * 256)

# ----------------------------------------------------------------------------------------------
# CloudNativePG, mariadb-operator, MetalLB

VALID_OPERATORS = """\
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: postgres, namespace: cnpg-core}
spec:
  instances: 3
  primaryUpdateStrategy: unsupervised
  storage: {size: 10Gi, storageClass: longhorn}
  affinity: {nodeSelector: {example.com/role: control}, enablePodAntiAffinity: true, podAntiAffinityType: required}
  bootstrap:
    initdb: {options: [--encoding=UTF8], postInitSQL: [CREATE ROLE harbor LOGIN]}
  managed:
    roles: [{name: harbor, ensure: present, login: true, passwordSecret: {name: postgres-harbor}}]
---
apiVersion: postgresql.cnpg.io/v1
kind: Database
metadata: {name: harbor, namespace: cnpg-core}
spec:
  name: harbor
  owner: harbor
  cluster: {name: postgres}
  databaseReclaimPolicy: retain
  extensions: [{name: pg_trgm, ensure: present}]
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: MariaDB
metadata: {name: mariadb, namespace: mariadb-core}
spec:
  replicas: 1
  rootPasswordSecretKeyRef: {name: mariadb-root, key: password, generate: true}
  storage: {size: 10Gi, storageClassName: local-path}
  myCnf: "[mariadb]\\nbind-address=*"
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Database
metadata: {name: snipeit, namespace: asset-mgmt}
spec:
  mariaDbRef: {name: mariadb, namespace: mariadb-core}
  characterSet: utf8mb4
  collate: utf8mb4_unicode_ci
  cleanupPolicy: Skip
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: User
metadata: {name: snipeit, namespace: asset-mgmt}
spec:
  mariaDbRef: {name: mariadb, namespace: mariadb-core}
  host: "%"
  passwordSecretKeyRef: {name: asset-mgmt-db, key: password}
  maxUserConnections: 50
  cleanupPolicy: Skip
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Grant
metadata: {name: snipeit-all, namespace: asset-mgmt}
spec:
  mariaDbRef: {name: mariadb, namespace: mariadb-core}
  privileges: [ALL PRIVILEGES]
  database: snipeit
  table: "*"
  username: snipeit
  grantOption: false
  cleanupPolicy: Skip
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: ingress-vip-pool, namespace: metallb-system}
spec:
  addresses: [192.0.2.50/32]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: ingress-l2, namespace: metallb-system}
spec:
  ipAddressPools: [ingress-vip-pool]
  nodeSelectors: [{matchLabels: {example.com/role: control}}]
---
apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: postgres-daily, namespace: cnpg-core}
spec:
  schedule: "0 0 2 * * *"
  immediate: true
  backupOwnerReference: self
  method: volumeSnapshot
  cluster: {name: postgres}
---
apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: postgres-object-store, namespace: cnpg-core}
spec:
  schedule: "0 30 3 * * 0"
  suspend: false
  method: barmanObjectStore
  target: prefer-standby
  online: true
  onlineConfiguration: {immediateCheckpoint: true, waitForArchive: false}
  cluster: {name: postgres}
---
apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: postgres-plugin, namespace: cnpg-core}
spec:
  schedule: "@daily"
  method: plugin
  pluginConfiguration: {name: barman-cloud.cloudnative-pg.io, parameters: {objectStore: minio}}
  cluster: {name: postgres}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Backup
metadata: {name: mariadb-daily, namespace: mariadb-core}
spec:
  mariaDbRef: {name: mariadb}
  schedule: {cron: "0 3 * * *"}
  maxRetention: 720h
  storage:
    persistentVolumeClaim:
      storageClassName: longhorn
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 20Gi}}
  nodeSelector: {example.com/role: control}
  resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 512Mi}}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Backup
metadata: {name: mariadb-s3, namespace: mariadb-core}
spec:
  mariaDbRef: {name: mariadb, namespace: mariadb-core, waitForIt: true}
  schedule: {cron: "@hourly", suspend: true}
  compression: gzip
  databases: [snipeit, netbox]
  ignoreGlobalPriv: false
  backoffLimit: 3
  restartPolicy: OnFailure
  timeZone: Europe/Paris
  storage:
    s3:
      bucket: backups
      endpoint: minio.object-store.svc:9000
      prefix: mariadb
      accessKeyIdSecretKeyRef: {name: minio-backup, key: access-key-id}
      secretAccessKeySecretKeyRef: {name: minio-backup, key: secret-access-key}
      tls: {enabled: true, caSecretKeyRef: {name: minio-ca, key: ca.crt}}
  stagingStorage:
    volume: {emptyDir: {sizeLimit: 1Gi}}
  tolerations: [{key: example.com/control, operator: Exists, effect: NoSchedule}]
  affinity: {antiAffinityEnabled: true}
"""

INVALID_OPERATORS = """\
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: cnpg-instances-string}
spec: {instances: "3", storage: {size: 10Gi}}
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: cnpg-storage-typo}
spec: {instances: 3, storage: {sise: 10Gi}}
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: cnpg-update-strategy-enum}
spec: {instances: 3, primaryUpdateStrategy: automatic}
---
apiVersion: postgresql.cnpg.io/v1
kind: Database
metadata: {name: cnpg-database-reclaim-enum}
spec: {name: a, owner: a, cluster: {name: postgres}, databaseReclaimPolicy: Retain}
---
apiVersion: postgresql.cnpg.io/v1
kind: Database
metadata: {name: cnpg-database-without-owner}
spec: {name: a, cluster: {name: postgres}}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Database
metadata: {name: mariadb-cleanup-lowercase}
spec: {mariaDbRef: {name: mariadb}, cleanupPolicy: skip}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Grant
metadata: {name: mariadb-grant-without-privileges}
spec: {mariaDbRef: {name: mariadb}, username: a}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: User
metadata: {name: mariadb-user-typo}
spec: {mariaDbRef: {name: mariadb}, passwordSecretRef: {name: a, key: b}}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: MariaDB
metadata: {name: mariadb-replicas-string}
spec: {replicas: "1"}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: metallb-pool-without-addresses}
spec: {autoAssign: true}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: metallb-l2-pools-string}
spec: {ipAddressPools: ingress-vip-pool}
---
apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: cnpg-scheduled-without-schedule}
spec: {cluster: {name: postgres}, method: volumeSnapshot}
---
apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: cnpg-scheduled-method-enum}
spec: {schedule: "0 0 2 * * *", cluster: {name: postgres}, method: VolumeSnapshot}
---
apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: cnpg-scheduled-immediate-string}
spec: {schedule: "0 0 2 * * *", cluster: {name: postgres}, immediate: "true"}
---
apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: cnpg-scheduled-owner-typo}
spec: {schedule: "0 0 2 * * *", cluster: {name: postgres}, backupOwnerRef: self}
---
apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: cnpg-scheduled-cluster-without-name}
spec: {schedule: "0 0 2 * * *", cluster: {}}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Backup
metadata: {name: mariadb-backup-without-storage}
spec: {mariaDbRef: {name: mariadb}, schedule: {cron: "0 3 * * *"}}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Backup
metadata: {name: mariadb-backup-schedule-string}
spec: {mariaDbRef: {name: mariadb}, schedule: "0 3 * * *", storage: {persistentVolumeClaim: {}}}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Backup
metadata: {name: mariadb-backup-storage-typo}
spec: {mariaDbRef: {name: mariadb}, storage: {persistentVolumeClaim: {storageClass: longhorn}}}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Backup
metadata: {name: mariadb-backup-s3-without-bucket}
spec:
  mariaDbRef: {name: mariadb}
  storage:
    s3: {endpoint: minio:9000, accessKeyIdSecretKeyRef: {key: a}, secretAccessKeySecretKeyRef: {key: b}}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Backup
metadata: {name: mariadb-backup-compression-enum}
spec: {mariaDbRef: {name: mariadb}, storage: {persistentVolumeClaim: {}}, compression: zstd}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Backup
metadata: {name: mariadb-backup-pvc-size-not-quantity}
spec:
  mariaDbRef: {name: mariadb}
  storage: {persistentVolumeClaim: {resources: {requests: {storage: twenty-gigs}}}}
"""


def _parse(text: str) -> list:
    return [pytest.param(d, id=d["metadata"]["name"]) for d in yaml.safe_load_all(text)]


@pytest.mark.parametrize("doc", [pytest.param(yaml.safe_load(t), id=yaml.safe_load(t)["metadata"]["name"])
                                 for t in VALID_APPS] + _parse(VALID_APPSETS) + _parse(VALID_PROJECTS)
                         + _parse(VALID_OPERATORS))
def test_valid_documents_are_valid_for_both(doc):
    assert _verdicts(doc) == (True, True)


@pytest.mark.parametrize("doc", [pytest.param(yaml.safe_load(t), id=yaml.safe_load(t)["metadata"]["name"])
                                 for t in INVALID_APPS] + _parse(INVALID_APPSETS) + _parse(INVALID_PROJECTS)
                         + _parse(INVALID_OPERATORS))
def test_invalid_documents_are_invalid_for_both(doc):
    assert _verdicts(doc) == (False, False)


def test_corpus_is_large_enough():
    assert len(VALID_APPS) >= 15 and len(INVALID_APPS) >= 15


# ----------------------------------------------------------------------------------------------
# ArgoCD's annotated examples

EXAMPLES = UPSTREAM / "argo-cd" / "examples"


@pytest.mark.parametrize("name,expected", [("application.yaml", True), ("project.yaml", True),
                                           ("applicationset.yaml", False)])
def test_argocd_examples(name, expected):
    doc = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    assert _verdicts(doc) == (expected, expected)
    api, kind = doc["apiVersion"], doc["kind"]
    # not only the verdict: the same violations, at the same paths
    assert _errors(_sset().validator(api, kind), doc) == _errors(_upstream(api, kind), doc)


def test_applicationset_example_is_rejected_for_its_empty_matrix_generators():
    doc = yaml.safe_load((EXAMPLES / "applicationset.yaml").read_text(encoding="utf-8"))
    errors = _errors(_sset().validator(ARGO, "ApplicationSet"), doc)
    empty = [path for path, kind in errors if path.endswith(".matrix.generators")]
    assert len(empty) == 1 and doc_path(doc, empty[0]) is None


def doc_path(doc, rendered: str):
    """The value at a rendered path such as spec.generators[6].matrix.generators."""
    import re

    node = doc
    for name, index in re.findall(r"\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]", rendered):
        node = node[int(index)] if index else node[name]
    return node
