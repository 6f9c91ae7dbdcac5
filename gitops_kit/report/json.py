"""The JSON report, documented by schemas/report.schema.json."""

from __future__ import annotations

import json

from ..findings import Finding


def render(findings: list[Finding], summary: dict) -> str:
    """``{"version": 1, "findings": [...], "summary": {...}}``."""
    doc = {"version": 1, "findings": [f.as_dict() for f in findings], "summary": summary}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
