"""The progress line: on a terminal after a delay, erased at the end, never on pipes, in CI or in output."""

from __future__ import annotations

import io
import json
import os

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


@pytest.fixture
def terminal(monkeypatch) -> Terminal:
    """A terminal on stderr, outside CI and pre-commit."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    return Terminal()


def _count(term: Terminal, delay: float, total: int) -> str:
    progress.start(term, delay=delay)
    progress.phase("parsing files", total)
    for _ in range(total):
        progress.tick()
    return term.getvalue()


def test_drawn_on_a_terminal_once_due_and_erased(monkeypatch, terminal):
    monkeypatch.setattr(progress, "REDRAW", 0)
    term = terminal
    _count(term, 0, 200)
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


def test_not_drawn_before_the_delay(terminal):
    assert _count(terminal, 3600, 10_000) == ""
    progress.stop()
    assert terminal.getvalue() == ""


@pytest.mark.parametrize("env", [{"CI": "true"}, {"TERM": "dumb"}, {"PRE_COMMIT": "1"}])
def test_silent_in_ci_and_dumb_terminals(monkeypatch, terminal, env):
    assert progress.wanted(terminal)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert not progress.wanted(terminal)


def test_a_lint_with_stderr_on_a_pipe_draws_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(progress, "DELAY", 0)  # due at once: only the missing terminal keeps it silent
    root = reference_copy(tmp_path / "repo")
    assert main(["lint", str(root), "--no-cache"]) == 0
    out, err = capsys.readouterr()
    assert "gitops-kit:" not in err + out and "\r" not in err + out


def test_never_wider_than_the_terminal(monkeypatch, terminal):
    monkeypatch.setattr(progress, "REDRAW", 0)
    monkeypatch.setattr(progress.os, "get_terminal_size", lambda fd: os.terminal_size((30, 24)))
    monkeypatch.setattr(terminal, "fileno", lambda: 2, raising=False)
    out = _count(terminal, 0, 1000)
    progress.stop()
    frames = [frame.removesuffix("\x1b[K") for frame in out.split("\r") if frame]
    assert frames and all(len(frame) <= 29 for frame in frames)
    assert frames[0].startswith("gitops-kit: parsing files")


def test_lint_on_a_terminal_keeps_stdout_clean(tmp_path, monkeypatch, capsys, terminal):
    """With a delay of zero the line is drawn during a real lint; stdout still holds only the report."""
    monkeypatch.setattr(progress, "DELAY", 0)
    term = terminal
    monkeypatch.setattr("sys.stderr", term)
    root = reference_copy(tmp_path / "repo")
    assert main(["lint", str(root), "--format", "json", "--no-cache"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["files"] > 100
    drawn = term.getvalue()
    assert "gitops-kit: parsing files" in drawn and "checking rules" in drawn and drawn.endswith("\r\x1b[K")
