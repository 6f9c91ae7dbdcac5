"""Pure functions: findings -> text. One module per format."""

from __future__ import annotations

from typing import Any


def render(fmt: str, report: Any, colour: bool = False) -> str:
    """Render a :class:`gitops_kit.api.LintReport` in ``fmt``."""
    if fmt == "text":
        from . import text

        return text.render(report.findings, report.summary(), colour=colour)
    if fmt == "json":
        from . import json as json_report

        return json_report.render(report.findings, report.summary())
    if fmt == "sarif":
        from .. import catalog
        from . import sarif

        return sarif.render(report.findings, catalog.load())
    if fmt == "codequality":
        from . import codequality

        return codequality.render(report.findings)
    if fmt == "junit":
        from . import junit

        return junit.render(report.findings, report.checked_files, report.rules_run)
    if fmt == "github":
        from . import github

        return github.render(report.findings)
    raise ValueError(fmt)
