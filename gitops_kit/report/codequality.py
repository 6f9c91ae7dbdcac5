"""GitLab Code Quality JSON, as the merge-request widget reads it."""

from __future__ import annotations

import hashlib
import json

from ..findings import Finding, Severity

_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def render(findings: list[Finding]) -> str:
    """A JSON array of issues."""
    seen: set[str] = set()
    issues = [{"type": "issue", "check_name": f.rule, "description": f"[{f.rule}] {f.message}",
               "categories": ["Bug Risk"], "fingerprint": _unique(f, seen), "severity": _SEVERITY[f.severity],
               "location": {"path": f.path, "lines": {"begin": f.line}}} for f in findings]
    return json.dumps(issues, indent=2) + "\n"


def _unique(f: Finding, seen: set[str]) -> str:
    """The finding's fingerprint, or, when another issue has it already (the same file path in two
    repositories of one run), one that also hashes the path: GitLab keys issues by it."""
    fp = f.fingerprint
    if fp in seen:
        fp = hashlib.sha256(f"{fp}\x00{f.path}".encode()).hexdigest()[:20]
    seen.add(fp)
    return fp
