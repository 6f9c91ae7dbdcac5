"""GitLab Code Quality JSON, as the merge-request widget reads it."""

from __future__ import annotations

import json

from ..findings import Finding, Severity

_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def render(findings: list[Finding]) -> str:
    """A JSON array of issues."""
    issues = [{"type": "issue", "check_name": f.rule, "description": f"[{f.rule}] {f.message}",
               "categories": ["Bug Risk"], "fingerprint": f.fingerprint, "severity": _SEVERITY[f.severity],
               "location": {"path": f.path, "lines": {"begin": f.line}}} for f in findings]
    return json.dumps(issues, indent=2) + "\n"
