"""Findings: what a check reports (Hit) and what the engine makes of it (Finding)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum

Pos = tuple[int, int]


class Severity(IntEnum):
    """Ordered so that ``max()`` gives the worst."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @classmethod
    def parse(cls, text: str) -> "Severity":
        """Severity from its lower-case name."""
        return cls[text.upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Hit:
    """A check's report: where and what; the engine adds rule id, severity and fingerprint.

    ``key`` names the thing the hit is about (object identity and key path) so that the
    fingerprint survives line shifts; it defaults to the message.
    """

    path: str
    pos: Pos
    message: str
    app: str | None = None
    key: str | None = None
    severity: Severity | None = None  # only for checks whose rule has two levels


@dataclass(frozen=True)
class Finding:
    """One reported problem."""

    rule: str
    severity: Severity
    path: str
    line: int
    column: int
    message: str
    app: str | None
    fingerprint: str

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.rule, self.message)

    def as_dict(self) -> dict:
        return {"rule": self.rule, "severity": str(self.severity), "path": self.path, "line": self.line,
                "column": self.column, "message": self.message, "app": self.app,
                "fingerprint": self.fingerprint}


def show(value: object) -> str:
    """A YAML-looking rendering of a scalar for messages (``true``, ``null``, ``"0"``)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return str(value)


def fingerprint(rule: str, path: str, key: str) -> str:
    """A stable id of a finding that does not depend on its line number."""
    return hashlib.sha256(f"{rule}\x00{path}\x00{key}".encode()).hexdigest()[:20]
