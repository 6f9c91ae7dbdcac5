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
    # False for a rule that runs only when the configuration enables it (one that runs a program).
    enabled: bool = True

    def example(self, kind: str) -> Example | None:
        return next((e for e in self.examples if e.kind == kind), None)


class CatalogError(Exception):
    """A shipped rule file is malformed (a bug in gitops-kit, caught by its tests)."""


def unknown_rule(rid: str, specs: dict[str, RuleSpec]) -> str:
    """The message for a rule id that is not in the catalog, with the closest ids when some are
    near (a typo such as ``sync-wav``)."""
    import difflib

    near = difflib.get_close_matches(rid, list(specs), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(n) for n in near)}? " if near else ""
    return f"unknown rule {rid!r} ({hint}see 'gitops-kit rules')"


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
                    references=tuple(data.get("references") or ()), enabled=data.get("enabled", True) is not False)


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


def table(specs: dict[str, RuleSpec], cfg: Any, fixable: set[str]) -> list[dict[str, Any]]:
    """``rules --format json``: each rule with its shipped and its effective severity and whether it
    runs (both after ``cfg``, the repository's configuration), and whether ``lint --fix`` can fix
    its findings (``fixable``: the rules with a fixer)."""
    out = []
    for spec in specs.values():
        settings = cfg.rule_settings(spec.id)
        out.append({"id": spec.id, "summary": spec.summary, "default_severity": str(spec.severity),
                    "severity": str(settings.get("severity") or spec.severity),
                    "enabled": bool(settings.get("enabled", spec.enabled)), "fixable": spec.id in fixable})
    return out
