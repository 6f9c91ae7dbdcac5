"""node-tier: workloads select a node tier that exists and is their app's tier; charts select one at all.

Looks at every ``nodeSelector`` mapping and required ``nodeAffinity`` on the tier label in an app's
values files (apps/helm/<app>/*.yaml), in Application ``helm.valuesObject`` and kustomize
``valuesInline``, and in every Kubernetes object of the repository (workloads and CRs such as a CNPG
Cluster's ``spec.affinity.nodeSelector``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ..findings import Hit, Severity, show
from ..model import Application, RepoModel
from ..model.ownership import bundle_dirs
from ..model.values import InlineValues, inline_values
from ..yamlio import YMap
from ._workloads import (HELM_META_FILES, TierUse, bundle_of_path, bundle_owners, dotted, helm_dir_files,
                         is_object, kustomize_helm_charts, tier_uses)

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 54

# Facts other checks read too: the engine builds them before it shares the checks between
# two processes, so that neither builds them again.
SHARED_FACTS = (bundle_owners,)

WARN_KINDS = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class _Ctx:
    """Who a tree belongs to: the app, its layer and the tier it must run on."""

    app: str | None
    layer: str | None
    tier: str | None


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    run = _Run(model)
    yield from run.bundle_values()
    yield from run.applications()
    yield from run.objects()
    yield from run.charts_without_tier()


class _Run:
    """One run of the rule: the contexts and answers its four passes share."""

    def __init__(self, model: RepoModel) -> None:
        self.model = model
        self.cfg = model.config
        self.label, self.tiers = self.cfg.tier_label, self.cfg.tiers
        self.owners = bundle_owners(model)
        self.seen: set[tuple[str, int]] = set()  # documents judged as values files
        self.mentions: dict[int, bool] = {}  # id(SourceFile) -> does its text mention the label (see _uses)
        self.selected: set[str] = set()  # bundles whose chart values select a tier somewhere
        self.candidates: dict[str, list[Any]] = {}  # bundle -> its values files (fname, SourceFile)
        self._contexts: dict[tuple[int, str | None], _Ctx] = {}

    def ctx_of(self, app: Application | None, fallback: str | None) -> _Ctx:
        key = (id(app), fallback)  # asked for every object of a bundle: answered once
        ctx = self._contexts.get(key)
        if ctx is None:
            name = app.name if app is not None else fallback
            layer = app.layer if app is not None else (self.model.layer_of_app(fallback) if fallback else None)
            ctx = self._contexts[key] = _Ctx(name, layer, self.cfg.app_tier(name, layer) if name else None)
        return ctx

    def judge(self, use: TierUse, path: str, ctx: _Ctx, key: str) -> Iterator[Hit]:
        if not use.checked:
            return
        value, label, tiers = use.value, self.label, self.tiers
        if not isinstance(value, str) or value not in tiers:
            yield Hit(path, use.pos, f"{use.how} {label}: {show(value)} is not a known tier "
                      f"(tiers: {', '.join(tiers)}); no node carries it, so the pod never schedules",
                      app=ctx.app, key=key)
        elif ctx.tier is not None and value != ctx.tier:
            yield Hit(path, use.pos, f"{use.how} {label}: {show(value)} puts app {ctx.app!r} on {value} nodes, "
                      f"but its tier is {ctx.tier!r}" + (f" (layer {ctx.layer})" if ctx.layer else ""),
                      app=ctx.app, key=key)

    def relevant(self, bundle: str | None) -> bool:
        """Whether findings in the bundle's files can be reported (its values files are judged
        together: whether any selects a tier)."""
        return bundle is not None and self.model.relevant(*bundle_dirs(self.model, bundle, existing=False))

    def bundle_values(self) -> Iterator[Hit]:
        """Values files and kustomize valuesInline: the chart's own placement."""
        model, label = self.model, self.label
        for bundle in sorted(model.bundles):
            if not self.relevant(bundle):
                continue
            ctx = self.ctx_of(self.owners.app(bundle), bundle)
            for fname, sf in helm_dir_files(model, bundle):
                if fname in HELM_META_FILES:
                    self.seen.update((sf.path, doc.index) for doc in sf.documents)  # valuesInline: read below
                    continue
                for doc in sf.documents:
                    self.seen.add((sf.path, doc.index))
                    values = not is_object(doc.data)
                    for use in _uses(sf, doc.data, label, self.mentions):
                        if values:
                            self.selected.add(bundle)
                        yield from self.judge(use, sf.path, ctx, f"#{doc.index}:{dotted(use.path)}")
                    if values and isinstance(doc.data, YMap) and doc.data:
                        self.candidates.setdefault(bundle, []).append((fname, sf))
            for sf, chart in kustomize_helm_charts(model, bundle):
                for use in tier_uses(chart.get("valuesInline"), label):
                    self.selected.add(bundle)
                    yield from self.judge(use, sf.path, ctx, f"helmCharts:{chart.get('name')}:{dotted(use.path)}")

    def applications(self) -> Iterator[Hit]:
        """Applications: helm.valuesObject, helm.values text and helm.parameters of their sources."""
        model, label = self.model, self.label
        for app in model.applications:
            bundle = self.owners.bundle(app)
            if not (model.relevant(app.path) or self.relevant(bundle)):
                continue
            ctx = self.ctx_of(app, None)
            for src in app.sources:
                inline = inline_values(src)
                if inline is None:
                    continue
                for use in tier_uses(inline.obj, label):
                    if bundle:
                        self.selected.add(bundle)
                    yield from self.judge(use, app.path, ctx,
                                          f"{app.obj.identity()}:source{src.index}:{dotted(use.path)}")
                if bundle and _text_selects(inline, label):
                    self.selected.add(bundle)

    def objects(self) -> Iterator[Hit]:
        """Kubernetes objects anywhere (workloads, CRs), each document once."""
        model, cfg, label = self.model, self.cfg, self.label
        for obj in model.objects:
            if (obj.path, obj.doc) in self.seen or (obj.kind == "Application" and obj.group == "argoproj.io"):
                continue
            if not model.relevant(obj.path):
                continue  # its findings are its own file's
            bundle = bundle_of_path(model, obj.path)
            ctx = self.ctx_of(self.owners.app(bundle), bundle) if bundle else _Ctx(None, None, None)
            uses = _uses(obj.file, obj.data, label, self.mentions)
            for use in uses:
                yield from self.judge(use, obj.path, ctx, f"{obj.identity()}:{dotted(use.path)}")
            # a kustomize patch is partial: the object it patches may select the tier
            if (not uses and not obj.patch and obj.kind in WARN_KINDS and bundle is not None
                    and ctx.app is not None and obj.path.startswith(cfg.manifests_dir + "/")
                    and not cfg.app(ctx.app).get("daemonset")):
                yield Hit(obj.path, _template_spec_pos(obj.data), f"{obj.kind} {show(obj.name)} of app "
                          f"{ctx.app!r} selects no node tier (no nodeSelector or nodeAffinity on {label})"
                          + _expect(label, ctx), app=ctx.app, key=f"{obj.identity()}:no-tier",
                          severity=Severity.WARNING)

    def charts_without_tier(self) -> Iterator[Hit]:
        """Charts whose values never pick a tier: the pods land wherever the scheduler likes."""
        model, cfg, label = self.model, self.cfg, self.label
        for bundle, files in sorted(self.candidates.items()):
            if bundle in self.selected:
                continue
            app = self.owners.app(bundle)
            ctx = self.ctx_of(app, bundle)
            if cfg.app(ctx.app or bundle).get("daemonset") or not _has_chart(model, bundle, app):
                continue
            fname, sf = next(((n, f) for n, f in files if n in ("values.yaml", "values.yml")), files[0])
            yield Hit(sf.path, (1, 1), f"values of app {ctx.app!r} select no node tier (no nodeSelector or "
                      f"nodeAffinity on {label} in {fname} or the other values files)" + _expect(label, ctx),
                      app=ctx.app, key=f"{bundle}:values:no-tier", severity=Severity.WARNING)


def _expect(label: str, ctx: _Ctx) -> str:
    return f"; expected {label}: {ctx.tier}" if ctx.tier else ""


def _text_selects(inline: InlineValues, label: str) -> bool:
    """Whether ``helm.values`` (a YAML string) or ``helm.parameters`` mention the tier label."""
    if inline.text is not None and label in inline.text:
        return True
    for item in inline.parameters:
        name = item.get("name") if isinstance(item, YMap) else None
        if isinstance(name, str) and label in name.replace("\\", ""):
            return True
    return False


def _has_chart(model: RepoModel, bundle: str, app: Application | None) -> bool:
    """Umbrella Chart.yaml, kustomize helmCharts, or an Application source with a chart."""
    files = dict(helm_dir_files(model, bundle))
    if "Chart.yaml" in files or "Chart.yml" in files or kustomize_helm_charts(model, bundle):
        return True
    return app is not None and any(src.chart for src in app.sources)


def _template_spec_pos(data: YMap) -> tuple[int, int]:
    spec = data.get("spec")
    template = spec.get("template") if isinstance(spec, YMap) else None
    if isinstance(template, YMap) and "spec" in template:
        return template.key_pos("spec")
    if isinstance(spec, YMap) and "template" in spec:
        return spec.key_pos("template")
    return data.key_pos("spec") if "spec" in data else data.pos


def _uses(sf: Any, tree: Any, label: str, mentions: dict[int, bool]) -> list[TierUse]:
    """tier_uses, skipped for a file whose text never mentions the label (nothing can select on
    it there; an escape in a double-quoted string is the one way to hide it, so a backslash
    means "look"). ``mentions`` keeps that answer per file: a file may hold tens of thousands of
    objects, and searching its whole text for each made the rule quadratic."""
    known = mentions.get(id(sf))
    if known is None:
        text = sf.text or ""
        known = mentions[id(sf)] = label in text or "\\" in text
    return list(tier_uses(tree, label)) if known else []
