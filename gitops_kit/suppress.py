"""Suppressions: inline comments, file directives, object annotations and config ignores.

Every suppression must carry a reason, and one that suppresses nothing is reported: a
silenced rule is a decision someone has to be able to read and revisit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from . import discover
from .findings import Finding
from .model import IGNORE_ANNOTATION, RepoModel

_DIRECTIVE = re.compile(
    r"#\s*gitops-kit:\s*(?P<kind>disable-file|disable)\s*=\s*(?P<rules>[A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)"
    r"(?P<rest>.*)$")
_REASON = re.compile(r"""reason\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""")


@dataclass
class Suppression:
    """One place that silences rules."""

    kind: str  # "line", "file", "annotation", "config"
    path: str  # where the suppression is written
    line: int
    column: int
    rules: tuple[str, ...]
    reason: str
    target_path: str | None = None  # None with a glob: any path matching ``glob``
    lines: tuple[int, int] | None = None  # inclusive line range it covers; None: whole file
    glob: str | None = None
    app: str | None = None
    used: set[str] = field(default_factory=set)

    def covers(self, finding: Finding) -> bool:
        if finding.rule not in self.rules:
            return False
        if self.kind == "config":
            if self.glob is not None and not discover.matches(finding.path, [self.glob]):
                return False
            return self.app is None or finding.app == self.app
        if finding.path != self.target_path:
            return False
        return self.lines is None or self.lines[0] <= finding.line <= self.lines[1]


def _reason(rest: str) -> str:
    m = _REASON.search(rest)
    if not m:
        return ""
    return (m.group("dq") if m.group("dq") is not None else m.group("sq")).strip()


def collect(model: RepoModel) -> list[Suppression]:
    """Every suppression written in the repository and its configuration."""
    out: list[Suppression] = []
    for sf in model.files.values():
        text = sf.text
        if not text or "gitops-kit:" not in text:
            continue
        for no, line in enumerate(text.split("\n"), 1):
            if "gitops-kit:" not in line:
                continue
            hash_at = line.find("#")
            if hash_at < 0:
                continue
            m = _DIRECTIVE.search(line, hash_at)
            if not m:
                continue
            rules = tuple(r.strip() for r in m.group("rules").split(",") if r.strip())
            reason = _reason(m.group("rest"))
            col = m.start() + 1
            if m.group("kind") == "disable-file":
                out.append(Suppression("file", sf.path, no, col, rules, reason, sf.path, None))
            else:
                comment_only = line[:m.start()].strip() == ""
                span = (no, no + 1) if comment_only else (no, no)
                out.append(Suppression("line", sf.path, no, col, rules, reason, sf.path, span))
    for obj in model.objects:
        ann = obj.annotations()
        value = ann.get(IGNORE_ANNOTATION)
        if value is None:
            continue
        text = str(value)
        rules_part, _, reason = text.partition(":")
        rules = tuple(r.strip() for r in rules_part.split(",") if r.strip())
        first = last = None
        for index, start, end in obj.file.doc_ranges():
            if index == obj.doc:
                first, last = start, end
        line, col = ann.value_pos(IGNORE_ANNOTATION)
        out.append(Suppression("annotation", obj.path, line, col, rules, reason.strip(), obj.path,
                               (first or 1, last or 10**9)))
    cfg = model.config
    for i, item in enumerate(cfg.ignores):
        line = cfg.pos_of("ignore", i) or 1
        out.append(Suppression("config", cfg.path or ".gitops-kit.yaml", line, 1, tuple(item.get("rules") or ()),
                               str(item.get("reason") or "").strip(), None, None, glob=item.get("path"),
                               app=item.get("app")))
    return out


def apply(findings: Iterable[Finding], suppressions: list[Suppression]) -> tuple[list[Finding], int]:
    """Drop suppressed findings; mark which suppressions were used. Returns (kept, dropped count)."""
    by_path: dict[str, list[Suppression]] = {}
    global_ones = []
    for sup in suppressions:
        if sup.kind == "config":
            global_ones.append(sup)
        else:
            by_path.setdefault(sup.target_path or "", []).append(sup)
    kept, dropped = [], 0
    for finding in findings:
        hit = False
        for sup in (*by_path.get(finding.path, ()), *global_ones):
            if sup.covers(finding):
                sup.used.add(finding.rule)
                hit = True
        if hit:
            dropped += 1
        else:
            kept.append(finding)
    return kept, dropped
