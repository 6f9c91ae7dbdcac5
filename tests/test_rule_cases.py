"""One driver for every rule case: the examples in rules/*.yaml (which the docs show) and any
extra cases under tests/rules/<id>/<fail_|pass_case>/, laid over a copy of examples/reference:

- files in the case folder replace (or add) the file at the same path;
- ``_edits.yaml`` changes reference files in place, so the case holds only what differs: a list,
  applied in order, of ``{file, replace: <old>, with: <new>}`` (``old`` must occur exactly once in
  the file) and ``{file, append: <text>}``;
- ``_delete`` lists paths to remove, one a line;
- ``_expect`` lists expected findings "path:line" that no marker can show (a missing file).

An expected finding is marked by an ``# expect: <rule>`` comment on its line, in a case file or in
the ``with``/``append`` text of an edit.

A fail case must produce exactly the marked findings of its rule (file and line); a pass case
must produce no finding at all, of any rule, so passing examples are genuinely clean."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from gitops_kit import catalog
from helpers import PROJECT, REFERENCE, apply_edits, by_rule, expected_markers, overlay, reference_copy, run_lint

CASES_DIR = PROJECT / "tests" / "rules"
EDITS = "_edits.yaml"


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
        elif rel != EDITS:
            files[rel] = path.read_text(encoding="utf-8")
    if (case_dir / EDITS).is_file():
        files.update(apply_edits(case_dir / EDITS, REFERENCE, files))
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


def case_problems(specs, cases_dir: Path) -> list[str]:
    """What keeps the rule cases from covering every rule: a rule with no fail or no pass case
    (counting its catalog examples and its case folders), a case folder that would never run (under
    no rule's id, or not named fail_<case>/pass_<case>) and one that holds nothing. ``specs``: objects
    with ``id`` and ``examples`` (each with a ``kind``), as catalog.load() gives."""
    problems = []
    folders = {p.name: p for p in cases_dir.iterdir() if p.is_dir()} if cases_dir.is_dir() else {}
    ids = {spec.id for spec in specs}
    for name in sorted(set(folders) - ids):
        problems.append(f"{name}: a case folder for no rule (its cases never run)")
    for spec in specs:
        kinds = {e.kind for e in spec.examples}
        folder = folders.get(spec.id)
        for case in sorted(p for p in folder.iterdir() if p.is_dir()) if folder else []:
            kind, _, rest = case.name.partition("_")
            if kind not in ("fail", "pass") or not rest:
                problems.append(f"{spec.id}/{case.name}: not named fail_<case> or pass_<case>")
            elif not any(p.is_file() for p in case.rglob("*")):
                problems.append(f"{spec.id}/{case.name}: holds no file")
            else:
                kinds.add(kind)
        for kind in ("fail", "pass"):
            if kind not in kinds:
                problems.append(f"{spec.id}: no {kind} case (no {kind}_ example in rules/{spec.id}.yaml, "
                                f"no tests/rules/{spec.id}/{kind}_<case>/)")
    return problems


def test_every_rule_has_fail_and_pass_cases():
    assert case_problems(list(catalog.load().values()), CASES_DIR) == []


def test_the_coverage_meta_test_can_fail(tmp_path):
    def spec(rule, *kinds):
        return SimpleNamespace(id=rule, examples=[SimpleNamespace(kind=k) for k in kinds])

    specs = [spec("full", "fail", "pass"), spec("no-pass", "fail"), spec("pass-in-folder", "fail")]
    for case in ("pass-in-folder/pass_x", "typo-rule/fail_x", "full/fail", "full/failing_x", "full/pass_empty"):
        (tmp_path / case).mkdir(parents=True)
    for case in ("pass-in-folder/pass_x", "typo-rule/fail_x", "full/fail", "full/failing_x"):
        (tmp_path / case / "_edits.yaml").write_text("[]\n")
    assert case_problems(specs, tmp_path) == [
        "typo-rule: a case folder for no rule (its cases never run)",
        "full/fail: not named fail_<case> or pass_<case>",
        "full/failing_x: not named fail_<case> or pass_<case>",
        "full/pass_empty: holds no file",
        "no-pass: no pass case (no pass_ example in rules/no-pass.yaml, no tests/rules/no-pass/pass_<case>/)",
    ]


def test_an_edit_must_match_exactly_once(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "a.yaml").write_text("x: 1\ny: 1\n")
    edits = tmp_path / "_edits.yaml"
    edits.write_text("- file: a.yaml\n  replace: 'x: 1'\n  with: 'x: 2 # expect: r'\n"
                     "- file: a.yaml\n  append: |\n    z: 3\n")
    changed = apply_edits(edits, tmp_path / "base", {})
    assert changed == {"a.yaml": "x: 2 # expect: r\ny: 1\nz: 3\n"}
    assert expected_markers(changed, "r") == {("a.yaml", 1)}
    assert apply_edits(edits, tmp_path / "base", {"a.yaml": "x: 1\n"}) == {"a.yaml": "x: 2 # expect: r\nz: 3\n"}
    for bad, error in [("- {file: a.yaml, replace: ': 1', with: ''}", "occurs 2 times"),
                       ("- {file: a.yaml, replace: 'w: 1', with: ''}", "occurs 0 times"),
                       ("- {file: a.yaml, replace: 'x: 1'}", "keys must be"),
                       ("- {file: b.yaml, append: 'b'}", "neither in the case")]:
        edits.write_text(bad + "\n")
        with pytest.raises(ValueError, match=error):
            apply_edits(edits, tmp_path / "base", {})
