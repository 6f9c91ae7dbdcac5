"""rules/*.yaml -> RuleSpec: the one source of rule metadata (CLI, docs, SARIF, tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

from . import data, yamlio
from .findings import Severity

_plain = partial(yamlio.plain, str_keys=True)  # YMap/YSeq -> JSON-like data

_REQUIRED = ("id", "severity", "summary", "check", "why", "fix", "convention", "examples")


@dataclass(frozen=True)
class Example:
    """A documented case: files overlaid on the reference example; ``None`` content deletes."""

    name: str
    kind: str  # "fail" or "pass"
    description: str
    files: dict[str, str | None]


@dataclass(frozen=True)
class FindingKind:
    """One kind of finding of a rule that mixes conventions and breakages (``convention:`` as a
    mapping in its rule file): its name, whether it judges a convention, and what it reports."""

    name: str
    convention: bool
    what: str


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
    # Whether every finding judges a convention of the seed layout (an opinion), not something that
    # breaks a sync or loses data: at most a warning in a repository that has not opted into the
    # conventions (Config.conventions). A rule that mixes both is False here and lists its kinds.
    convention: bool = False
    kinds: tuple[FindingKind, ...] = ()

    @property
    def convention_label(self) -> str:
        """``yes`` (every finding judges a convention), ``no``, or ``partly`` (see ``kinds``)."""
        if self.convention:
            return "yes"
        return "partly" if any(k.convention for k in self.kinds) else "no"

    def example(self, kind: str) -> Example | None:
        return next((e for e in self.examples if e.kind == kind), None)


# ``gitops-kit rules``: the column that says whether a rule judges a convention of the seed layout.
CONVENTION_MARK = {"yes": "convention", "partly": "mixed", "no": ""}


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
    convention, kinds = _convention(name, data["convention"])
    return RuleSpec(id=data["id"], severity=Severity.parse(data["severity"]), summary=data["summary"].strip(),
                    check=data["check"], why=data["why"].strip(), fix=data["fix"].strip(),
                    params=dict(data.get("params") or {}), examples=tuple(examples),
                    references=tuple(data.get("references") or ()), enabled=data.get("enabled", True) is not False,
                    convention=convention, kinds=kinds)


def _convention(name: str, value: Any) -> tuple[bool, tuple[FindingKind, ...]]:
    """``convention:`` of a rule file: a boolean, or one ``{convention, what}`` per kind of finding."""
    if isinstance(value, bool):
        return value, ()
    if not isinstance(value, dict) or len(value) < 2:
        raise CatalogError(f"{name}: convention must be true, false or a mapping of two kinds of finding or more")
    kinds = []
    for kind, entry in value.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("convention"), bool) or not entry.get("what"):
            raise CatalogError(f"{name}: convention.{kind} needs convention (true or false) and what")
        kinds.append(FindingKind(str(kind), entry["convention"], str(entry["what"]).strip()))
    if all(k.convention for k in kinds) or not any(k.convention for k in kinds):
        raise CatalogError(f"{name}: convention lists kinds that are all alike: write true or false")
    return False, tuple(kinds)


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


def severity_override(spec: RuleSpec, cfg: Any) -> str | None:
    """THE severity decision of a run with ``cfg``: the severity every finding of ``spec`` gets,
    or None when each finding keeps its own (the level its check gives it, else the rule's).

    An explicit ``rules.<id>.severity`` of the configuration always wins. Otherwise a rule whose
    findings all judge a convention of the seed layout reports them at most as warnings in a
    repository that has not opted into the conventions (``cfg.conventions``: no configuration
    file and not the seed's layout). A rule that mixes conventions and breakages (``spec.kinds``)
    keeps its severity: its check lowers its convention findings (``Config.convention_severity``).
    """
    explicit = cfg.rule_settings(spec.id).get("severity")
    if explicit:
        return str(explicit)
    if spec.convention and not getattr(cfg, "conventions", True) and spec.severity > Severity.WARNING:
        return str(Severity.WARNING)
    return None


def table(specs: dict[str, RuleSpec], cfg: Any, fixable: set[str]) -> list[dict[str, Any]]:
    """``rules --format json``: each rule with its shipped and its effective severity and whether it
    runs (both after ``cfg``, the repository's configuration, and whether it opted into the seed's
    conventions), whether it judges a convention, and whether ``lint --fix`` can fix its findings
    (``fixable``: the rules with a fixer)."""
    out = []
    for spec in specs.values():
        settings = cfg.rule_settings(spec.id)
        row = {"id": spec.id, "summary": spec.summary, "default_severity": str(spec.severity),
               "severity": severity_override(spec, cfg) or str(spec.severity),
               "enabled": bool(settings.get("enabled", spec.enabled)), "fixable": spec.id in fixable,
               "convention": spec.convention_label}
        if spec.kinds:
            # a mixed rule: its convention kinds get their own severity (its check lowers them)
            capped = not settings.get("severity") and not getattr(cfg, "conventions", True)
            row["convention_kinds"] = [k.name for k in spec.kinds if k.convention]
            row["convention_severity"] = str(min(spec.severity, Severity.WARNING)) if capped else row["severity"]
        out.append(row)
    return out


def lowered(report: Any) -> int:
    """How many findings of a lint report (:class:`gitops_kit.api.LintReport`) stand below their
    rule's severity because the repository has not opted into the seed's conventions: what the
    text summary's opt-in hint counts."""
    cfg = report.model.config
    if getattr(cfg, "conventions", True):
        return 0
    specs = load()
    return sum(1 for f in report.findings if (spec := specs.get(f.rule)) is not None
               and spec.convention_label != "no" and f.severity < spec.severity)
