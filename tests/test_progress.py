"""The progress line: on a terminal after a delay, erased at the end, never on pipes, in CI or in output."""

from __future__ import annotations

import io
import json

import pytest

from gitops_kit import progress
from gitops_kit.cli import main
from helpers import reference_copy


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _reset():
    yield
    progress.silence()


def test_drawn_on_a_terminal_once_due_and_erased(monkeypatch):
    monkeypatch.setattr(progress, "REDRAW", 0)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    term = Terminal()
    progress.start(term, delay=0)
    progress.phase("parsing files", 200)
    for _ in range(200):
        progress.tick()
    progress.phase("checking rules", 20)
    progress.tick(1.5)
    progress.stop()
    out = term.getvalue()
    assert "checking rules 1/20" in out  # fractional ticks, whole numbers shown
    assert "\rgitops-kit: parsing files 0/200 [........................]" in out
    assert "\rgitops-kit: parsing files 200/200 [########################]" in out
    assert "checking rules 0/20" in out
    assert out.endswith("\r\x1b[K")  # the last thing written erases the line
    assert "\n" not in out


def test_not_drawn_before_the_delay(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    term = Terminal()
    progress.start(term, delay=3600)
    progress.phase("parsing files", 10_000)
    for _ in range(10_000):
        progress.tick()
    progress.stop()
    assert term.getvalue() == ""


@pytest.mark.parametrize("env", [{"CI": "true"}, {"TERM": "dumb"}])
def test_silent_in_ci_and_dumb_terminals(monkeypatch, env):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert not progress.wanted(Terminal())


def test_silent_on_a_pipe(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert not progress.wanted(io.StringIO())


def test_lint_on_a_terminal_keeps_stdout_clean(tmp_path, monkeypatch, capsys):
    """With a delay of zero the line is drawn during a real lint; stdout still holds only the report."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(progress, "DELAY", 0)
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    root = reference_copy(tmp_path / "repo")
    assert main(["lint", str(root), "--format", "json", "--no-cache"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["files"] > 100
    drawn = term.getvalue()
    assert "gitops-kit: parsing files" in drawn and "checking rules" in drawn and drawn.endswith("\r\x1b[K")
