"""rules/*.yaml -> RuleSpec: the one source of rule metadata (CLI, docs, SARIF, tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

from . import data, yamlio
from .findings import Severity

_plain = partial(yamlio.plain, str_keys=True)  # YMap/YSeq -> JSON-like data

_REQUIRED = ("id", "severity", "summary", "check", "why", "fix", "examples")


@dataclass(frozen=True)
class Example:
    """A documented case: files overlaid on the reference example; ``None`` content deletes."""

    name: str
    kind: str  # "fail" or "pass"
    description: str
    files: dict[str, str | None]


@dataclass(frozen=True)
class RuleSpec:
    """A rule: data plus the name of the check that implements it."""

    id: str
    severity: Severity
    summary: str
    check: str
    why: str
    fix: str
    params: dict[str, Any] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()
    references: tuple[str, ...] = ()

    def example(self, kind: str) -> Example | None:
        return next((e for e in self.examples if e.kind == kind), None)


class CatalogError(Exception):
    """A shipped rule file is malformed (a bug in gitops-kit, caught by its tests)."""




def parse(name: str, text: str) -> RuleSpec:
    """One rule file's text as a RuleSpec."""
    loaded = yamlio.load_text(text)
    if loaded.problems or not loaded.documents or not isinstance(loaded.documents[0].data, dict):
        raise CatalogError(f"{name}: not a YAML mapping ({[p.message for p in loaded.problems]})")
    data = _plain(loaded.documents[0].data)
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise CatalogError(f"{name}: missing {missing}")
    examples = []
    for case in data["examples"]:
        kind = case["name"].split("_", 1)[0]
        if kind not in ("fail", "pass"):
            raise CatalogError(f"{name}: example {case['name']!r} must start with fail_ or pass_")
        examples.append(Example(case["name"], kind, case.get("description", ""), dict(case.get("files") or {})))
    if not any(e.kind == "fail" for e in examples) or not any(e.kind == "pass" for e in examples):
        raise CatalogError(f"{name}: needs a fail_ and a pass_ example")
    return RuleSpec(id=data["id"], severity=Severity.parse(data["severity"]), summary=data["summary"].strip(),
                    check=data["check"], why=data["why"].strip(), fix=data["fix"].strip(),
                    params=dict(data.get("params") or {}), examples=tuple(examples),
                    references=tuple(data.get("references") or ()))


@lru_cache(maxsize=1)
def load() -> dict[str, RuleSpec]:
    """Every shipped rule, by id, in id order."""
    specs: dict[str, RuleSpec] = {}
    folder = data.folder("rules")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        spec = parse(entry.name, entry.read_text(encoding="utf-8"))
        if spec.id + ".yaml" != entry.name:
            raise CatalogError(f"{entry.name}: id {spec.id!r} does not match the file name")
        specs[spec.id] = spec
    return dict(sorted(specs.items()))
