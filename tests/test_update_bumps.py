"""check-update finds every bump Renovate makes in this layout: remote kustomize resources,
kustomize images, images in inline patches (an ArgoCD self-upgrade), digests, pre-commit pins and
git tags of sources of other repositories (issue 18)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gitops_kit import config, model, update

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

ARGOCD = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - namespace.yaml
  - https://raw.githubusercontent.com/argoproj/argo-cd/{version}/manifests/ha/install.yaml
  - github.com/kubernetes-csi/external-snapshotter/client/config/crd?ref={snap}
images:
  - name: ghcr.io/dexidp/dex
    newTag: {dex}
patches:
  - target:
      kind: Deployment
      name: argocd-repo-server
    patch: |-
      - op: add
        path: /spec/template/spec/containers/-
        value:
          name: avp-helm
          image: quay.io/argoproj/argocd:{version}
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: web}}
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27.3@sha256:{digest}
"""

SOURCE_APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: podinfo, namespace: argocd-system}}
spec:
  destination: {{server: https://kubernetes.default.svc, namespace: podinfo}}
  source:
    repoURL: https://github.com/stefanprodan/podinfo.git
    path: kustomize
    targetRevision: {tag}
"""

PRECOMMIT = """repos:
  - repo: https://gitlab.example.com/platform/gitops-kit.git
    rev: {rev}
    hooks: [{{id: gitops-kit-lint}}]
"""


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _changes(tmp_path: Path, before: dict[str, str], after: dict[str, str]) -> dict[tuple[str, str], update.Change]:
    root = tmp_path / "platform"
    root.mkdir()
    _git(root, "init", "-q", "-b", "master")
    _write(root, {".gitops-kit.yaml": "repo: {url: https://gitlab.example.com/platform/gitops.git}\n", **before})
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    base = _git(root, "rev-parse", "HEAD").strip()
    _write(root, after)
    built = model.build(root, config.load(root))
    return {(c.kind, c.name): c for c in update.find_changes(root, base, built)}


def test_an_argocd_self_upgrade_is_three_bumps(tmp_path):
    rel = "apps/manifests/argocd/kustomization.yaml"
    old = ARGOCD.format(version="v2.13.2", snap="v8.1.0", dex="v2.41.1")
    new = ARGOCD.format(version="v2.14.1", snap="v8.2.0", dex="v2.41.1")
    changes = _changes(tmp_path, {rel: old}, {rel: new})
    install = changes[("remote-resource",
                       "https://raw.githubusercontent.com/argoproj/argo-cd/{version}/manifests/ha/install.yaml")]
    assert (install.old, install.new, install.bump, install.line) == ("v2.13.2", "v2.14.1", "minor", 5)
    crd = changes[("remote-resource", "github.com/kubernetes-csi/external-snapshotter/client/config/crd?ref={version}")]
    assert (crd.old, crd.new, crd.bump) == ("v8.1.0", "v8.2.0", "minor")
    image = changes[("image", "quay.io/argoproj/argocd")]
    assert (image.old, image.new, image.bump, image.line) == ("v2.13.2", "v2.14.1", "minor", 19)
    assert ("image", "ghcr.io/dexidp/dex") not in changes  # unchanged: not reported


def test_a_kustomize_images_bump(tmp_path):
    rel = "apps/manifests/argocd/kustomization.yaml"
    changes = _changes(tmp_path, {rel: ARGOCD.format(version="v2.13.2", snap="v8.1.0", dex="v2.41.1")},
                       {rel: ARGOCD.format(version="v2.13.2", snap="v8.1.0", dex="v2.42.0")})
    assert list(changes) == [("image", "ghcr.io/dexidp/dex")]
    assert changes[("image", "ghcr.io/dexidp/dex")].bump == "minor"


def test_a_digest_only_image_change_is_a_digest_bump(tmp_path):
    rel = "apps/manifests/web/deployment.yaml"
    changes = _changes(tmp_path, {rel: DEPLOYMENT.format(digest="a" * 64)}, {rel: DEPLOYMENT.format(digest="b" * 64)})
    change = changes[("image", "nginx")]
    assert change.bump == "digest" and change.old.startswith("1.27.3@sha256:aaaa")


def test_a_digest_in_values_next_to_the_tag(tmp_path):
    rel = "apps/helm/web/values.yaml"
    text = "image:\n  repository: nginx\n  tag: 1.27.3\n  digest: sha256:{}\n"
    changes = _changes(tmp_path, {rel: text.format("a" * 64)}, {rel: text.format("c" * 64)})
    assert changes[("image", "nginx")].bump == "digest"


def test_a_git_tag_of_another_repository_and_a_pre_commit_pin(tmp_path):
    changes = _changes(tmp_path,
                       {"argo/apps/podinfo-app.yaml": SOURCE_APP.format(tag="6.7.0"),
                        ".pre-commit-config.yaml": PRECOMMIT.format(rev="v0.1.0")},
                       {"argo/apps/podinfo-app.yaml": SOURCE_APP.format(tag="6.7.1"),
                        ".pre-commit-config.yaml": PRECOMMIT.format(rev="v0.2.0")})
    source = changes[("source", "podinfo:https://github.com/stefanprodan/podinfo.git:kustomize")]
    assert (source.old, source.new, source.bump, source.app) == ("6.7.0", "6.7.1", "patch", "podinfo")
    pin = changes[("pre-commit", "https://gitlab.example.com/platform/gitops-kit.git")]
    assert (pin.old, pin.new, pin.bump) == ("v0.1.0", "v0.2.0", "minor")


def test_a_branch_of_another_repository_is_not_a_version(tmp_path):
    changes = _changes(tmp_path, {"argo/apps/podinfo-app.yaml": SOURCE_APP.format(tag="master")},
                       {"argo/apps/podinfo-app.yaml": SOURCE_APP.format(tag="main")})
    assert not [c for c in changes.values() if c.kind == "source"]


@pytest.mark.parametrize("old,new,kind", [
    ("1.2.3@sha256:" + "a" * 64, "1.2.3@sha256:" + "b" * 64, "digest"),
    ("1.2.3@sha256:" + "a" * 64, "1.3.0@sha256:" + "b" * 64, "minor"),
    ("@sha256:" + "a" * 64, "@sha256:" + "b" * 64, "digest"),
    ("1.2.3", "1.2.3@sha256:" + "b" * 64, "digest"),
])
def test_bump_kinds_with_digests(old, new, kind):
    assert update.bump_kind(old, new) == kind
