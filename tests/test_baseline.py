"""Baselines: adopt the tool on an existing repository, see only new findings."""

from __future__ import annotations

import json

from gitops_kit.cli import main
from cli_helpers import make_repo


def test_baseline_hides_known_and_survives_line_shifts(tmp_path, capsys):
    repo = make_repo(tmp_path / "r", self_heal="false")
    base = tmp_path / "baseline.json"
    assert main(["lint", str(repo), "--write-baseline", str(base)]) == 0
    recorded = json.loads(base.read_text())["findings"]
    assert recorded
    capsys.readouterr()
    app = repo / "argo" / "apps" / "demo-app.yaml"
    app.write_text("# a new comment line shifts everything down\n\n" + app.read_text())
    assert main(["lint", str(repo), "--baseline", str(base), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["findings"] == [] and doc["summary"]["baselined"] == len(recorded)


def test_new_findings_are_reported(tmp_path, capsys):
    repo = make_repo(tmp_path / "r")
    base = tmp_path / "baseline.json"
    main(["lint", str(repo), "--write-baseline", str(base)])
    capsys.readouterr()
    (repo / "dup.yaml").write_text("a: 1\na: 2\n")
    assert main(["lint", str(repo), "--baseline", str(base), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [f["path"] for f in doc["findings"]] == ["dup.yaml"]


def test_bad_baseline_is_usage_error(tmp_path, capsys):
    repo = make_repo(tmp_path / "r")
    bad = tmp_path / "b.json"
    bad.write_text("{not json")
    assert main(["lint", str(repo), "--baseline", str(bad)]) == 2
    assert "baseline" in capsys.readouterr().err
