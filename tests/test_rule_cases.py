"""One driver for every rule case: the examples in rules/*.yaml (which the docs show) and any
extra cases under tests/rules/<id>/<fail_|pass_case>/ (overlay trees on examples/reference,
with an optional ``_delete`` file listing paths to remove and ``_expect`` lines "path:line").

A fail case must produce exactly the marked findings of its rule (file and line); a pass case
must produce no finding at all, of any rule, so passing examples are genuinely clean."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_kit import catalog
from helpers import PROJECT, by_rule, expected_markers, overlay, reference_copy, run_lint

CASES_DIR = PROJECT / "tests" / "rules"


def _dir_case(case_dir: Path) -> tuple[dict[str, str | None], set[tuple[str, int]]]:
    files: dict[str, str | None] = {}
    extra: set[tuple[str, int]] = set()
    for path in sorted(case_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(case_dir).as_posix()
        if rel == "_delete":
            for line in path.read_text().splitlines():
                if line.strip():
                    files[line.strip()] = None
        elif rel == "_expect":
            for line in path.read_text().splitlines():
                if line.strip():
                    p, _, n = line.strip().rpartition(":")
                    extra.add((p, int(n)))
        else:
            files[rel] = path.read_text(encoding="utf-8")
    return files, extra


def _cases():
    specs = catalog.load()
    for spec in specs.values():
        for ex in spec.examples:
            yield pytest.param(spec.id, ex.kind, dict(ex.files), set(), id=f"{spec.id}:{ex.name}")
        folder = CASES_DIR / spec.id
        if folder.is_dir():
            for case_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
                kind = case_dir.name.split("_", 1)[0]
                files, extra = _dir_case(case_dir)
                yield pytest.param(spec.id, kind, files, extra, id=f"{spec.id}:{case_dir.name}")


def _cache_reference_charts(request, root: Path, cache: Path) -> None:
    """chart-values reads charts from the chart cache: pull the reference's served charts into a
    cache of this case's own (other cases must not see charts and start judging values) from
    ../shared's charts on 127.0.0.1."""
    pytest.importorskip("helm_python")
    request.getfixturevalue("monkeypatch").setenv("XDG_CACHE_HOME", str(cache))
    server = request.getfixturevalue("chart_server")
    from gitops_kit import charts, config, model

    cfg = config.load(root)
    cfg.data["charts"]["mirrors"] = server.mirrors
    built = model.build(root, cfg)
    for app in built.applications:
        for _src, ref in charts.chart_refs(built, app):
            if ref.repo_url in server.mirrors:
                charts.pull(ref, cfg)


@pytest.mark.parametrize("rule,kind,files,extra", list(_cases()))
def test_rule_case(request, tmp_path, rule, kind, files, extra):
    if rule == "kustomize-build" and not (shutil.which("kustomize") or shutil.which("kubectl")):
        pytest.skip("kustomize-build runs kustomize or kubectl; neither is on PATH")
    root = reference_copy(tmp_path / "repo")
    if rule == "chart-values":
        _cache_reference_charts(request, root, tmp_path / "xdg-cache")
    overlay(root, files)
    report = run_lint(root)
    if kind == "pass":
        assert [f"{f.path}:{f.line} [{f.rule}] {f.message}" for f in report.findings] == []
    else:
        expected = expected_markers(files, rule) | extra
        assert expected, "a fail case must mark at least one expected finding"
        assert by_rule(report, rule) == expected


def test_every_rule_has_fail_and_pass_cases():
    for spec in catalog.load().values():
        kinds = {e.kind for e in spec.examples}
        assert {"fail", "pass"} <= kinds, spec.id
