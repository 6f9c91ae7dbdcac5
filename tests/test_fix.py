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
    # prune: false is written out: setting it is an unsafe fix (issue 15 item 11)
    code = main(["lint", str(tmp_path), "--select", "automated-sync", "--fix", "--unsafe-fixes"])
    assert code == 0, capsys.readouterr()
    text = path.read_text()
    assert "# Application for demo: keep this comment\n" in text
    assert "name: demo   # the name" in text
    assert "repoURL: 'https://charts.example.com'  # quoted on purpose" in text
    data = yamlio.load_text(text).documents[0].data
    assert data["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    # idempotent: a second run changes nothing
    before = path.read_bytes()
    assert main(["lint", str(tmp_path), "--select", "automated-sync", "--fix", "--unsafe-fixes"]) == 0
    assert path.read_bytes() == before


def test_diff_writes_nothing(tmp_path, capsys):
    path = make(tmp_path)
    before = path.read_bytes()
    code = main(["lint", str(tmp_path), "--select", "automated-sync", "--fix", "--diff", "--unsafe-fixes"])
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


# --- fixes on the reference: waves, retain policies, missing policies and quotas --------------

from helpers import overlay, reference_copy, run_lint


def test_fix_quotes_an_unquoted_wave_and_sets_cleanup_policy(tmp_path):
    root = reference_copy(tmp_path / "repo")
    app = root / "argo" / "platform" / "vault-ha-app.yaml"
    app.write_text(app.read_text().replace('sync-wave: "1"', "sync-wave: 1"))
    db = root / "apps" / "manifests" / "asset-mgmt" / "mariadb-database.yaml"
    db.write_text(db.read_text().replace("  cleanupPolicy: Skip", "  cleanupPolicy: Delete"))
    # an integer annotation is also a schema error: Kubernetes takes only string annotations
    assert {f.rule for f in run_lint(root).findings} == {"sync-wave", "retain-policy", "schema"}
    assert main(["lint", str(root), "--fix"]) == 0
    assert 'sync-wave: "1"' in app.read_text() and "  cleanupPolicy: Delete" not in db.read_text()
    assert db.read_text().startswith("# The Snipe-IT schema and account")  # comments kept
    assert run_lint(root).findings == []


def test_fix_adds_missing_network_policy_and_quota_from_the_blueprint(tmp_path):
    root = reference_copy(tmp_path / "repo")
    overlay(root, {"apps/manifests/netbox/network-policy.yaml": None, "apps/manifests/netbox/quota.yaml": None})
    assert {f.rule for f in run_lint(root).findings} == {"network-policy", "resource-quota"}
    reference = REFERENCE_FILES()
    assert main(["lint", str(root), "--fix"]) == 0
    for name in ("network-policy.yaml", "quota.yaml"):
        assert (root / "apps/manifests/netbox" / name).read_bytes() == reference[f"apps/manifests/netbox/{name}"]
    assert run_lint(root).findings == []


def test_fix_does_not_touch_an_existing_policy_file(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    path = root / "apps/manifests/netbox/network-policy.yaml"
    docs = path.read_text().split("---\n")
    kept = "---\n".join(d for d in docs if "allow-dns-egress" not in d)
    path.write_text(kept)
    assert main(["lint", str(root), "--fix"]) == 1
    assert "exists: add the missing object to it by hand" in capsys.readouterr().err
    assert path.read_text() == kept


def REFERENCE_FILES() -> dict[str, bytes]:
    from helpers import REFERENCE

    return {p.relative_to(REFERENCE).as_posix(): p.read_bytes() for p in REFERENCE.rglob("*") if p.is_file()}
