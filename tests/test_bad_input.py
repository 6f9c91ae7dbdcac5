"""Bad input never crashes the tool: each gives a finding with its path, and the run goes on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitops_kit.cli import main
from helpers import run_lint

GOOD_BAD = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: demo, namespace: argocd-system}
spec:
  syncPolicy:
    automated: {prune: false, selfHeal: true}
"""


def base_repo(root: Path) -> Path:
    (root / "argo" / "apps").mkdir(parents=True)
    # A normal file with a known finding proves the other files are still linted.
    (root / "argo" / "apps" / "demo-app.yaml").write_text(GOOD_BAD)
    return root


def lint_findings(root: Path):
    report = run_lint(root, select=["yaml-syntax", "automated-sync"])
    assert any(f.rule == "automated-sync" for f in report.findings), "the normal file was not linted"
    return report


BAD_FILES = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL"),
    "invalid-utf8": (b"a: caf\xe9\n", "UTF-8"),
    "utf16": ("a: 1\n".encode("utf-16"), "UTF-16"),
    "syntax": (b"a: [1, 2\nb: 3\n", "syntax"),
    "template": (b"metadata:\n  name: {{ .Values.name }}\n  labels: {{- toYaml . | nindent 4 }}\n", "template"),
    "tabs": (b"a:\n\tb: 1\n", "tab"),
    "duplicate": (b"a:\n  b: 1\n  b: 2\n", "duplicate"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_gives_finding_with_path(tmp_path, name):
    root = base_repo(tmp_path)
    content, needle = BAD_FILES[name]
    (root / f"{name}.yaml").write_bytes(content)
    report = lint_findings(root)
    hits = [f for f in report.findings if f.rule == "yaml-syntax" and f.path == f"{name}.yaml"]
    assert hits and any(needle.lower() in f.message.lower() for f in hits), [f.message for f in hits]


@pytest.mark.parametrize("content", ["", "---\n", "---\n---\n", "# only a comment\n", "~\n", "just a string\n",
                                     "- a\n- b\n", "a: &x [1]\nb: *x\n"])
def test_harmless_documents_are_silent(tmp_path, content):
    root = base_repo(tmp_path)
    (root / "odd.yaml").write_text(content)
    report = lint_findings(root)
    assert [f for f in report.findings if f.path == "odd.yaml"] == []


def test_alias_bomb(tmp_path):
    root = base_repo(tmp_path)
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    (root / "bomb.yaml").write_text("\n".join(lines) + "\n")
    report = lint_findings(root)
    assert any(f.path == "bomb.yaml" and "alias" in f.message for f in report.findings)


def test_directory_named_yaml_is_walked_not_read(tmp_path):
    root = base_repo(tmp_path)
    (root / "x.yaml").mkdir()
    (root / "x.yaml" / "inner.yaml").write_text("a: 1\na: 2\n")
    report = lint_findings(root)
    assert any(f.path == "x.yaml/inner.yaml" for f in report.findings)


def test_symlink_loop_and_outside_link(tmp_path):
    root = base_repo(tmp_path / "repo")
    os.symlink("loop.yaml", root / "loop.yaml")
    os.symlink(".", root / "argo" / "self")  # a directory loop
    outside = tmp_path / "secret.yaml"
    outside.write_text("password: hunter2\n")
    os.symlink(outside, root / "outside.yaml")
    report = lint_findings(root)
    by_path = {f.path: f for f in report.findings}
    assert "loop.yaml" in by_path and str(by_path["loop.yaml"].severity) == "error"
    assert "outside.yaml" in by_path and "outside" in by_path["outside.yaml"].message
    assert str(by_path["outside.yaml"].severity) == "info"


def test_oversized_file_is_skipped_with_a_finding(tmp_path):
    root = base_repo(tmp_path)
    (root / ".gitops-kit.yaml").write_text("max_file_bytes: 1000\n")
    (root / "big.yaml").write_text("a: " + "x" * 2000 + "\n")
    report = lint_findings(root)
    assert any(f.path == "big.yaml" and "limit" in f.message for f in report.findings)


def test_oversized_file_is_refused_on_both_cores_and_never_cached(tmp_path, monkeypatch):
    from gitops_kit import cache, model
    from gitops_kit.api import lint
    from gitops_kit.findings import fingerprint

    root = base_repo(tmp_path)
    (root / ".gitops-kit.yaml").write_text("max_file_bytes: 1000\n")
    (root / "big.yaml").write_text("a: " + "x" * 2000 + "\n")
    monkeypatch.setattr(model, "PARALLEL_PARSE_MIN_FILES", 1)
    monkeypatch.setenv("GITOPS_KIT_CACHE", "1")
    for _ in range(2):  # cold, then warm
        report = lint([str(root)], select=["yaml-syntax"], use_cache=True)
        hits = [f for f in report.findings if f.path == "big.yaml"]
        assert len(hits) == 1 and "2004 bytes, over the 1000-byte limit" in hits[0].message
        # a skip, as when the walk found it: same finding, same fingerprint for baselines
        assert [s.path for s in report.model.skipped] == ["big.yaml"] and "big.yaml" not in report.model.files
        assert hits[0].fingerprint == fingerprint("yaml-syntax", "big.yaml", hits[0].message)
        assert "big.yaml" not in (report.model.digests or {})
    blob = b"".join(p.read_bytes() for p in (root / cache.DIR).glob("*.bin"))
    assert b"big.yaml" not in blob


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_named_yaml_is_refused_without_waiting_for_a_writer(tmp_path):
    root = base_repo(tmp_path)
    os.mkfifo(root / "pipe.yaml")
    report = lint_findings(root)  # the open does not block
    hits = [f for f in report.findings if f.path == "pipe.yaml"]
    assert hits and "not a regular file" in hits[0].message


def test_a_file_that_changes_size_while_it_is_read_is_read_to_its_end(tmp_path, monkeypatch):
    from gitops_kit import model

    path = tmp_path / "grows.yaml"
    path.write_bytes(b"a: 1\n" * 100)
    real_fstat = os.fstat

    def stale_fstat(fd):  # the size as it was before the file grew (or after it shrank)
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, size,
                               st.st_atime, st.st_mtime, st.st_ctime))

    monkeypatch.setattr(model.os, "fstat", stale_fstat)
    for size in (0, 5, 499, 501, 10_000):  # noqa: B007 - stale_fstat reads it
        assert model.read_bytes(str(path)) == b"a: 1\n" * 100
    size = 5
    with pytest.raises(model.TooBig):
        model.read_bytes(str(path), limit=100)  # it grew past the limit after the size was checked


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file(tmp_path):
    root = base_repo(tmp_path)
    p = root / "locked.yaml"
    p.write_text("a: 1\n")
    p.chmod(0)
    report = lint_findings(root)
    assert any(f.path == "locked.yaml" for f in report.findings)


def test_helm_templates_and_vendored_charts_are_not_read(tmp_path):
    root = base_repo(tmp_path)
    chart = root / "apps" / "helm" / "x"
    (chart / "templates").mkdir(parents=True)
    (chart / "charts" / "sub").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 0.1.0\n")
    (chart / "templates" / "d.yaml").write_text("a: {{ .Values.x }}\n")
    (chart / "charts" / "sub" / "bad.yaml").write_text("a: [\n")
    report = lint_findings(root)
    assert not [f for f in report.findings if f.path.startswith("apps/helm/x/")]


def test_exclude_globs(tmp_path):
    root = base_repo(tmp_path)
    (root / "legacy").mkdir()
    (root / "legacy" / "bad.yaml").write_text("a: [\n")
    (root / ".gitops-kit.yaml").write_text("exclude: ['legacy/**']\n")
    report = lint_findings(root)
    assert not [f for f in report.findings if f.path.startswith("legacy/")]


@pytest.mark.parametrize("doc", [
    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec: null\n",
    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec: [1, 2]\n",
    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: [x]\nspec: {syncPolicy: 3}\n",
    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec: {sources: {a: 1}, source: [1]}\n",
    "- apiVersion: argoproj.io/v1alpha1\n  kind: Application\n",
    "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: 3, annotations: [1]}\n"
    "spec: {destination: 5, syncPolicy: {automated: []}}\n",
])
def test_malformed_applications_never_crash_any_rule(tmp_path, capsys, doc):
    root = base_repo(tmp_path)
    (root / "argo" / "apps" / "weird-app.yaml").write_text(doc)
    code = main(["lint", str(root), "--format", "json"])
    out = capsys.readouterr()
    assert code in (0, 1), out.err
    assert "Traceback" not in out.err
    assert run_lint(root).crashed == ()


def test_a_crashing_check_is_named_in_the_report_and_the_other_rules_run(tmp_path, monkeypatch):
    """The engine isolates a check that raises: the report names its rule in ``crashed`` and a
    finding says so with the exception's type only (its text may quote a secret)."""
    from gitops_kit.checks import sync_wave
    from helpers import reference_copy

    def broken(model, params):
        raise KeyError("hunter2-secret")

    monkeypatch.setattr(sync_wave, "check", broken)
    report = run_lint(reference_copy(tmp_path / "repo"))
    assert report.crashed == ("sync-wave",)
    assert [(f.rule, f.path, f.message) for f in report.findings if f.path == "."] == [
        ("sync-wave", ".", "internal error in rule sync-wave: KeyError; other rules ran")]
    assert {"layout", "sync-wave"} <= set(report.rules_run)
