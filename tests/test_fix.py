"""lint --fix: comment-preserving, verified, idempotent, respectful of suppressions."""

from __future__ import annotations

from pathlib import Path

from gitops_kit import yamlio
from gitops_kit.cli import main

APP = """# Application for demo: keep this comment
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: demo   # the name
  namespace: argocd-system
spec:
  sources:
    - repoURL: 'https://charts.example.com'  # quoted on purpose
      chart: demo
  syncPolicy:
    automated:
      prune: false  # was off
"""


def make(tmp_path: Path, text: str = APP) -> Path:
    (tmp_path / "argo" / "apps").mkdir(parents=True)
    path = tmp_path / "argo" / "apps" / "demo-app.yaml"
    path.write_text(text)
    return path


def test_fix_sets_prune_and_self_heal_keeping_comments(tmp_path, capsys):
    path = make(tmp_path)
    code = main(["lint", str(tmp_path), "--select", "automated-sync", "--fix"])
    assert code == 0, capsys.readouterr()
    text = path.read_text()
    assert "# Application for demo: keep this comment\n" in text
    assert "name: demo   # the name" in text
    assert "repoURL: 'https://charts.example.com'  # quoted on purpose" in text
    data = yamlio.load_text(text).documents[0].data
    assert data["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    # idempotent: a second run changes nothing
    before = path.read_bytes()
    assert main(["lint", str(tmp_path), "--select", "automated-sync", "--fix"]) == 0
    assert path.read_bytes() == before


def test_diff_writes_nothing(tmp_path, capsys):
    path = make(tmp_path)
    before = path.read_bytes()
    code = main(["lint", str(tmp_path), "--select", "automated-sync", "--fix", "--diff"])
    out = capsys.readouterr().out
    assert code == 1 and "+      prune: true" in out and "+      selfHeal: true" in out
    assert path.read_bytes() == before


def test_suppressed_findings_are_not_fixed(tmp_path):
    text = APP.replace("      prune: false  # was off",
                       '      # gitops-kit: disable=automated-sync reason="first cutover"\n      prune: false\n'
                       '      selfHeal: true')
    path = make(tmp_path, text)
    main(["lint", str(tmp_path), "--select", "automated-sync", "--fix"])
    assert path.read_text() == text


def test_fix_creates_missing_sync_policy(tmp_path):
    text = APP.split("  syncPolicy:")[0]
    path = make(tmp_path, text)
    assert main(["lint", str(tmp_path), "--select", "automated-sync", "--fix"]) == 0
    data = yamlio.load_text(path.read_text()).documents[0].data
    assert data["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert path.read_text().startswith(text)  # everything before stays byte-identical


def test_multi_document_file_edits_only_its_document(tmp_path):
    other = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}  # flow style kept\ndata:\n  a: '1'\n"
    path = make(tmp_path, APP + other)
    main(["lint", str(tmp_path), "--select", "automated-sync", "--fix"])
    assert path.read_text().endswith(other.lstrip("-\n").split("apiVersion")[0] + other.split("---\n", 1)[1])
