"""Baselines: record today's findings by fingerprint, then report only new ones.

Fingerprints hash the rule, the path and the identity of the object and key, not the line,
so a baseline survives edits that shift lines. Counts are kept per fingerprint, so a second
identical problem in the same place is still reported as new.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .errors import UsageError
from .findings import Finding
from .yamlio import atomic_write

VERSION = 1


def write(path: Path, findings: list[Finding]) -> None:
    """Record ``findings`` in a baseline file (JSON, sorted: reviewable in a diff)."""
    counts = Counter(f.fingerprint for f in findings)
    entries = {}
    for f in sorted(findings, key=lambda f: (f.fingerprint, f.path)):
        entries.setdefault(f.fingerprint, {"rule": f.rule, "path": f.path, "count": counts[f.fingerprint]})
    doc = {"version": VERSION, "tool": "gitops-kit", "findings": dict(sorted(entries.items()))}
    atomic_write(path, json.dumps(doc, indent=2) + "\n", overwrite=True)


def read(path: Path) -> Counter:
    """Fingerprint -> how many findings the baseline accepts."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read baseline: {exc.strerror}", str(path)) from None
    except ValueError:
        raise UsageError("baseline is not valid JSON", str(path)) from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or not isinstance(doc.get("findings"), dict):
        raise UsageError(f"not a gitops-kit baseline (version {VERSION})", str(path))
    return Counter({fp: int(entry.get("count", 1)) for fp, entry in doc["findings"].items()})


def new_findings(findings: list[Finding], accepted: Counter) -> tuple[list[Finding], int]:
    """Findings beyond what the baseline accepts, and how many were accepted."""
    left = Counter(accepted)
    out, matched = [], 0
    for f in findings:
        if left[f.fingerprint] > 0:
            left[f.fingerprint] -= 1
            matched += 1
        else:
            out.append(f)
    return out, matched
