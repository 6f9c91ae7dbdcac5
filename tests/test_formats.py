"""CI report formats: SARIF (against the OASIS schema), GitLab Code Quality, JUnit, GitHub."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from gitops_kit.cli import main
from helpers import SHARED
from cli_helpers import make_repo

SARIF_SCHEMA = SHARED / "upstream" / "sarif" / "sarif-schema-2.1.0.json"


def lint_out(args, capsys) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().out


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path, self_heal="false")
    (root / "dup.yaml").write_text("a: 1\na: 2\n")
    return root


@pytest.mark.skipif(not SARIF_SCHEMA.is_file(), reason="../shared/upstream/sarif is absent")
def test_sarif_is_valid_against_the_schema(repo, capsys):
    import jsonschema

    code, out = lint_out(["lint", str(repo), "--format", "sarif"], capsys)
    doc = json.loads(out)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    run = doc["runs"][0]
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert code == 1 and run["results"]
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert result["level"] in ("error", "warning", "note")
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]


def test_codequality_fields(repo, capsys):
    _, out = lint_out(["lint", str(repo), "--format", "codequality"], capsys)
    issues = json.loads(out)
    assert issues
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert issue["location"]["path"] and issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_junit_one_failed_case_per_file_with_findings_and_one_passed_case_per_rule(repo, capsys):
    _, out = lint_out(["lint", str(repo), "--format", "junit", "--select", "automated-sync,yaml-syntax"], capsys)
    root = ET.fromstring(out)
    cases = [(c.get("classname"), c.get("name"), c.find("failure") is not None) for c in root.iter("testcase")]
    assert ("argo/apps/demo-app.yaml", "automated-sync", True) in cases
    assert ("dup.yaml", "yaml-syntax", True) in cases
    assert ("gitops-kit", "automated-sync: 1 file(s) without findings", False) in cases
    assert ("gitops-kit", "yaml-syntax: 1 file(s) without findings", False) in cases
    assert len(cases) == 4 and root.get("failures") == "2" and root.get("tests") == "4"


def test_github_annotations(repo, capsys):
    _, out = lint_out(["lint", str(repo), "--format", "github"], capsys)
    lines = out.splitlines()
    assert "::error file=argo/apps/demo-app.yaml,line=10,col=17,title=gitops-kit automated-sync::" \
           "Application 'demo' has syncPolicy.automated.selfHeal: false, must be true" in lines


def test_several_outputs_at_once(repo, tmp_path, capsys):
    sarif, cq = tmp_path / "out.sarif", tmp_path / "cq.json"
    code, out = lint_out(["lint", str(repo), "--output", f"sarif={sarif}", "--output", f"codequality={cq}"], capsys)
    assert code == 1 and "error(s)" in out
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert isinstance(json.loads(cq.read_text()), list)


def test_bad_output_spec_is_usage_error(repo, capsys):
    assert main(["lint", str(repo), "--output", "pdf=x.pdf"]) == 2
