"""Enabled rules x model -> findings: stamps id, severity, app and fingerprint; isolates crashes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from . import catalog, checks, parallel, progress, suppress
from .config import merge
from .errors import UsageError
from .findings import CauseRef, Finding, Hit, Location, Severity, fingerprint
from .model import PARALLEL_MIN_FILES as model_threshold
from .model import RepoModel

SUPPRESSION = "suppression"
SECRET_RULE = "plaintext-secret"


@dataclass
class Result:
    """Findings of a run and what was checked."""

    findings: list[Finding]
    rules_run: list[str]
    suppressed: int = 0
    crashed: list[str] = field(default_factory=list)
    # Files in which plaintext-secret found something (suppressed or not); None: it did not run.
    secret_paths: set[str] | None = None


def select_rules(specs: dict[str, catalog.RuleSpec], model: RepoModel, select: list[str] | None,
                 ignore: list[str] | None) -> list[catalog.RuleSpec]:
    """The rules this run executes: config's enabled flags, then --select / --ignore."""
    for rid in (select or []) + (ignore or []):
        if rid not in specs:
            raise UsageError(f"unknown rule {rid!r} (see 'gitops-kit rules')")
    for rid in (model.config.data.get("rules") or {}):
        if rid not in specs:
            raise UsageError(f"unknown rule {rid!r} in configuration", model.config.path,
                             model.config.pos_of("rules", rid))
    chosen = []
    for spec in specs.values():
        enabled = model.config.rule_settings(spec.id).get("enabled", spec.enabled)
        if select is not None:
            enabled = spec.id in select
        if ignore and spec.id in ignore:
            enabled = False
        if enabled:
            chosen.append(spec)
    return chosen


def params_for(spec: catalog.RuleSpec, model: RepoModel) -> dict[str, Any]:
    """Rule parameters: the rule's defaults with the config's overrides, type-checked."""
    user = model.config.rule_settings(spec.id).get("params") or {}
    for key, value in user.items():
        if key not in spec.params:
            raise UsageError(f"rule {spec.id!r} has no parameter {key!r} (it has: {sorted(spec.params) or 'none'})",
                             model.config.path, model.config.pos_of("rules", spec.id, "params", key))
        default = spec.params[key]
        if default is not None and type(value) is not type(default) and not (
                isinstance(default, float) and isinstance(value, int)):
            raise UsageError(f"rule {spec.id!r} parameter {key!r} must be a {type(default).__name__}",
                             model.config.path, model.config.pos_of("rules", spec.id, "params", key))
    return merge(dict(spec.params), dict(user))


# What a check module may declare for the two-process run (the engine names no check):
# ``COST``, its milliseconds on the 1000-app benchmark corpus (costliest first; default below),
# and ``SHARED_FACTS``, the model functions whose memoised answers other checks read too.
_DEFAULT_COST = 3
PARALLEL_MIN_FILES = model_threshold  # one threshold for the whole tool (gitops_kit.model)


def _run_checks(model: RepoModel, jobs: list[tuple[catalog.RuleSpec, dict, str | None]], tick: bool = True
                ) -> tuple[list[Finding], list[str]]:
    raw: list[Finding] = []
    crashed: list[str] = []
    for spec, params, severity_override in jobs:
        if tick:
            progress.tick()
        try:
            for hit in checks.get(spec.check)(model, params):
                raw.append(_stamp(spec, hit, model, severity_override))
        except Exception as exc:  # one broken check must not hide the others' findings
            crashed.append(spec.id)
            # The exception text may quote repository content (a secret): report its type only.
            raw.append(Finding(spec.id, Severity.ERROR, ".", 1, 1,
                               f"internal error in rule {spec.id}: {type(exc).__name__}; other rules ran",
                               None, fingerprint(spec.id, ".", "crash")))
    return raw, crashed


def _run_forked(model: RepoModel, jobs: list[tuple[catalog.RuleSpec, dict, str | None]]
                ) -> tuple[list[Finding], list[str]]:
    """Run the checks on both cores (see parallel.share), costliest first, once the facts several
    of them read are built (a forked process sees them copy-on-write); the findings come back in
    the order of the checks, whichever core ran them."""
    _build_shared_facts(model, jobs)
    order = sorted(jobs, key=lambda job: (-_cost(job[0]), job[0].id))
    done = parallel.share(order, lambda job: _run_checks(model, [job], tick=False))
    by_job = {id(job): result for job, result in zip(order, done)}
    raw: list[Finding] = []
    crashed: list[str] = []
    for job in jobs:
        job_raw, job_crashed = by_job[id(job)]
        raw.extend(job_raw)
        crashed.extend(job_crashed)
    return raw, crashed


def _cost(spec: catalog.RuleSpec) -> int:
    return int(getattr(checks.module(spec.check), "COST", _DEFAULT_COST))


def _build_shared_facts(model: RepoModel, jobs: list[tuple[catalog.RuleSpec, dict, str | None]]) -> None:
    """Each ``SHARED_FACTS`` function of the checks to run, called once on ``model`` (it memoises
    its answer). A fact that fails to build is left to the checks, which report the crash."""
    built: set[int] = set()
    for spec, _, _ in jobs:
        for fact in getattr(checks.module(spec.check), "SHARED_FACTS", ()):
            if id(fact) not in built:
                built.add(id(fact))
                try:
                    fact(model)
                except Exception:  # the check that needs it crashes in its turn, reported as such
                    pass


def _parallel_ok(model: RepoModel) -> bool:
    return len(model.files) >= PARALLEL_MIN_FILES and parallel.available()


def run(model: RepoModel, rules: list[catalog.RuleSpec]) -> Result:
    """Run ``rules`` over ``model``; apply suppressions; report unused or unexplained ones."""
    ran = [spec.id for spec in rules]
    jobs = [(spec, params_for(spec, model), catalog.severity_override(spec, model.config))
            for spec in rules if spec.check != SUPPRESSION]
    progress.phase("checking rules", len(jobs))
    raw, crashed = _run_forked(model, jobs) if _parallel_ok(model) else _run_checks(model, jobs)
    # A scan that crashed part-way vouches for nothing (the cache then keeps only what the
    # prefilter clears).
    secret_paths = {f.path for f in raw if f.rule == SECRET_RULE} \
        if SECRET_RULE in ran and SECRET_RULE not in crashed else None
    sups = suppress.collect(model)
    kept, dropped = suppress.apply(raw, sups)
    if SUPPRESSION in ran:
        spec = catalog.load()[SUPPRESSION]
        override = model.config.rule_settings(SUPPRESSION).get("severity")
        known = set(catalog.load())
        for hit in _suppression_hits(sups, known, set(ran), partial=model.focus is not None):
            kept.append(_stamp(spec, hit, model, override))
    kept = focused(model, link_causes(kept))
    kept.sort(key=Finding.sort_key)
    return Result(kept, ran, dropped, crashed, secret_paths)


def focused(model: RepoModel, findings: list[Finding]) -> list[Finding]:
    """THE focus decision: the findings a focused run (``model.focus``) reports, by
    :func:`in_scope`; every finding in an unfocused run. Applied after the checks (which read
    the whole repository, and skip only what ``model.relevant`` rules out), suppressions and
    cause links, so that these see what a full run sees. A missing-object finding counts for
    an app with any focused path in its bundle (a staged deletion, a rendered file): the
    library's caller narrows that to the deletions it knows of (:func:`apps_of_deleted`)."""
    if model.focus is None:
        return findings
    only = set(model.focus)
    near = apps_of_deleted(model, sorted(only))
    return [f for f in findings if in_scope(f, only, near)]


def link_causes(findings: list[Finding]) -> list[Finding]:
    """Set ``cause`` of each finding that follows from another reported one (the first of its
    candidates that was reported and not suppressed), following a chain to its first cause."""
    if not any(f.causes for f in findings):
        return findings
    by_fp = {f.fingerprint: f for f in findings}

    def first(f: Finding) -> Finding | None:
        return next((by_fp[c] for c in f.causes if c in by_fp and c != f.fingerprint), None)

    out = []
    for f in findings:
        cause = first(f)
        seen = {f.fingerprint}
        while cause is not None and cause.fingerprint not in seen:
            seen.add(cause.fingerprint)
            up = first(cause)
            if up is None or up.fingerprint in seen:
                break
            cause = up
        if cause is not None:
            f = replace(f, cause=CauseRef(cause.rule, cause.path, cause.line, cause.column, cause.fingerprint))
        out.append(f)
    return out


# Rules whose findings say that something is missing from an app (a policy, a quota, a file a source
# points to): a staged deletion in the app's bundle may be what removed it.
MISSING_RULES = frozenset({"layout", "network-policy", "resource-quota"})


def apps_of_deleted(model: RepoModel, deleted: list[str]) -> frozenset[str]:
    """The apps whose Application file or bundle holds one of the ``deleted`` paths."""
    if not deleted:
        return frozenset()
    from .model.ownership import bundle_of_path, bundle_owners

    owners = bundle_owners(model)
    out = set()
    for path in deleted:
        name = model.app_of_path(path)
        if name:
            out.add(name)
        owner = owners.app(bundle_of_path(model, path))
        if owner is not None and owner.name:
            out.add(owner.name)
    return frozenset(out)


def in_scope(finding: Finding, only: set[str], deleted_apps: frozenset[str] = frozenset()) -> bool:
    """Whether a focused run (files named on the command line, pre-commit's staged files) reports
    ``finding``: it stands in a focused file or directory, or one of its related locations is (or
    holds) a focused path, or it is a missing-object finding of an app whose bundle lost a file."""
    if _covered(finding.path, only):
        return True
    for loc in finding.related:
        if _covered(loc.path, only) or any(p.startswith(loc.path + "/") for p in only):
            return True
    return finding.rule in MISSING_RULES and finding.app is not None and finding.app in deleted_apps


def _covered(path: str, only: set[str]) -> bool:
    return path in only or any(path.startswith(d + "/") or d in ("", ".") for d in only)


def _suppression_hits(sups: list[suppress.Suppression], known: set[str], ran: set[str], partial: bool = False):
    for sup in sups:
        where = {"line": "inline", "file": "file", "annotation": "annotation", "config": "config"}[sup.kind]
        key = f"{sup.kind}:{','.join(sup.rules)}:{sup.glob or ''}:{sup.app or ''}"
        unknown = [r for r in sup.rules if r not in known]
        if unknown:
            yield Hit(sup.path, (sup.line, sup.column), f"{where} suppression names unknown rule(s): {', '.join(unknown)}",
                      key=key + ":unknown")
        if not sup.reason:
            yield Hit(sup.path, (sup.line, sup.column),
                      f"{where} suppression of {', '.join(sup.rules)} has no reason; add reason=\"...\"",
                      key=key + ":reason")
        # A config ignore may cover files outside a partial (pre-commit) run: unknown whether used.
        unused = [] if partial and sup.kind == "config" else [
            r for r in sup.rules if r in known and r in ran and r not in sup.used]
        if unused:
            yield Hit(sup.path, (sup.line, sup.column),
                      f"{where} suppression of {', '.join(unused)} suppresses nothing; remove it",
                      key=key + ":unused")


def _stamp(spec: catalog.RuleSpec, hit: Hit, model: RepoModel, override: str | None) -> Finding:
    if override:
        severity = Severity.parse(override)
    else:
        severity = hit.severity if hit.severity is not None else spec.severity
    app = hit.app if hit.app is not None else model.app_of_path(hit.path)
    line, col = hit.pos
    related = tuple(Location(p, max(1, int(pos[0])), max(1, int(pos[1]))) for p, pos in hit.related)
    causes = tuple(fingerprint(*c) for c in hit.causes)
    return Finding(spec.id, severity, hit.path, max(1, int(line)), max(1, int(col)), hit.message, app,
                   fingerprint(spec.id, hit.path, hit.key or hit.message), related=related, causes=causes,
                   remedy=hit.remedy)
