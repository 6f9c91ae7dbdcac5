"""A one-Application repository for the command-line tests (no tests here)."""

from __future__ import annotations

from pathlib import Path

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: demo
  namespace: argocd-system
spec:
  syncPolicy:
    automated:
      prune: true
      selfHeal: {self_heal}
"""


def make_repo(root: Path, self_heal: str = "true") -> Path:
    (root / "argo" / "apps").mkdir(parents=True)
    (root / "argo" / "apps" / "demo-app.yaml").write_text(APP.format(self_heal=self_heal))
    return root
