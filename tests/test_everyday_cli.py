"""Issue 15 ("Everyday use"), the command line: several repositories in one call (item 1), reports
written whatever happens to one of them (7), repeated --select/--ignore (8), paths relative to where
the command runs or to the git top level (9), no walk outside a repository (10), exit policy,
completion, rules as JSON, config show, "did you mean", clean examples and an editor schema (12),
and a JUnit report of the findings rather than of every file x rule (13)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from gitops_kit.cli import main
from helpers import PROJECT
from cli_helpers import APP, make_repo


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def _env(root: Path, self_heal: str) -> Path:
    """A GitOps root with one Application (an automated-sync error when ``self_heal`` is false)."""
    (root / "argo" / "apps").mkdir(parents=True)
    (root / "argo" / "apps" / "demo-app.yaml").write_text(APP.format(self_heal=self_heal))
    return root


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A git checkout holding two GitOps roots, envs/prod (clean) and envs/dev (one error)."""
    (tmp_path / ".git").mkdir()  # what find_root and the path bases look for; no git needed
    for env, heal in (("prod", "true"), ("dev", "false")):
        root = _env(tmp_path / "envs" / env, heal)
        (root / ".gitops-kit.yaml").write_text("{}\n")
    return tmp_path


# item 1 -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", [("prod", "dev"), ("dev", "prod")])
def test_paths_in_several_repositories_are_each_linted_in_their_own(monorepo, capsys, monkeypatch, order):
    monkeypatch.chdir(monorepo)
    files = [f"envs/{env}/argo/apps/demo-app.yaml" for env in order]
    code, out, _ = run(["lint", *files, "--select", "automated-sync", "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == 1  # before: 0 when the clean repository's path came first
    assert [f["path"] for f in doc["findings"]] == ["envs/dev/argo/apps/demo-app.yaml"]
    assert doc["summary"]["files"] == 4 and doc["summary"]["objects"] == 2  # each with its .gitops-kit.yaml


def test_repositories_without_a_common_checkout_get_unambiguous_paths(tmp_path, capsys, monkeypatch):
    for name in ("a", "b"):
        _env(tmp_path / name, "false")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["lint", "a", "b", "--select", "automated-sync", "--format", "codequality"], capsys)
    issues = json.loads(out)
    assert code == 1
    assert sorted(i["location"]["path"] for i in issues) == ["a/argo/apps/demo-app.yaml", "b/argo/apps/demo-app.yaml"]
    assert len({i["fingerprint"] for i in issues}) == 2  # the same finding in two repositories: two issues


@pytest.mark.parametrize("flag", [["--fix"], ["--diff"], ["--write-baseline", "b.json"], ["--path-base", "root"]])
def test_what_needs_one_repository_is_refused_for_several(monorepo, capsys, monkeypatch, flag):
    monkeypatch.chdir(monorepo)
    code, _, err = run(["lint", "envs/prod", "envs/dev", *flag], capsys)
    assert code == 2
    assert "one repository at a time" in err and "envs/prod" in err and "envs/dev" in err


# item 7 -------------------------------------------------------------------------------------------

def test_output_makes_missing_folders(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", self_heal="false")
    sarif = tmp_path / "out" / "deep" / "x.sarif"
    code, _, err = run(["lint", str(repo), "--output", f"sarif={sarif}"], capsys)
    assert code == 1, err
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_a_report_that_cannot_be_written_does_not_stop_the_others(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", self_heal="false")
    (tmp_path / "blocker").write_text("a file where a folder is wanted\n")
    cq = tmp_path / "cq.json"
    code, out, err = run(["lint", str(repo), "--output", f"sarif={tmp_path / 'blocker' / 'x.sarif'}",
                          "--output", f"codequality={cq}"], capsys)
    assert code == 2
    assert "error(s)" in out  # standard output is written
    assert json.loads(cq.read_text())  # and the other report, though it comes after
    assert "cannot write the sarif report" in err and "blocker" in err and "Traceback" not in err


def test_output_dash_is_standard_output(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", self_heal="false")
    code, out, _ = run(["lint", str(repo), "--output", "json=-"], capsys)
    assert code == 1 and json.loads(out)["findings"]
    code, _, err = run(["lint", str(repo), "--format", "sarif", "--output", "json=-"], capsys)
    assert code == 2 and "standard output" in err


# item 8 -------------------------------------------------------------------------------------------

def test_repeated_select_and_ignore_add_up(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", self_heal="false")
    (repo / "dup.yaml").write_text("a: 1\na: 2\n")
    _, out, _ = run(["lint", str(repo), "--select", "automated-sync", "--select", "yaml-syntax",
                     "--format", "json"], capsys)
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"automated-sync", "yaml-syntax"}
    _, out, _ = run(["lint", str(repo), "--ignore", "automated-sync", "--ignore", "yaml-syntax",
                     "--format", "json"], capsys)
    assert not {f["rule"] for f in json.loads(out)["findings"]} & {"automated-sync", "yaml-syntax"}


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_an_empty_rule_list_is_a_usage_error(tmp_path, capsys, option):
    code, _, err = run(["lint", str(make_repo(tmp_path / "repo")), option, ""], capsys)
    assert code == 2 and option in err and "rule ids" in err


# item 9 -------------------------------------------------------------------------------------------

def test_text_paths_are_relative_to_the_working_directory(tmp_path, capsys, monkeypatch):
    repo = make_repo(tmp_path / "repo", self_heal="false")
    monkeypatch.chdir(repo / "argo")
    _, out, _ = run(["lint", "--select", "automated-sync"], capsys)
    assert out.startswith("apps/demo-app.yaml:10:17: error [automated-sync]")
    monkeypatch.chdir(tmp_path)
    _, out, _ = run(["lint", "repo", "--select", "automated-sync"], capsys)
    assert out.startswith("repo/argo/apps/demo-app.yaml:10:17:")
    _, out, _ = run(["lint", "repo", "--select", "automated-sync", "--path-base", "root"], capsys)
    assert out.startswith("argo/apps/demo-app.yaml:10:17:")


def test_ci_formats_are_relative_to_the_git_top_level(tmp_path, capsys, monkeypatch):
    """The GitOps root is a subfolder of the checkout: GitLab and GitHub resolve paths against
    the checkout, whatever folder the job ran lint from."""
    (tmp_path / ".git").mkdir()
    repo = make_repo(tmp_path / "platform", self_heal="false")
    monkeypatch.chdir(repo / "argo")
    want = "platform/argo/apps/demo-app.yaml"
    args = ["lint", str(repo), "--select", "automated-sync", "--format"]
    _, out, _ = run([*args, "codequality"], capsys)
    assert [i["location"]["path"] for i in json.loads(out)] == [want]
    _, out, _ = run([*args, "github"], capsys)
    assert out.startswith(f"::error file={want},line=10,")
    _, out, _ = run([*args, "sarif"], capsys)
    location = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == want
    _, out, _ = run([*args, "junit"], capsys)
    assert want in {c.get("file") for c in ET.fromstring(out).iter("testcase")}
    _, out, _ = run([*args, "json"], capsys)
    assert [f["path"] for f in json.loads(out)["findings"]] == [want]
    _, out, _ = run([*args, "json", "--path-base", "cwd"], capsys)
    assert [f["path"] for f in json.loads(out)["findings"]] == ["apps/demo-app.yaml"]


# item 10 ------------------------------------------------------------------------------------------

def test_lint_outside_any_repository_is_refused(tmp_path, capsys, monkeypatch):
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "x.yaml").write_text("a: 1\na: 2\n")
    monkeypatch.chdir(loose)
    code, out, err = run(["lint"], capsys)
    assert code == 2 and out == ""
    assert ".gitops-kit.yaml" in err and "argo/" in err and "git" in err and "--root" in err
    code, _, err = run(["lint", "x.yaml"], capsys)
    assert code == 2 and "--root" in err


def test_root_lints_a_folder_whatever_it_holds(tmp_path, capsys, monkeypatch):
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "x.yaml").write_text("a: 1\na: 2\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["lint", "--root", "loose", "--select", "yaml-syntax"], capsys)
    assert code == 1 and out.startswith("loose/x.yaml:2:")
    code, _, err = run(["lint", "--root", "loose", str(make_repo(tmp_path / "other"))], capsys)
    assert code == 2 and "is not in --root" in err


# item 12 ------------------------------------------------------------------------------------------

def test_exit_zero_and_fail_on(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", self_heal="false")
    assert run(["lint", str(repo), "--select", "automated-sync", "--exit-zero"], capsys)[0] == 0
    (repo / ".gitops-kit.yaml").write_text("rules:\n  automated-sync: {severity: warning}\n")
    assert run(["lint", str(repo), "--select", "automated-sync"], capsys)[0] == 0
    assert run(["lint", str(repo), "--select", "automated-sync", "--fail-on", "warning"], capsys)[0] == 1
    assert run(["lint", str(make_repo(tmp_path / "clean")), "--select", "automated-sync",
                "--fail-on", "info"], capsys)[0] == 0


@pytest.mark.parametrize("shell,needle", [("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete")])
def test_completion_scripts(capsys, shell, needle):
    code, out, _ = run(["completion", shell], capsys)
    assert code == 0 and needle in out and "_GITOPS_KIT_COMPLETE" in out


def test_completion_completes(capsys, monkeypatch):
    monkeypatch.setenv("_GITOPS_KIT_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "gitops-kit lint --fail")
    monkeypatch.setenv("COMP_CWORD", "2")
    code, out, _ = run([], capsys)
    assert code == 0 and "--fail-on" in out


def test_rules_as_json_with_effective_severity_and_fixability(tmp_path, capsys, monkeypatch):
    repo = make_repo(tmp_path / "repo")
    (repo / ".gitops-kit.yaml").write_text("rules:\n  automated-sync: {severity: warning}\n"
                                           "  app-health-check: {enabled: false}\n")
    monkeypatch.chdir(repo)
    code, out, _ = run(["rules", "--format", "json"], capsys)
    rules = {r["id"]: r for r in json.loads(out)}
    assert code == 0
    sync = rules["automated-sync"]
    assert (sync["severity"], sync["default_severity"], sync["enabled"], sync["fixable"]) == \
        ("warning", "error", True, True)
    assert rules["app-health-check"]["enabled"] is False and rules["app-health-check"]["fixable"] is False


def test_config_show_says_where_each_value_comes_from(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo")
    (repo / ".gitops-kit.yaml").write_text("repo:\n  url: https://deploy:s3cret@git.example.com/x.git\n"
                                           "rules:\n  automated-sync: {severity: warning}\n")
    code, out, _ = run(["config", "show", str(repo)], capsys)
    lines = out.splitlines()
    assert code == 0
    assert 'repo.url: "https://***@git.example.com/x.git"  # .gitops-kit.yaml:2' in lines
    assert 'repo.branch: "master"  # default' in lines
    assert 'rules.automated-sync.severity: "warning"  # .gitops-kit.yaml:4' in lines
    assert 'tier_label: "example.com/role"  # default' in lines
    assert "s3cret" not in out


def test_unknown_rule_ids_suggest_the_closest(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo")
    code, _, err = run(["lint", str(repo), "--select", "sync-wav"], capsys)
    assert code == 2 and "did you mean 'sync-wave'" in err
    code, _, err = run(["lint", str(repo), "--ignore", "automated-synk"], capsys)
    assert code == 2 and "did you mean 'automated-sync'" in err
    code, _, err = run(["rules", "explain", "node-tir"], capsys)
    assert code == 2 and "did you mean 'node-tier'" in err
    (repo / ".gitops-kit.yaml").write_text("tiers: [control, worker]\nrules:\n  topology-sprad: {enabled: false}\n")
    code, _, err = run(["lint", str(repo)], capsys)
    assert code == 2 and "did you mean 'topology-spread'" in err and ".gitops-kit.yaml:3:" in err


def test_rules_explain_shows_no_test_markers(capsys):
    from gitops_kit import catalog

    for rid in catalog.load():
        code, out, _ = run(["rules", "explain", rid], capsys)
        assert code == 0 and "expect:" not in out, rid


def test_the_generated_configuration_names_a_schema_that_is_there(base_repo):
    first = (base_repo / ".gitops-kit.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=.gitops-kit.schema.json"
    shipped = (PROJECT / "schemas" / "config.schema.json").read_text()
    assert (base_repo / ".gitops-kit.schema.json").read_text() == shipped


def test_the_blueprints_schema_copy_is_the_shipped_schema():
    copy = PROJECT / "blueprints" / "repo" / "{{cookiecutter.directory}}" / ".gitops-kit.schema.json"
    assert copy.read_text() == (PROJECT / "schemas" / "config.schema.json").read_text()


def test_config_schema_prints_the_shipped_schema(capsys):
    code, out, _ = run(["config", "schema"], capsys)
    assert code == 0 and out == (PROJECT / "schemas" / "config.schema.json").read_text()


# item 13 ------------------------------------------------------------------------------------------

def test_junit_has_a_case_per_finding_file_not_per_file_and_rule(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", self_heal="false")
    for i in range(30):
        (repo / f"extra-{i}.yaml").write_text(f"a: {i}\n")
    code, out, _ = run(["lint", str(repo), "--format", "junit"], capsys)
    root = ET.fromstring(out)
    suites = root.findall("testsuite")
    failed = sum(int(s.get("failures")) for s in suites)
    assert code == 1 and failed >= 1
    # one case per rule and file with findings, and one passed case per rule: not 31 files x rules
    assert int(root.get("tests")) == failed + len(suites)
    assert all(int(s.get("tests")) == int(s.get("failures")) + 1 for s in suites)
    assert len(out) < 20_000


def test_help_describes_the_new_options(capsys):
    code, out, _ = run(["lint", "--help"], capsys)
    for option in ("--path-base", "--root", "--fail-on", "--exit-zero", "repeatable"):
        assert option in out, option
