"""The command line: exit codes, formats, options, configuration errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_kit.cli import main
from cli_helpers import make_repo
from gitops_kit.config import schema

def run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and "0.1.0" in out


def test_rules_lists_every_rule(capsys):
    from gitops_kit import catalog

    code, out, _ = run(["rules"], capsys)
    assert code == 0
    for rid in catalog.load():
        assert rid in out


def test_rules_explain_shows_why_and_examples(capsys):
    code, out, _ = run(["rules", "explain", "automated-sync"], capsys)
    assert code == 0
    assert "Why is this bad?" in out and "Example that fails" in out and "Example that passes" in out


def test_rules_explain_unknown_is_usage_error(capsys):
    code, _, err = run(["rules", "explain", "no-such-rule"], capsys)
    assert code == 2 and "no-such-rule" in err


def test_exit_1_on_error_and_text_format(tmp_path, capsys):
    repo = make_repo(tmp_path, self_heal="false")
    code, out, _ = run(["lint", str(repo), "--select", "automated-sync"], capsys)
    assert code == 1
    assert "argo/apps/demo-app.yaml:10:17: error [automated-sync]" in out
    # the summary, then (as ruff does) what --fix could repair
    assert out.strip().splitlines()[-2].startswith("1 error(s)")
    assert out.strip().splitlines()[-1].startswith("[*] 0 fixable")


def test_exit_0_when_clean_for_selected_rule(tmp_path, capsys):
    repo = make_repo(tmp_path)
    code, out, _ = run(["lint", str(repo), "--select", "automated-sync"], capsys)
    assert code == 0 and "0 error(s)" in out


def test_json_output_validates_against_its_schema(tmp_path, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    repo = make_repo(tmp_path, self_heal="false")
    code, out, _ = run(["lint", str(repo), "--format", "json"], capsys)
    doc = json.loads(out)
    jsonschema.validate(doc, schema("report.schema.json"))
    assert code == 1 and doc["summary"]["error"] >= 1
    assert any(f["rule"] == "automated-sync" and f["line"] == 10 for f in doc["findings"])


def test_severity_filter_and_ignore(tmp_path, capsys):
    repo = make_repo(tmp_path, self_heal="false")
    code, out, _ = run(["lint", str(repo), "--ignore", "automated-sync", "--format", "json"], capsys)
    assert all(f["rule"] != "automated-sync" for f in json.loads(out)["findings"])
    code, out, _ = run(["lint", str(repo), "--severity", "error", "--format", "json"], capsys)
    assert all(f["severity"] == "error" for f in json.loads(out)["findings"])


def test_unknown_rule_in_select_is_usage_error(tmp_path, capsys):
    code, _, err = run(["lint", str(make_repo(tmp_path)), "--select", "nope"], capsys)
    assert code == 2 and "nope" in err


def test_missing_path_is_usage_error(tmp_path, capsys):
    code, _, err = run(["lint", str(tmp_path / "missing")], capsys)
    assert code == 2 and "missing" in err


@pytest.mark.parametrize("content,needle,line", [
    ("tiers: control\n", "tiers", 1),
    ("repo:\n  url: x\n  branchh: main\n", "branchh", 3),
    ("rules:\n  sync-wave:\n    severity: fatal\n", "severity", 3),
    ("rules:\n  no-such-rule: {enabled: false}\n", "no-such-rule", 2),
    ("rules:\n  automated-sync:\n    params:\n      requires: [prune]\n", "requires", 4),
    ("a: [1,\n", "syntax", 2),
    ("- 1\n- 2\n", "mapping", 1),
])
def test_bad_config_is_exit_2_with_key_and_line(tmp_path, capsys, content, needle, line):
    repo = make_repo(tmp_path)
    (repo / ".gitops-kit.yaml").write_text(content)
    code, _, err = run(["lint", str(repo)], capsys)
    assert code == 2
    assert needle in err and f".gitops-kit.yaml:{line}:" in err


def test_config_can_change_severity_and_disable(tmp_path, capsys):
    repo = make_repo(tmp_path, self_heal="false")
    (repo / ".gitops-kit.yaml").write_text("rules:\n  automated-sync: {severity: warning}\n")
    code, out, _ = run(["lint", str(repo), "--select", "automated-sync"], capsys)
    assert code == 0 and "warning [automated-sync]" in out
    (repo / ".gitops-kit.yaml").write_text("rules:\n  automated-sync: {enabled: false}\n")
    code, out, _ = run(["lint", str(repo), "--format", "json"], capsys)
    assert all(f["rule"] != "automated-sync" for f in json.loads(out)["findings"])


def test_given_files_limit_findings_but_not_context(tmp_path, capsys):
    repo = make_repo(tmp_path, self_heal="false")
    (repo / "other.yaml").write_text("a: 1\na: 2\n")
    code, out, _ = run(["lint", str(repo / "other.yaml"), "--format", "json"], capsys)
    paths = {f["path"] for f in json.loads(out)["findings"]}
    assert paths == {"other.yaml"}


def test_console_script_runs_as_a_process(tmp_path):
    repo = make_repo(tmp_path, self_heal="false")
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "gitops_kit.cli", "lint", str(repo), "--select", "automated-sync"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "\x1b[" not in proc.stdout and "Traceback" not in proc.stderr


def test_the_console_scripts_fast_exit_loses_no_output(tmp_path):
    # after lint the process leaves with os._exit: everything must be flushed and written first
    repo = make_repo(tmp_path, self_heal="false")
    sarif = tmp_path / "out.sarif"
    proc = subprocess.run([sys.executable, "-m", "gitops_kit.cli", "lint", str(repo), "--select", "automated-sync",
                           "--format", "json", "--output", f"sarif={sarif}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert [f["rule"] for f in report["findings"]] == ["automated-sync"]
    assert json.loads(sarif.read_text())["runs"][0]["results"]


def test_only_lint_run_as_the_console_script_turns_the_garbage_collector_off(tmp_path, monkeypatch, capsys):
    import gc

    from gitops_kit import cli

    repo = make_repo(tmp_path)
    monkeypatch.setattr(cli, "_CONSOLE", True)
    try:
        assert main(["rules"]) == 0
        assert gc.isenabled()
        assert main(["lint", str(repo), "--no-cache", "--select", "automated-sync"]) == 0
        assert not gc.isenabled()
        gc.enable()
        monkeypatch.setattr(cli, "_CONSOLE", False)  # called as a library: the collector is left as found
        assert main(["lint", str(repo), "--no-cache", "--select", "automated-sync"]) == 0
        assert gc.isenabled()
    finally:
        gc.enable()


def _lint_process(repo: Path, stdout, *extra: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gitops_kit.cli", "lint", str(repo), "--select", "automated-sync",
                             "--no-cache", *extra], stdout=stdout, stderr=subprocess.PIPE, text=True, **popen)


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    # `gitops-kit lint | head`: no traceback; the exit code still says what lint found
    repo = make_repo(tmp_path, self_heal="false")
    read_end, write_end = os.pipe()
    os.close(read_end)  # gone before lint writes a byte
    with os.fdopen(write_end, "w") as pipe:
        proc = _lint_process(repo, pipe, "--output", f"json={tmp_path / 'out.json'}")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and err == ""
    assert json.loads((tmp_path / "out.json").read_text())["findings"]  # the --output file is still written


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_disk_on_stdout_is_reported_in_one_line(tmp_path):
    repo = make_repo(tmp_path, self_heal="false")
    with open("/dev/full", "w") as full:
        proc = _lint_process(repo, full)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err == "gitops-kit: error: cannot write the report to standard output: No space left on device\n"


def test_a_closed_stdout_is_reported_in_one_line(tmp_path):
    repo = make_repo(tmp_path, self_heal="false")
    out = tmp_path / "out.json"
    proc = _lint_process(repo, subprocess.DEVNULL, "--output", f"json={out}", preexec_fn=lambda: os.close(1))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err == "gitops-kit: error: cannot write the report to standard output: standard output is closed\n"
    assert json.loads(out.read_text())["findings"]


def test_a_ci_lint_imports_nothing_it_does_not_use(tmp_path):
    """Start-up is part of every pre-commit and CI run: no cache (hashing, signing), no
    importlib.resources (tempfile, shutil, zipfile), no subprocess when the root has a marker."""
    from helpers import reference_copy

    root = reference_copy(tmp_path / "repo")
    code = ("import sys; from gitops_kit.cli import main; code = main(['lint', '--no-cache', sys.argv[1]]); "
            "print(sorted(m for m in ('gitops_kit.cache', 'hmac', 'importlib.resources', 'tempfile', 'zipfile', "
            "'subprocess') if m in sys.modules)); sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent, env={**os.environ, "GITOPS_KIT_JOBS": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_rules_are_found_through_a_symlinked_package(tmp_path):
    """A package folder reached through a link (a PYTHONPATH of links, stow, Bazel) still finds
    the rules and schemas that lie beside the real folder."""
    package = Path(__file__).parent.parent / "gitops_kit"
    links = tmp_path / "links"
    links.mkdir()
    (links / "gitops_kit").symlink_to(package, target_is_directory=True)
    code = "import gitops_kit, gitops_kit.catalog as c; print(gitops_kit.__file__, len(c.load()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(links)})
    assert out.returncode == 0, out.stderr
    where, count = out.stdout.split()
    assert where.startswith(str(links)) and int(count) >= 20


@pytest.mark.parametrize("text", [
    'repo: {url: ["https://deploy:glpat-abcdefghij0123456789@gitlab.example.com/x.git"]}\n',
    'repo: {url: "https://deploy:glpat-abcdefghij0123456789@gitlab.example.com/x.git",\n'
    '       branch: ["glpat-abcdefghij0123456789"]}\n',
    'tiers: "glpat-abcdefghij0123456789"\n',
    'layers: [{name: "glpat-abcdefghij0123456789"}]\n',
])
def test_a_configuration_error_never_prints_the_value(tmp_path, capsys, text):
    """A repository URL may carry a token: the error names the key, the line and what is
    expected, never the value (the validator's own messages quote it)."""
    root = make_repo(tmp_path)
    (root / ".gitops-kit.yaml").write_text(text)
    assert main(["lint", str(root)]) == 2
    err = capsys.readouterr().err
    assert "invalid configuration at" in err and ".gitops-kit.yaml:" in err
    assert "glpat" not in err and "abcdefghij" not in err, err
