"""The library entry point: lint a repository and get findings back (the CLI is a thin shell)."""

from __future__ import annotations

import gc
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from . import catalog, config as config_mod, discover, engine
from .findings import Finding, Severity
from .model import RepoModel, build


@dataclass
class LintReport:
    """What one lint run found and covered."""

    root: Path
    findings: list[Finding]
    files_checked: int
    objects: int
    rules_run: list[str]
    suppressed: int
    model: RepoModel
    baselined: int = 0
    # ``lint --render``: what each Application rendered (None: rendering was off)
    renders: list | None = None
    # the rules whose check raised (each also reported as an "internal error" finding)
    crashed: tuple[str, ...] = ()

    @property
    def checked_files(self) -> list[str]:
        return sorted([*self.model.files, *(s.path for s in self.model.skipped)])

    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            out[str(f.severity)] += 1
        return out

    @property
    def exit_code(self) -> int:
        return 1 if any(f.severity == Severity.ERROR for f in self.findings) else 0

    def summary(self) -> dict:
        return {**self.counts(), "files": self.files_checked, "objects": self.objects,
                "rules": len(self.rules_run), "suppressed": self.suppressed, "baselined": self.baselined}


def lint(paths: list[str] | None = None, *, config_file: str | None = None, select: list[str] | None = None,
         ignore: list[str] | None = None, min_severity: Severity = Severity.INFO,
         baseline: Counter | None = None, use_cache: bool = False, deleted: list[str] | None = None,
         root: Path | None = None, render: bool | None = None, fetch: bool = False,
         renderer: str | None = None) -> LintReport:
    """Lint the repository containing ``paths[0]`` (default: the current directory), or ``root``
    when given (``lint --root``, and each repository of a run over several: every path in it).

    When files are named, findings are limited to those in them or about them (a related location
    in them: a dependency's file, the bundle a missing object belongs in), but the rules see the
    whole repository. ``deleted``: repository-relative files a commit deletes (pre-commit); they
    are focused too, with the missing-object findings of their apps, and without named files
    nothing else is. ``use_cache`` reads and writes the parse cache in ``.gitops-kit-cache/``
    (the CLI's default).

    ``render`` (default: config ``render``) also runs the object rules on what each Application
    renders (see :mod:`gitops_kit.render.lint`); ``fetch`` first pulls the charts the cache lacks
    (the only network use); ``renderer`` overrides config ``renderer``.
    """
    named = bool(paths)
    paths = list(paths or [str(root) if root is not None else "."])
    root = Path(root).resolve() if root is not None else discover.find_root(Path(paths[0]))
    cfg = config_mod.load(root, Path(config_file) if config_file else None)
    # The model is hundreds of thousands of small acyclic objects: the cyclic garbage collector
    # would rescan them again and again while they are built (measured: 30 % of lint time).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if use_cache:
            from . import cache  # hashing and signing: not imported by --no-cache runs (CI)

            use_cache = cache.enabled()
        model = build(root, cfg, use_cache=use_cache)
        only = _only_files(root, paths)
        if deleted is not None and (only is not None or not named):
            only = (only if named else set()) | set(deleted)  # type: ignore[operator]
        model.focus = frozenset(only) if only is not None else None
        specs = catalog.load()
        rules = engine.select_rules(specs, model, select, ignore)
        # the render rule's findings come from rendering, not from a check over the model
        result = engine.run(model, [s for s in rules if s.id != _RENDER_RULE])
        if _cache_to_write(model):
            _save_cache(model, result.secret_paths)
        renders = None
        if render if render is not None else bool(cfg.data.get("render")):
            result.findings, renders = _render(model, rules, result.findings, fetch,
                                               renderer or str(cfg.data.get("renderer") or "auto"))
    finally:
        if was_enabled:
            gc.enable()
    findings = [f for f in result.findings if f.severity >= min_severity]
    if only is not None:
        gone = engine.apps_of_deleted(model, deleted or [])
        findings = [f for f in findings if engine.in_scope(f, only, gone)]
    baselined = 0
    if baseline is not None:
        from .baseline import new_findings

        findings, baselined = new_findings(findings, baseline)
    return LintReport(root, findings, len(model.files) + len(model.skipped), len(model.objects), result.rules_run,
                      result.suppressed, model, baselined, renders, tuple(result.crashed))


_RENDER_RULE = "render"


def _render(model: RepoModel, rules: list, findings: list[Finding], fetch: bool, renderer: str
            ) -> tuple[list[Finding], list]:
    """``lint --render``: the object rules on the rendered objects too (gitops_kit.render.lint)."""
    from .render import Options
    from .render import lint as render_lint

    if fetch:
        render_lint.prefetch(model)  # what cannot be pulled is reported by the render as a miss
    outcome = render_lint.run(model, rules, findings, Options(renderer=renderer))
    return outcome.findings, outcome.renders


def _cache_to_write(model: RepoModel) -> bool:
    if model.digests is None or not model.cache_stale:
        return False  # the cache was not used (digests are taken only when it is)
    from . import cache

    return cache.writable()


def _save_cache(model: RepoModel, secret_paths: set[str] | None) -> None:
    """Write back the parse cache; :func:`cache_policy.cache_filter` decides which files it may
    hold, from plaintext-secret's verdict (``secret_paths``: the files where it found something)."""
    from . import cache
    from .cache_policy import cache_filter

    digests = model.digests or {}
    scan = _secret_scanner(model) if secret_paths is not None else None
    keep = cache_filter(model, secret_paths, scan)
    entries = {rel: (digests[rel], sf) for rel, sf in model.files.items() if rel in digests}
    cache.save(model.root, entries, model.cache_stale, keep, model.cache_policy)


def _secret_scanner(model: RepoModel) -> Callable[[str, Any], Iterator[Any]]:
    from .checks import plaintext_secret

    spec = catalog.load()[engine.SECRET_RULE]
    params = engine.params_for(spec, model)
    return lambda rel, sf: plaintext_secret.file_hits(rel, sf, params)


def _only_files(root: Path, paths: list[str]) -> set[str] | None:
    """Repo-relative paths the user named, or None for 'the whole repository'."""
    rels = set()
    real_root = root.resolve()
    for p in paths:
        resolved = Path(p).resolve()
        if resolved == real_root:
            return None
        try:
            rels.add(resolved.relative_to(real_root).as_posix())
        except ValueError:
            rels.add(os.path.normpath(p))
    return rels
