"""Issue 15 ("Everyday use"): pre-commit reports what a commit breaks elsewhere (item 3), findings
that follow from another are shown under their cause (item 6), and --fix is safe by default,
says what it did and previews as a diff git applies (item 11)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gitops_kit import engine
from gitops_kit.cli import main
from helpers import PROJECT, overlay, reference_copy, run_lint

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=120,
                          env={**os.environ, **GIT_ENV, "HOME": str(cwd)})


def _committed_reference(tmp_path: Path) -> Path:
    root = reference_copy(tmp_path / "repo")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    return root


def _hook_entry() -> list[str]:
    """The shipped hook's command line, with this environment's console script."""
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "gitops-kit-lint")
    entry = hook["entry"].split()
    assert entry[0] == "gitops-kit"
    return [str(Path(sys.executable).parent / "gitops-kit"), *entry[1:]]


def _run_hook(root: Path, files: list[str]) -> subprocess.CompletedProcess:
    """Run the hook as pre-commit does: from the repository top, with the staged files' names."""
    env = {**os.environ, **GIT_ENV, "HOME": str(root), "PRE_COMMIT": "1"}
    env.pop("CI", None)
    return subprocess.run([*_hook_entry(), *files], cwd=root, capture_output=True, text=True, env=env, timeout=300)


# --- item 3: pre-commit reports what the staged change breaks, wherever it lands ------------------

def test_the_hook_always_runs_so_that_a_deletion_is_judged():
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "gitops-kit-lint")
    assert hook["always_run"] is True and "--staged" in hook["entry"].split()


@needs_git
def test_staged_wave_change_reports_the_broken_order_in_the_other_file(tmp_path):
    root = _committed_reference(tmp_path)
    transit = "argo/platform/vault-transit-app.yaml"
    (root / transit).write_text((root / transit).read_text().replace('sync-wave: "0"', 'sync-wave: "1"'))
    _git(root, "add", transit)  # only vault-transit's file is staged

    done = _run_hook(root, [transit])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "argo/platform/vault-ha-app.yaml:7:" in done.stdout
    assert "error [sync-wave] Application 'vault-ha' has sync-wave 1, not after 'vault-transit'" in done.stdout
    # the library's focused run says the same, and names the dependency's file as related
    found = [f for f in run_lint(root / transit).findings if f.rule == "sync-wave"]
    assert [f.path for f in found] == ["argo/platform/vault-ha-app.yaml"]
    assert [loc.path for loc in found[0].related] == [transit]


@needs_git
def test_staged_deletion_of_a_network_policy_fails_the_hook(tmp_path):
    root = reference_copy(tmp_path / "repo")
    awx = root / "argo/apps/awx-app.yaml"  # an older finding elsewhere: not this commit's doing
    awx.write_text(awx.read_text().replace("selfHeal: true", "selfHeal: false"))
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    _git(root, "rm", "-q", "apps/manifests/netbox/network-policy.yaml")

    done = _run_hook(root, [])  # pre-commit passes no file for a commit that only deletes
    assert done.returncode == 1, done.stdout + done.stderr
    assert "awx" not in done.stdout
    lines = [line for line in done.stdout.splitlines() if "[network-policy]" in line]
    assert len(lines) == 3 and all(line.startswith("argo/apps/netbox-app.yaml:") for line in lines)
    assert "has no default-deny ingress NetworkPolicy" in done.stdout


@needs_git
def test_hook_with_nothing_staged_passes_quietly_and_a_clean_change_passes(tmp_path):
    root = _committed_reference(tmp_path)
    done = _run_hook(root, [])
    assert (done.returncode, done.stdout) == (0, "")
    netbox = "argo/apps/netbox-app.yaml"
    (root / netbox).write_text((root / netbox).read_text() + "# a comment\n")
    _git(root, "add", netbox)
    done = _run_hook(root, [netbox])
    assert done.returncode == 0, done.stdout
    assert "0 error(s)" in done.stdout


def test_focused_run_reports_the_other_app_of_a_shared_namespace(tmp_path):
    # awx-app.yaml sorts first, so the finding stands at netbox's file: a commit of awx's file made it
    root = reference_copy(tmp_path / "repo")
    netbox = root / "argo/apps/netbox-app.yaml"
    netbox.write_text(netbox.read_text().replace("    namespace: netbox\n", "    namespace: awx-tmp\n"))
    awx = root / "argo/apps/awx-app.yaml"
    awx.write_text(awx.read_text().replace("    namespace: awx\n", "    namespace: awx-tmp\n"))
    found = [f for f in run_lint(awx).findings if f.rule == "one-app-per-namespace"]
    assert [f.path for f in found] == ["argo/apps/netbox-app.yaml"]


# --- item 6: consequences are grouped under their cause ------------------------------------------

def _wrong_namespace(tmp_path: Path, namespace: str) -> Path:
    root = reference_copy(tmp_path / "repo")
    app = root / "argo/apps/netbox-app.yaml"
    text = app.read_text()
    assert "    namespace: netbox\n" in text
    app.write_text(text.replace("    namespace: netbox\n", f"    namespace: {namespace}\n"))
    return root


def test_wrong_namespace_prints_the_cause_first_and_marks_the_rest(tmp_path, capsys, monkeypatch):
    root = _wrong_namespace(tmp_path, "netbox-core")
    monkeypatch.chdir(root)  # text paths are relative to the working directory
    assert main(["lint", "--no-cache"]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if " error [" in line]
    cause = "argo/apps/netbox-app.yaml:12:16: error [namespace-suffix] Application 'netbox': namespace 'netbox-core'"
    assert lines[0].startswith(cause)
    # every other finding (policies in the old namespace, missing policies and quota in the new)
    rules = sorted({line.split("[", 1)[1].split("]", 1)[0] for line in lines[1:]})
    assert rules == ["network-policy", "resource-quota"] and len(lines) >= 6
    assert all(line.endswith("(follows from [namespace-suffix] argo/apps/netbox-app.yaml:12:16)")
               for line in lines[1:])


def test_json_carries_the_cause_of_each_consequence(tmp_path, capsys):
    root = _wrong_namespace(tmp_path, "awx")  # taken: one-app-per-namespace is the cause
    assert main(["lint", str(root), "--no-cache", "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    causes = [f for f in findings if f["rule"] == "one-app-per-namespace"]
    assert len(causes) == 1 and "cause" not in causes[0]
    rest = [f for f in findings if f is not causes[0] and f["severity"] == "error"]
    assert rest and all(f["rule"] == "network-policy" for f in rest)
    assert all(f["cause"]["fingerprint"] == causes[0]["fingerprint"] for f in rest)
    assert all(f["related"][0]["path"] == "argo/apps/netbox-app.yaml" for f in rest)


def test_a_genuinely_missing_policy_is_not_blamed_on_the_namespace(tmp_path):
    root = _wrong_namespace(tmp_path, "netbox-core")
    overlay(root, {"apps/manifests/netbox/network-policy.yaml": None,
                   "apps/manifests/netbox/allow-backend-egress.yaml": None})
    missing = [f for f in run_lint(root).findings if f.rule == "network-policy"]
    assert missing and all(f.cause is None for f in missing)


# --- item 11: --fix is safe by default, counts, previews; diffs apply ----------------------------

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: demo
  namespace: argocd-system
spec:
  sources:
    - repoURL: https://charts.example.com
      chart: demo
  syncPolicy:
    automated:
      prune: true
      selfHeal: false  # temporarily: debugging by hand
"""


def _demo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "argo" / "apps" / "demo-app.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_explicit_false_is_an_unsafe_fix(tmp_path, capsys):
    path = _demo(tmp_path, APP)
    args = ["lint", str(tmp_path), "--select", "automated-sync", "--no-cache"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "error [automated-sync] [*?] Application 'demo'" in out
    assert "[*] 0 fixable with --fix ([*?] 1 more with --fix --unsafe-fixes)" in out
    assert main([*args, "--fix"]) == 1
    assert path.read_text() == APP  # a deliberate false stays
    assert "fixed 0 finding(s) in 0 file(s)" in capsys.readouterr().err
    assert main([*args, "--fix", "--unsafe-fixes"]) == 0
    assert "      selfHeal: true   # temporarily: debugging by hand\n" in path.read_text()  # comment kept
    assert "fixed 1 finding(s) in 1 file(s)" in capsys.readouterr().err


def test_fix_marks_counts_and_a_second_fix_changes_nothing(tmp_path, capsys):
    path = _demo(tmp_path, APP.replace("      selfHeal: false  # temporarily: debugging by hand\n", ""))
    args = ["lint", str(tmp_path), "--select", "automated-sync", "--no-cache"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "error [automated-sync] [*] Application 'demo'" in out and "[*] 1 fixable with --fix" in out
    assert main([*args, "--fix"]) == 0
    assert "gitops-kit: fixed 1 finding(s) in 1 file(s)" in capsys.readouterr().err
    fixed = path.read_bytes()
    assert main([*args, "--fix", "--unsafe-fixes"]) == 0
    assert path.read_bytes() == fixed
    assert "gitops-kit: fixed 0 finding(s) in 0 file(s)" in capsys.readouterr().err


@needs_git
def test_diff_alone_previews_and_git_applies_it(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    awx = root / "argo/apps/awx-app.yaml"
    # no trailing newline, and the missing keys go at the very end of the file
    awx.write_text(awx.read_text().split("  syncPolicy:")[0].rstrip("\n"))
    (root / "apps/manifests/netbox/quota.yaml").unlink()  # a file the fix creates
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    before = awx.read_bytes()

    assert main(["lint", str(root), "--diff"]) == 1
    patch = capsys.readouterr().out
    assert awx.read_bytes() == before and not (root / "apps/manifests/netbox/quota.yaml").exists()
    assert "\\ No newline at end of file\n" in patch and "--- /dev/null\n+++ b/apps/manifests/netbox/quota.yaml" in patch
    (tmp_path / "fix.patch").write_text(patch)
    _git(root, "apply", "--check", str(tmp_path / "fix.patch"))
    _git(root, "apply", str(tmp_path / "fix.patch"))
    left = {(f.rule, f.path) for f in run_lint(root).findings}
    assert ("automated-sync", "argo/apps/awx-app.yaml") not in left
    assert ("resource-quota", "argo/apps/netbox-app.yaml") not in left
    assert main(["lint", str(root), "--diff"]) == 0 and capsys.readouterr().out == ""


def test_in_scope_keeps_findings_about_a_focused_file():
    from gitops_kit.findings import Finding, Location, Severity

    f = Finding("sync-wave", Severity.ERROR, "a.yaml", 1, 1, "m", "a", "0" * 20,
                related=(Location("apps/manifests/x"),))
    assert engine.in_scope(f, {"a.yaml"}) and engine.in_scope(f, {"apps/manifests/x/np.yaml"})
    assert not engine.in_scope(f, {"apps/manifests/xy/np.yaml"})


@needs_git
def test_real_pre_commit_fails_a_commit_that_only_deletes_a_policy(tmp_path, hook_source):
    """The pre-commit framework itself: before, such a commit was "(no files to check) Skipped"."""
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hook_source, capture_output=True, text=True,
                         check=True).stdout.strip()
    root = reference_copy(tmp_path / "repo")
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_source}\n    rev: {rev}\n    hooks:\n      - id: gitops-kit-lint\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "pc-home")}
    env.pop("CI", None)
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=root, check=True, capture_output=True,
                   env=env, timeout=120)
    _git(root, "rm", "-q", "apps/manifests/netbox/network-policy.yaml")
    done = subprocess.run(["git", "commit", "-m", "drop netbox policies"], cwd=root, capture_output=True,
                          text=True, env=env, timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "Skipped" not in out
    assert "argo/apps/netbox-app.yaml:" in out and "[network-policy]" in out


def test_sarif_carries_the_cause_and_related_places(tmp_path, capsys):
    import json as _json

    from helpers import SHARED

    root = _wrong_namespace(tmp_path, "netbox-core")
    assert main(["lint", "--no-cache", str(root), "--format", "sarif", "--path-base", "root"]) == 1
    doc = _json.loads(capsys.readouterr().out)
    results = doc["runs"][0]["results"]
    followers = [r for r in results if r.get("properties", {}).get("causeFingerprint")]
    assert followers, "no result names its cause"
    cause = next(r for r in results if r["ruleId"] == "namespace-suffix")
    for r in followers:
        first = r["relatedLocations"][0]
        assert first["message"]["text"] == "follows from [namespace-suffix] here"
        assert first["physicalLocation"]["artifactLocation"]["uri"] == "argo/apps/netbox-app.yaml"
        assert r["properties"]["causeFingerprint"] == cause["partialFingerprints"]["gitopsKitFingerprint/v1"]
    schema_file = SHARED / "upstream" / "sarif" / "sarif-schema-2.1.0.json"
    if schema_file.is_file():
        import jsonschema

        schema = _json.loads(schema_file.read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(doc)
