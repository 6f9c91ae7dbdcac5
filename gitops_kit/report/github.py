"""GitHub Actions workflow commands: ``::error file=...,line=...,col=...::message``."""

from __future__ import annotations

from ..findings import Finding, Severity

_CMD = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: list[Finding]) -> str:
    """One annotation line per finding."""
    lines = [f"::{_CMD[f.severity]} file={_prop(f.path)},line={f.line},col={f.column},"
             f"title={_prop('gitops-kit ' + f.rule)}::{_data(f.message)}" for f in findings]
    return "".join(line + "\n" for line in lines)
