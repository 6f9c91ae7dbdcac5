"""Canary secrets: plant fake credentials of every kind the plaintext-secret rule knows, lint through
the CLI in every output format, and assert that each one is found and none is ever printed, not
even a prefix. All values are fake and only shaped like the real formats."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gitops_kit.cli import FORMATS, main
from helpers import overlay, reference_copy


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Each canary: the secret text that must never be printed.
LITERAL_VALUES = "CanaryPw0-values-7Qx"
LITERAL_URL = "CanaryPw1-url-8Rz"
LITERAL_STRINGDATA = "CanaryPw2-stringdata-9Sy"
LITERAL_DATA = "CanaryPw3-data-1Tw"
LITERAL_INLINE = "CanaryPw4-inline-2Uv"
LITERAL_OBJECT = "CanaryPw5-object-3Vt"
LITERAL_PARAM = "CanaryPw6-param-4Ws"
LITERAL_GENERATOR = "CanaryPw7-generator-5Xr"
LITERAL_ENV = "CanaryPw8-env-6Yq"
AWS = "AKIACANARYFAKE000001"
AWS_STS = "ASIACANARYFAKE000002"
GITHUB = "ghp_CANARYcanaryCANARYcanaryCANARYcan001"
GITHUB_IN_DATA = "ghs_CANARYcanaryCANARYcanaryCANARYcan002"
GITHUB_PAT = "github_pat_11CANARY0000_canarycanarycanary"
GITLAB = "glpat-CANARYcanaryCANARY01"
SLACK = "xoxb-000000000000-CANARYcanary"
VAULT = "hvs.CANARYcanaryCANARYcanary0001"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnktdXNlciJ9.Q0FOQVJZc2lnbmF0dXJl"
PEM_BODY = "Q0FOQVJZLWZha2Uta2V5LWJvZHktMDAwMQ"

SECRETS = [LITERAL_VALUES, LITERAL_URL, LITERAL_STRINGDATA, LITERAL_DATA, LITERAL_INLINE, LITERAL_OBJECT,
           LITERAL_PARAM, LITERAL_GENERATOR, LITERAL_ENV, AWS, AWS_STS, GITHUB, GITHUB_IN_DATA, GITHUB_PAT, GITLAB,
           SLACK, VAULT, JWT, PEM_BODY, _b64(LITERAL_DATA), _b64(GITHUB_IN_DATA)]

VALUES = f"""nodeSelector:
  example.com/role: worker
config:
  port: 80
  adminPassword: {LITERAL_VALUES}
  databaseUrl: postgres://filebrowser:{LITERAL_URL}@postgres-rw.cnpg-core.svc:5432/fb
  awsKeyId: {AWS}
  stsKeyId: {AWS_STS}
  tokens:
    - {GITHUB}
    - {GITHUB_PAT}
  gitlab: {GITLAB}
  slack: {SLACK}
  vault: {VAULT}
"""

MANIFESTS = f"""apiVersion: v1
kind: Secret
metadata:
  name: filebrowser-canary
  namespace: filebrowser
type: Opaque
stringData:
  password: {LITERAL_STRINGDATA}
data:
  db-password: {_b64(LITERAL_DATA)}
  token: {_b64(GITHUB_IN_DATA)}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: filebrowser-canary
  namespace: filebrowser
data:
  session: {JWT}
  key.pem: |
    -----BEGIN RSA PRIVATE KEY-----
    {PEM_BODY}
    -----END RSA PRIVATE KEY-----
"""

KUSTOMIZATION = f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - namespace.yaml
  - network-policy.yaml
  - quota.yaml
  - limit-range.yaml
  - ingress-route.yaml
  - canary.yaml
secretGenerator:
  - name: filebrowser-generated
    literals:
      - ADMIN_PASSWORD={LITERAL_GENERATOR}
"""

APP = f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: filebrowser
  namespace: argocd-system
  annotations:
    argocd.argoproj.io/sync-wave: "0"
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: filebrowser
  sources:
    - repoURL: https://utkuozdemir.github.io/helm-charts
      chart: filebrowser
      targetRevision: 1.0.0
      helm:
        releaseName: filebrowser
        valueFiles:
          - $values/apps/helm/filebrowser/values.yaml
        values: |
          config:
            adminPassword: {LITERAL_INLINE}
          extraEnv:
            - name: FB_PASSWORD
              value: {LITERAL_ENV}
        parameters:
          - name: config.smtpPassword
            value: {LITERAL_PARAM}
        valuesObject:
          config:
            dbPassword: {LITERAL_OBJECT}
    - repoURL: https://gitlab.example.com/platform/gitops.git
      targetRevision: master
      ref: values
    - repoURL: https://gitlab.example.com/platform/gitops.git
      targetRevision: master
      path: apps/manifests/filebrowser
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
"""

FILES = {
    "apps/helm/filebrowser/values.yaml": VALUES,
    "apps/manifests/filebrowser/canary.yaml": MANIFESTS,
    "apps/manifests/filebrowser/kustomization.yaml": KUSTOMIZATION,
    "argo/apps/filebrowser-app.yaml": APP,
}


def _line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def _expected() -> set[tuple[str, int]]:
    """(path, line) of every planted canary: each must be reported."""
    out = set()
    for path, text in FILES.items():
        for secret in SECRETS + ["-----BEGIN RSA PRIVATE KEY-----"]:
            if secret in text and secret != PEM_BODY:
                out.add((path, _line_of(text, secret)))
    return out


def _fragments(secret: str) -> list[str]:
    """The secret, its first and last 8 characters, and its middle: none may be printed."""
    mid = len(secret) // 2
    return [secret, secret[:8], secret[-8:], secret[mid - 4:mid + 4]]


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    root = reference_copy(tmp_path_factory.mktemp("canary") / "repo")
    overlay(root, FILES)
    return root


def _lint(root: Path, fmt: str, capsys) -> str:
    code = main(["lint", str(root), "--format", fmt])
    out = capsys.readouterr()
    assert code == 1, out.err
    return out.out + out.err


def test_every_canary_is_reported(planted, capsys):
    data = json.loads(_lint(planted, "json", capsys))
    findings = data["findings"] if isinstance(data, dict) else data
    found = {(f["path"], f["line"]) for f in findings if f["rule"] == "plaintext-secret"}
    missing = _expected() - found
    assert not missing, f"canaries not reported: {sorted(missing)}"


@pytest.mark.parametrize("fmt", ["text", "json"] + [f for f in FORMATS if f not in ("text", "json")])
def test_no_canary_is_printed(planted, capsys, fmt):
    output = _lint(planted, fmt, capsys)
    assert "plaintext-secret" in output or fmt == "junit" and "plaintext" in output.lower()
    for secret in SECRETS:
        for fragment in _fragments(secret):
            assert fragment not in output, f"{fmt} output shows part of a planted secret ({fragment[:3]}...)"


def test_messages_name_key_and_kind_but_mask_the_value(planted, capsys):
    data = json.loads(_lint(planted, "json", capsys))
    findings = data["findings"] if isinstance(data, dict) else data
    messages = [f["message"] for f in findings if f["rule"] == "plaintext-secret"]
    joined = "\n".join(messages)
    for label in ("adminPassword", "GitHub token", "AWS access key id", "GitLab token", "Slack token", "Vault token",
                  "JWT", "PEM private key", "connection string with a password", "ADMIN_PASSWORD", "FB_PASSWORD"):
        assert label in joined, label
    assert all("***" in m for m in messages)
