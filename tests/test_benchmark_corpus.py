"""The benchmark corpus generator: deterministic, the promised shape, clean when asked, dirty when asked.

Nothing here is timed; the benchmark itself is run by hand (``python -m benchmarks``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gitops_kit import catalog, yamlio
from gitops_kit.api import lint
from gitops_kit.findings import Severity

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:  # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(PROJECT))

from benchmarks import corpus

N = 12
FIXED_FILES = 1 + len(corpus.ARGOCD_FILES) + len(corpus.LAYERS)  # .gitops-kit.yaml, ArgoCD, three roots
PER_APP = 5  # Application, values.yaml, namespace, quota, network policies


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("clean") / "repo"
    return root, corpus.generate(root, N)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("dirty") / "repo"
    return root, corpus.generate(root, N, violations=1.0)


def test_same_arguments_give_identical_trees(clean: tuple[Path, dict], tmp_path: Path) -> None:
    root, stats = clean
    again = corpus.generate(tmp_path / "again", N)
    assert _tree(tmp_path / "again") == _tree(root)
    assert again == stats


def test_violations_are_deterministic_too(dirty: tuple[Path, dict], tmp_path: Path) -> None:
    root, stats = dirty
    assert corpus.generate(tmp_path / "again", N, violations=1.0) == stats
    assert _tree(tmp_path / "again") == _tree(root)


def test_another_seed_gives_another_tree(clean: tuple[Path, dict], tmp_path: Path) -> None:
    corpus.generate(tmp_path / "other", N, seed=1)
    assert _tree(tmp_path / "other") != _tree(clean[0])


def test_file_count_layers_and_stats(clean: tuple[Path, dict]) -> None:
    root, stats = clean
    tree = _tree(root)
    assert stats["apps"] == N
    assert stats["files"] == len(tree) == FIXED_FILES + PER_APP * N
    assert stats["bytes"] == sum(len(b) for b in tree.values())
    assert stats["layers"] == {"bootstrap": 1, "platform": 4, "apps": 7}
    assert stats["violations"] == {} and stats["violating_apps"] == {}
    for layer, count in stats["layers"].items():
        extra = 1 if layer == "bootstrap" else 0  # the argocd Application
        assert len([p for p in tree if p.startswith(f"argo/{layer}/")]) == count + extra
    values = [p for p in tree if p.endswith("/values.yaml")]
    assert len(values) == N
    for path in values:
        assert 60 <= tree[path].decode().count("\n") <= 201, path  # 60-200 lines plus a header comment


def test_layer_split_scales() -> None:
    assert corpus.layer_counts(1000) == {"bootstrap": 100, "platform": 300, "apps": 600}
    assert sum(corpus.layer_counts(5000).values()) == 5000


def test_every_file_parses_and_objects_are_counted(clean: tuple[Path, dict]) -> None:
    root, stats = clean
    objects = 0
    for rel, raw in _tree(root).items():
        loaded = yamlio.load_text(raw.decode("utf-8"))
        assert loaded.problems == [], (rel, loaded.problems)
        assert loaded.documents, rel
        objects += sum(1 for d in loaded.documents
                       if isinstance(d.data, dict) and "apiVersion" in d.data and "kind" in d.data)
    assert objects == stats["objects"]


def test_violation_free_corpus_has_no_errors(clean: tuple[Path, dict]) -> None:
    root, stats = clean
    report = lint([str(root)])
    errors = [f"{f.path}:{f.line} [{f.rule}] {f.message}" for f in report.findings if f.severity == Severity.ERROR]
    assert errors == []
    assert report.objects == stats["objects"]


def test_every_app_with_a_violation_is_reported(dirty: tuple[Path, dict]) -> None:
    root, stats = dirty
    assert len(stats["violating_apps"]) == N
    assert set(stats["violations"]) == set(corpus.VIOLATIONS)  # twelve apps cover all eight kinds
    report = lint([str(root)])
    assert report.exit_code == 1
    known = set(catalog.load())
    found = {(f.rule, f.app) for f in report.findings if f.severity == Severity.ERROR}
    missed = [(app, kind, corpus.VIOLATIONS[kind]) for app, kind in stats["violating_apps"].items()
              if corpus.VIOLATIONS[kind] in known and (corpus.VIOLATIONS[kind], app) not in found]
    assert missed == []


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for the peer tool")
def test_argocd_source_lint_comparison_sees_a_checkout_with_the_corpus_origin(tmp_path: Path) -> None:
    """The peer is run on a git checkout whose origin is the corpus URL, else it skips every source."""
    import shutil
    import subprocess

    from benchmarks import __main__ as bench

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    corpus.generate(root, 4)
    fake = tmp_path / "argocd-source-lint"
    # stands in for the real tool: records what it saw, answers like it does
    fake.write_text("#!/bin/sh\n[ \"$1\" = --version ] && { echo 9.9; exit 0; }\n"
                    "git -C \"$1\" remote get-url origin > \"$1/../seen\"\n"
                    "echo '{\"findings\": [{\"rule_id\": \"x\"}]}'\n")
    fake.chmod(0o755)
    out = bench.measure_argocd_source_lint([str(fake)], root, "test")
    assert out["exit"] == 0 and out["findings"] == 1 and out["version"] == "9.9"
    assert (tmp_path / "seen").read_text().strip() == corpus.REPO_URL
    assert subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout == ""
    assert bench.count_applications(root) == len(lint([str(root)]).model.applications) > 4
    assert bench.measure_argocd_source_lint(None, root, "test")["skipped"].startswith("argocd-source-lint is not")


def test_a_peer_is_compared_with_lint_runs_right_before_and_after_it(tmp_path: Path) -> None:
    from benchmarks import __main__ as bench

    order: list[str] = []
    script = tmp_path / "lint.py"  # stands in for gitops-kit: records each run
    script.write_text(f"open({str(tmp_path / 'log')!r}, 'a').write('lint\\n')\n")
    lint_cmd = [sys.executable, str(script)]

    def peer() -> dict:
        order.append(f"peer after {(tmp_path / 'log').read_text().count('lint')} lint run(s)")
        return {"wall": 2.0}

    result, beside = bench.bracketed(lint_cmd, tmp_path, "test", peer)
    assert result == {"wall": 2.0} and order == ["peer after 1 lint run(s)"]
    assert (tmp_path / "log").read_text().count("lint") == 2
    assert beside is not None and len(beside) == 2 and all(w > 0 for w in beside)
    skipped, none = bench.bracketed(lint_cmd, tmp_path, "test", lambda: {"skipped": "not installed"})
    assert none is None and "skipped" in skipped


def test_a_peer_ratio_is_against_the_bracketing_lint_runs(tmp_path: Path) -> None:
    from benchmarks import __main__ as bench

    script = tmp_path / "lint.py"
    script.write_text("pass\n")
    lint_cmd = [sys.executable, str(script)]
    ran: list[str] = []

    def peer() -> dict:
        ran.append("peer")
        return {"wall": 50.0}

    result = bench.versus(lint_cmd, tmp_path, "test", {"median": 5.0}, True, None, peer)
    assert result["ratio_to_lint"] == pytest.approx(50.0 / bench.mean(result["lint_bracket"]))
    assert result["ratio_to_lint_median"] == 10.0
    assert bench.versus(lint_cmd, tmp_path, "test", {}, True, "skipped (--no-x)", peer) == {"skipped": "skipped (--no-x)"}
    assert bench.versus(lint_cmd, tmp_path, "test", {}, False, None, lambda: {"skipped": "not installed"}) \
        == {"skipped": "not installed"}
    assert ran == ["peer"]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork on this platform")
def test_two_cores_find_exactly_what_one_finds_on_a_dirty_corpus(dirty, monkeypatch):
    """Every rule's findings, many of them, the same whichever process parsed a file or ran a rule."""
    from gitops_kit import engine, model, parallel

    root, _ = dirty
    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    serial = lint([str(root)])
    monkeypatch.delenv("GITOPS_KIT_JOBS")
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setattr(model, "PARALLEL_PARSE_MIN_FILES", 1)
    monkeypatch.setattr(model, "PARSE_BATCH", 3)  # many batches, taken by both processes
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 1)
    forked = lint([str(root)])
    assert len({f.rule for f in serial.findings}) >= 5
    assert forked.findings == serial.findings and forked.objects == serial.objects
    assert forked.checked_files == serial.checked_files
