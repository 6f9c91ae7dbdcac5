"""Pure functions: findings -> text. One module per format."""

from __future__ import annotations

from typing import Any


def render(fmt: str, report: Any, colour: bool = False, base: str | None = None) -> str:
    """Render a :class:`gitops_kit.api.LintReport`, or a list of them (one per repository), in
    ``fmt``, with paths relative to ``base`` (see :mod:`gitops_kit.report.paths`; default: the
    format's own)."""
    from .paths import default_base, view

    v = view(report if isinstance(report, list) else [report], base or default_base(fmt), files=fmt == "junit")
    if fmt == "text":
        from .. import catalog
        from . import text

        reports = report if isinstance(report, list) else [report]
        lowered = sum(catalog.lowered(r) for r in reports if hasattr(r, "model"))
        return text.render(v.findings, v.summary, colour=colour, lowered=lowered)
    if fmt == "json":
        from . import json as json_report

        return json_report.render(v.findings, v.summary)
    if fmt == "sarif":
        from .. import catalog
        from . import sarif

        return sarif.render(v.findings, catalog.load())
    if fmt == "codequality":
        from . import codequality

        return codequality.render(v.findings)
    if fmt == "junit":
        from . import junit

        return junit.render(v.findings, v.checked_files, v.rules_run)
    if fmt == "github":
        from . import github

        return github.render(v.findings)
    raise ValueError(fmt)
