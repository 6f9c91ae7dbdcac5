"""Findings: what a check reports (Hit) and what the engine makes of it (Finding)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import IntEnum

Pos = tuple[int, int]
# A finding another one may follow from, as a check names it: (rule id, path, key).
CauseKey = tuple[str, str, str]


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
    # Other places the finding is about (a dependency's file, the bundle directory where a missing
    # object belongs): a run focused on one of them (pre-commit) reports the finding, too.
    # A path may name a directory: it then covers every file below it, deleted ones included.
    related: tuple[tuple[str, Pos], ...] = ()
    # Findings this one may follow from, most likely first (see :func:`cause_key`): when one of
    # them is reported, the engine links this finding to it (``Finding.cause``).
    causes: tuple[CauseKey, ...] = ()
    # What repairs it, for ``lint --fix`` (e.g. "create": the object is missing from the bundle);
    # fixers read this, never the message text.
    remedy: str | None = None


@dataclass(frozen=True)
class Location:
    """A related place of a finding (``path`` may be a directory)."""

    path: str
    line: int = 1
    column: int = 1

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class CauseRef:
    """The finding another one follows from: fix it first, and the other may go away."""

    rule: str
    path: str
    line: int
    column: int
    fingerprint: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "path": self.path, "line": self.line, "column": self.column,
                "fingerprint": self.fingerprint}

    def __str__(self) -> str:
        return f"[{self.rule}] {self.path}:{self.line}:{self.column}"


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
    related: tuple[Location, ...] = ()
    cause: CauseRef | None = None
    # Fingerprints of the findings it may follow from (the engine picks the first reported one).
    causes: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # "safe" or "unsafe" when ``lint --fix`` (with ``--unsafe-fixes``) can repair it, else None.
    fix: str | None = None
    remedy: str | None = field(default=None, compare=False, repr=False)  # Hit.remedy

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.rule, self.message)

    def as_dict(self) -> dict:
        out = {"rule": self.rule, "severity": str(self.severity), "path": self.path, "line": self.line,
               "column": self.column, "message": self.message, "app": self.app,
               "fingerprint": self.fingerprint}
        if self.related:
            out["related"] = [loc.as_dict() for loc in self.related]
        if self.cause is not None:
            out["cause"] = self.cause.as_dict()
        if self.fix is not None:
            out["fix"] = self.fix
        return out


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


def cause_key(rule: str, path: str, key: str) -> CauseKey:
    """How a check names a finding of ``rule`` (at ``path`` with ``key``) another may follow from."""
    return (rule, path, key)


def fingerprint(rule: str, path: str, key: str) -> str:
    """A stable id of a finding that does not depend on its line number."""
    return hashlib.sha256(f"{rule}\x00{path}\x00{key}".encode()).hexdigest()[:20]
