"""Affected Applications, their render diff base vs head, and the upgrade risks found in it.

Both sides are models: the head is the working tree (the lint's model), the base is the base
commit written into a temporary folder (:mod:`.basetree`). An Application is affected when a file
it delivers or a values file it reads changed, or its own spec (chart, ``targetRevision``, inline
values) changed, or it was added or removed; only those are rendered, both sides from the chart
cache (``--fetch`` pulls what is missing, for both sides). Nothing from either side is executed:
charts are rendered by the Helm SDK (or helm template), kustomizations built by kustomize.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..model import Application, RepoModel
from ..yamlio import dump, plain
from .objdiff import (FieldChange, Key, Noise, denoise, field_diff, is_secret, key_label, masked_object, object_key,
                      path_text, shown_change, under)

SEVERITIES = ("error", "warning", "info")


@dataclass
class Risk:
    """One upgrade risk: a finding about an object (and a field of it) of an affected app."""

    rule: str
    severity: str  # error, warning, info
    app: str
    message: str
    object: str | None = None
    field: str | None = None
    path: str | None = None  # a repository file, when the risk is about one (values)
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "app": self.app, "object": self.object,
                "field": self.field, "message": self.message, "path": self.path, "line": self.line}


@dataclass
class ObjectDiff:
    key: Key
    status: str  # added, removed, changed
    changes: list[FieldChange]  # masked, as a report shows them
    random: list[str]  # fields left out: they differ between two renders of the head
    old_yaml: str | None
    new_yaml: str | None

    @property
    def label(self) -> str:
        return key_label(self.key)


@dataclass
class AppResult:
    """One affected Application."""

    name: str
    layer: str | None
    status: str  # changed, added, removed
    why: list[str]
    verdicts: list[Any] = field(default_factory=list)  # update.Verdict of the app's bumps
    diffs: list[ObjectDiff] = field(default_factory=list)
    unchanged: int = 0
    noise: Noise = field(default_factory=Noise)
    problems: list[str] = field(default_factory=list)  # why the render diff is partial
    risks: list[Risk] = field(default_factory=list)

    @property
    def rendered(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "removed": 0, "changed": 0}
        for d in self.diffs:
            out[d.status] += 1
        out["unchanged"] = self.unchanged
        return out

    @property
    def risk_count(self) -> int:
        return sum(1 for r in self.risks if r.severity in ("error", "warning"))

    @property
    def verdict(self) -> str:
        levels = {v.level for v in self.verdicts}
        if "error" in levels or any(r.severity == "error" for r in self.risks):
            return "error"
        if "review" in levels:
            return "review"
        if self.risk_count or self.problems:
            return "check"
        return "ok"


# --- which apps are affected ---------------------------------------------------------------------

def changed_paths(root: Path, base: str) -> set[str]:
    """Every file that differs between ``base`` and the working tree (and untracked files), relative to ``root``."""
    from ..update import _git_bytes

    raw = _git_bytes(root, "diff", "-z", "--name-only", "--no-renames", "--relative", "--no-ext-diff",
                     "--no-textconv", "--end-of-options", base, "--")
    out = {os.fsdecode(p) for p in raw.split(b"\0") if p}
    raw = _git_bytes(root, "ls-files", "-z", "--others", "--exclude-standard")
    out |= {os.fsdecode(p) for p in raw.split(b"\0") if p}
    return out


@dataclass
class _Facts:
    app: Application
    files: frozenset[str]
    values: frozenset[str]
    spec: Any


def _facts(model: RepoModel) -> dict[str, _Facts]:
    from ..model.delivery import delivered_files
    from ..model.values import value_files

    out: dict[str, _Facts] = {}
    for app in model.child_apps():
        if not app.name or app.name in out:
            continue
        files: set[str] = set()
        values: set[str] = set()
        for src in app.sources:
            files |= delivered_files(model, app, src)
            values |= {vf.rel for vf in value_files(model, app, src) if vf.rel}
        spec = app.obj.data.get("spec") if isinstance(app.obj.data, dict) else None
        out[app.name] = _Facts(app, frozenset(files), frozenset(values), plain(spec))
    return out


def affected(base: RepoModel, head: RepoModel, changed: set[str]) -> list[tuple[str, str, list[str]]]:
    """(app, status, why) for every Application whose render may differ, in head order then removed ones."""
    old, new = _facts(base), _facts(head)
    out = []
    for name in list(new) + [n for n in old if n not in new]:
        o, n = old.get(name), new.get(name)
        if o is None:
            out.append((name, "added", ["the Application is new"]))
            continue
        if n is None:
            out.append((name, "removed", ["the Application is removed"]))
            continue
        why: list[str] = []
        if o.spec != n.spec:
            charts = _chart_versions(o.app), _chart_versions(n.app)
            for chart, version in charts[1].items():
                before = charts[0].get(chart)
                if before is not None and before != version:
                    why.append(f"chart {chart} {before} -> {version}")
            if not why:
                why.append("its Application spec changed")
        values = sorted((o.values | n.values) & changed)
        why += [f"values file {v} changed" for v in values[:5]]
        files = sorted(((o.files | n.files) - o.values - n.values) & changed)
        why += [f"delivered file {f} changed" for f in files[:5]]
        more = len(values) + len(files) - min(5, len(values)) - min(5, len(files))
        if more > 0:
            why.append(f"{more} more changed file(s)")
        if why:
            out.append((name, "changed", why))
    return out


def _chart_versions(app: Application) -> dict[str, str]:
    return {str(s.chart): str(s.target_revision) for s in app.sources if s.chart}


# --- rendering -----------------------------------------------------------------------------------

@dataclass
class _Side:
    objects: dict[Key, dict]  # plain objects, by key
    problems: list[str]
    helm: bool  # a Helm source was rendered (random values possible)


def _render(model: RepoModel, app: Application | None, options: Any) -> _Side:
    from ..render import is_applied, render_app
    from ..render.helm import chart_dir
    from ..update import redact

    if app is None:
        return _Side({}, [], False)
    result = render_app(model, app, options)
    objects: dict[Key, dict] = {}
    for obj in result.objects:
        if not is_applied(obj):
            continue
        data = plain(obj.data)
        key = object_key(data)
        while key in objects:  # the same object twice (two sources): kept apart, ArgoCD reports it
            key = (*key[:3], key[3] + "#2")
        objects[key] = data
    problems = [redact(p.message) for p in result.problems if p.kind != "unsupported" or "another" not in p.message]
    helm = any(s.chart or chart_dir(model, s) for s in app.sources)
    return _Side(objects, problems, helm)


def _random_paths(first: dict[Key, dict], second: dict[Key, dict]) -> dict[Key, list[tuple]]:
    out: dict[Key, list[tuple]] = {}
    for key, data in first.items():
        again = second.get(key)
        if again is not None and again != data:
            out[key] = [c.path for c in field_diff(data, again)]
    return out


def diff_app(result: AppResult, base: RepoModel, head: RepoModel, old_app: Application | None,
             new_app: Application | None, options: Any) -> tuple[_Side, _Side, dict[Key, list[tuple]]]:
    """Fill ``result`` with the object diffs; returns both sides and the random fields for the risks."""
    old = _render(base, old_app, options)
    new = _render(head, new_app, options)
    result.problems += [f"base: {p}" for p in old.problems] + [f"head: {p}" for p in new.problems]
    random: dict[Key, list[tuple]] = {}
    if new.helm and new.objects:
        random = _random_paths(new.objects, _render(head, new_app, options).objects)
    for key in list(new.objects) + [k for k in old.objects if k not in new.objects]:
        o, n = old.objects.get(key), new.objects.get(key)
        if o is None or n is None:
            data = n if o is None else o
            text = dump(masked_object(denoise(data, Noise())))
            result.diffs.append(ObjectDiff(key, "added" if o is None else "removed", [], [],
                                           None if o is None else text, text if o is None else None))
            continue
        noise = Noise()
        a, b = denoise(o, Noise()), denoise(n, noise)
        skip = random.get(key, [])
        changes = [c for c in field_diff(a, b) if not under(c.path, skip)]
        if not changes:
            result.unchanged += 1
            if a != b or o != n:
                result.noise.merge(noise)
            continue
        result.noise.merge(noise)
        secret = is_secret(n)
        a_dump = dump(masked_object(a))
        b_dump = dump(masked_object(b))
        if secret:
            b_dump = _mark_changed_secrets(a, b, b_dump)
        result.diffs.append(ObjectDiff(key, "changed", [shown_change(c, secret) for c in changes],
                                       [path_text(p) for p in skip], a_dump, b_dump))
    if random:
        result.noise.add("fields generated at random by the chart (differ between two renders)",
                         sum(len(v) for v in random.values()))
    return old, new, random


def _mark_changed_secrets(a: dict, b: dict, text: str) -> str:
    """In the head dump of a Secret, the keys whose value changed read ``*** (changed)``."""
    lines = text.split("\n")
    for section in ("data", "stringData"):
        olds, news = a.get(section) or {}, b.get(section) or {}
        if not isinstance(olds, dict) or not isinstance(news, dict):
            continue
        changed = {k for k in news if k in olds and olds[k] != news[k]}
        inside = False
        for i, line in enumerate(lines):
            if not line.startswith(" "):
                inside = line.rstrip() == f"{section}:"
                continue
            name = line.strip().split(":", 1)[0].strip("'\"")
            if inside and line.startswith("  ") and not line.startswith("   ") and name in changed:
                lines[i] = line.rsplit(":", 1)[0] + ": '*** (changed)'"
    return "\n".join(lines)


# --- the whole analysis ----------------------------------------------------------------------------

@dataclass
class Analysis:
    apps: list[AppResult]
    base_files: int
    notes: list[str] = field(default_factory=list)

    @property
    def risks(self) -> list[Risk]:
        return [r for a in self.apps for r in a.risks]


def analyse(root: Path, rev: str, head: RepoModel, verdicts: list[Any], *, config_file: str | None = None,
            fetch: bool = False, renderer: str = "auto",
            progress: Callable[[str], None] | None = None) -> Analysis:
    """Build the base model, find the affected apps, render both sides, find the risks."""
    import tempfile

    from .. import config as config_mod
    from ..model import build
    from ..render import Options
    from ..update import _prefix
    from . import risks as risk_mod
    from .basetree import materialise

    with tempfile.TemporaryDirectory(prefix="gitops-kit-base-") as tmp:
        base_root = Path(tmp) / "base"
        base_root.mkdir(mode=0o700)
        tree = materialise(root, rev, _prefix(root), base_root)
        cfg = config_mod.load(base_root, Path(config_file) if config_file else None) if (
            config_file or (base_root / ".gitops-kit.yaml").is_file()) else head.config
        base = build(base_root, cfg)
        changed = changed_paths(root, rev)
        found = affected(base, head, changed)
        notes = [f"base {path}: not written ({why})" for path, why in tree.skipped[:10]]
        if fetch:
            notes += _fetch(base, head, [name for name, _, _ in found])
        options = Options(renderer=renderer)
        by_app: dict[str, list[Any]] = {}
        for v in verdicts:
            by_app.setdefault(v.change.app or "", []).append(v)
        results: list[AppResult] = []
        loaded: dict[Any, Any] = {}
        for name, status, why in found:
            old_app = next((a for a in base.apps_by_name.get(name, ()) if not a.is_root), None)
            new_app = next((a for a in head.apps_by_name.get(name, ()) if not a.is_root), None)
            layer = head.layer_of_app(name) or base.layer_of_app(name)
            result = AppResult(name, layer, status, why, by_app.pop(name, []))
            if progress:
                progress(name)
            old, new, random = diff_app(result, base, head, old_app, new_app, options)
            result.risks = risk_mod.find(result, base, head, old_app, new_app, old.objects, new.objects, random,
                                         loaded)
            results.append(result)
        # bumps of apps whose render cannot differ (CI pins, a chart nobody deploys): listed too
        for name, vs in by_app.items():
            results.append(AppResult(name or "-", vs[0].change.layer, "changed", ["version pin changed"], vs))
        return Analysis(results, tree.files, notes)


def _fetch(base: RepoModel, head: RepoModel, names: list[str]) -> list[str]:
    """Pull the charts and remote kustomize resources of the affected apps on both sides (the only
    network use); failures as notes."""
    from ..charts import fetch_missing
    from ..charts.fetch import Session

    pairs = [(model, app) for model in (head, base) for name in names for app in model.apps_by_name.get(name, ())]
    return [f"--fetch: {line}" for line in fetch_missing(pairs, Session.for_config(head.config))]


__all__ = ["Analysis", "AppResult", "ObjectDiff", "Risk", "analyse", "affected", "changed_paths"]
