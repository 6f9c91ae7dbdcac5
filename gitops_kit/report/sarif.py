"""SARIF 2.1.0 (GitHub code scanning, GitLab, IDEs), valid against the OASIS schema."""

from __future__ import annotations

import json

from .. import __version__
from ..catalog import RuleSpec
from ..findings import Finding, Severity

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render(findings: list[Finding], specs: dict[str, RuleSpec]) -> str:
    """One run, with metadata for every rule a result references."""
    used = sorted({f.rule for f in findings})
    index = {rid: i for i, rid in enumerate(used)}
    rules = []
    for rid in used:
        spec = specs.get(rid)
        summary = spec.summary if spec else rid
        rule = {"id": rid, "name": "".join(p.capitalize() for p in rid.split("-")),
                "shortDescription": {"text": summary},
                "fullDescription": {"text": spec.why if spec else summary},
                "help": {"text": spec.fix if spec else summary,
                         "markdown": f"**{summary}**\n\n{spec.why}\n\n**Fix:** {spec.fix}" if spec else summary},
                "defaultConfiguration": {"level": _LEVEL[spec.severity] if spec else "error"}}
        rules.append(rule)
    results = []
    for f in findings:
        results.append({
            "ruleId": f.rule, "ruleIndex": index[f.rule], "level": _LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": f.path, "uriBaseId": "SRCROOT"},
                "region": {"startLine": f.line, "startColumn": f.column}}}],
            "partialFingerprints": {"gitopsKitFingerprint/v1": f.fingerprint},
            **_related(f),
            **_properties(f),
        })
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "gitops-kit", "version": __version__, "semanticVersion": __version__,
                            "informationUri": "https://gitlab.example.com/platform/gitops-kit", "rules": rules}},
        "columnKind": "unicodeCodePoints",
        "results": results}]}
    return json.dumps(doc, indent=2) + "\n"


def _location(path: str, line: int, column: int, text: str, index: int) -> dict:
    return {"id": index, "message": {"text": text}, "physicalLocation": {
        "artifactLocation": {"uri": path, "uriBaseId": "SRCROOT"},
        "region": {"startLine": line, "startColumn": column}}}


def _related(f: Finding) -> dict:
    """The finding's cause first (fix it, and this one may go away), then the places it is about."""
    places = []
    if f.cause is not None:
        c = f.cause
        places.append(_location(c.path, c.line, c.column, f"follows from [{c.rule}] here", 0))
    for loc in f.related:
        places.append(_location(loc.path, loc.line, loc.column, "related", len(places)))
    return {"relatedLocations": places} if places else {}


def _properties(f: Finding) -> dict:
    props: dict = {}
    if f.app:
        props["app"] = f.app
    if f.cause is not None:
        props["causeFingerprint"] = f.cause.fingerprint
    return {"properties": props} if props else {}
