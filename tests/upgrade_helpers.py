"""Shared setup of the check-update tests: two-commit git repositories (base commit,
head in the working tree or a second commit) and a per-module chart cache."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def write(root: Path, files: dict[str, str | None]) -> None:
    for rel, text in files.items():
        target = root / rel
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def two_commits(root: Path, before: dict[str, str | None], after: dict[str, str | None]) -> Path:
    """``root`` (already holding files) with ``before`` written and committed, then ``after`` committed."""
    write(root, before)
    git(root, "init", "-q", "-b", "master")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    write(root, after)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "head")
    return root


def check_json(root: Path, capsys, *extra: str) -> tuple[int, dict]:
    from gitops_kit.cli import main

    code = main(["check-update", str(root), "--base", "HEAD~1", "--format", "json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def app_of(doc: dict, name: str) -> dict:
    found = [a for a in doc["apps"] if a["app"] == name]
    assert found, [a["app"] for a in doc["apps"]]
    return found[0]


def rules(app: dict) -> list[str]:
    return [r["rule"] for r in app["risks"]]


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """A chart cache for the module (XDG_CACHE_HOME), restored afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
        yield mp


# --- a stub of GitLab's notes API on 127.0.0.1 ------------------------------------------------------

class _Stub(http.server.BaseHTTPRequestHandler):
    calls: list
    notes: dict
    status: int

    def log_message(self, format, *args):
        pass

    def _answer(self, code: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.calls.append({"method": self.command, "path": self.path, "token": self.headers.get("PRIVATE-TOKEN"),
                           "body": body})
        return body

    def do_GET(self):
        self._record()
        if self.status != 200:
            return self._answer(self.status, {"message": "401 Unauthorized"})
        page = re.search(r"[?&]page=(\d+)", self.path)
        notes = [{"id": i, "body": b} for i, b in sorted(self.notes.items())] if page and page.group(1) == "1" else []
        self._answer(200, notes)

    def do_POST(self):
        body = self._record()
        note_id = 100 + len(self.notes)
        self.notes[note_id] = body["body"]
        self._answer(201, {"id": note_id, "body": body["body"]})

    def do_PUT(self):
        body = self._record()
        note_id = int(self.path.rsplit("/", 1)[-1])
        self.notes[note_id] = body["body"]
        self._answer(200, {"id": note_id, "body": body["body"]})


@contextlib.contextmanager
def gitlab_stub() -> Iterator[tuple[type, str]]:
    """A stub GitLab API recording every call (``handler.calls``) and holding the notes of one merge
    request (``handler.notes``, an unrelated one to start with); yields (handler, CI_API_V4_URL)."""
    handler = type("Handler", (_Stub,), {"calls": [], "notes": {7: "an unrelated comment"}, "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()


# --- the check-update repositories: one chart app (web) and a plain-manifest app (db) ---------------------

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd-system
spec:
  destination: {{server: https://kubernetes.default.svc, namespace: {name}}}
  sources:
    - repoURL: https://charts.example.com
      chart: {chart}
      targetRevision: {version}
      helm:
        valueFiles: [$values/apps/helm/{name}/values.yaml]
    - repoURL: https://gitlab.example.com/platform/gitops.git
      targetRevision: master
      ref: values
  syncPolicy:
    automated: {{prune: true, selfHeal: true}}
"""


# A minimal repository about versions: the bundle rules (quotas, policies, tiers, schemas) have
# their own tests, and would only make these fixtures long.
CONFIG = """repo: {url: https://gitlab.example.com/platform/gitops.git}
rules:
  network-policy: {enabled: false}
  resource-quota: {enabled: false}
  node-tier: {enabled: false}
  schema: {enabled: false}
  layout: {enabled: false}
  app-health-check: {enabled: false}
"""


def write_file(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text)


def commit(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        write_file(repo, rel, text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "update")


DIR_APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: db, namespace: argocd-system}
spec:
  destination: {server: https://kubernetes.default.svc, namespace: db}
  source: {repoURL: https://gitlab.example.com/platform/gitops.git, targetRevision: master, path: apps/manifests/db}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
"""

STS = """apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: db}}
spec:
  serviceName: {service}
  replicas: {replicas}
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers:
        - {{name: db, image: "postgres:{tag}"}}
  volumeClaimTemplates:
    - metadata: {{name: data}}
      spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: {size}}}}}}}
  persistentVolumeClaimRetentionPolicy: {{whenDeleted: {when}}}
"""
PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: backups
  namespace: db
  annotations: {annotations}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: {size}}}}}}}
"""
MARIADB_DB = """apiVersion: k8s.mariadb.com/v1alpha1
kind: Database
metadata: {{name: app, namespace: db}}
spec: {{mariaDbRef: {{name: mariadb}}, cleanupPolicy: {policy}}}
"""
WIDGET = """apiVersion: example.com/{version}
kind: Widget
metadata: {{name: w, namespace: db}}
spec: {{size: 1}}
"""
DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: db}}
spec:
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec: {{containers: [{{name: web, image: nginx:1.27.0, env: [{{name: MODE, value: {mode}}}]}}]}}
"""
SECRET = """apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: db}}
stringData: {{password: {password}, user: app}}
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: db}\ndata: {a: '1'}\n"

# the Secret below is a fixture for masking, not a finding of the lint of the changed app
RISK_CONFIG = CONFIG + "  plaintext-secret: {enabled: false}\n"
DEFAULTS = {"service": "db", "replicas": 1, "tag": "16.4", "size": "1Gi", "when": "Retain"}


def manifests(**overrides) -> dict[str, str | None]:
    v = {**DEFAULTS, **overrides}
    return {
        "apps/manifests/db/sts.yaml": STS.format(**{k: v[k] for k in ("service", "replicas", "tag", "size", "when")}),
        "apps/manifests/db/pvc.yaml": PVC.format(annotations=v.get("pvc_annotations", "{helm.sh/resource-policy: keep}"),
                                                 size=v.get("pvc_size", "5Gi")),
        "apps/manifests/db/database.yaml": MARIADB_DB.format(policy=v.get("policy", "Skip")),
        "apps/manifests/db/widget.yaml": WIDGET.format(version=v.get("widget", "v1")),
        "apps/manifests/db/deploy.yaml": DEPLOY.format(app=v.get("app", "web"), mode=v.get("mode", "a")),
        "apps/manifests/db/secret.yaml": SECRET.format(password=v.get("password", "Old-Pa55word-x1")),
        "apps/manifests/db/configmap.yaml": CONFIGMAP,
    }


def dir_repo(tmp_path: Path, after: dict[str, str | None]) -> Path:
    root = tmp_path / "platform"
    root.mkdir()
    before = {".gitops-kit.yaml": RISK_CONFIG, "argo/apps/db-app.yaml": DIR_APP, **manifests()}
    return two_commits(root, before, after)
