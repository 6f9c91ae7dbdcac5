"""app-health-check: ArgoCD is configured with a health check for Application resources.

Since ArgoCD 1.8 an Application has no health of its own, so an app-of-apps sync wave does not wait
for the Applications of an earlier wave to become healthy. The check looks for the health Lua in a
ConfigMap ``argocd-cm`` (also inside kustomize inline patches) and in the Helm values of an app that
installs the ``argo-cd`` chart (``configs.cm``, and ``server.config`` of chart versions before 4):
value files, ``valuesObject``, umbrella Chart.yaml dependencies and kustomize ``helmCharts`` of any
kustomization in the repository.

Only a repository whose child Applications (deployed by another Application, or in a layer
directory) carry sync waves needs it: without waves nothing waits for an Application's health. The
finding goes where the fix goes: the ``data`` of the ``argocd-cm`` ConfigMap when the repository
has one, else the Application that installs ArgoCD, else the first layer root; a repository that
holds none of them (ArgoCD installed from elsewhere) gets no finding.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Iterator

from .. import yamlio
from ..findings import Hit
from ..model import Application, RepoModel
from ..model.ownership import parents
from ..model.values import helm_values
from ..yamlio import YMap, YSeq
from ._workloads import helm_dir_files

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 8

OLD_KEY = "resource.customizations"
OLD_KIND = "argoproj.io/Application"


@dataclass(frozen=True)
class _Found:
    """A place where the Application health check is configured, and whether its Lua has any text."""

    path: str
    pos: tuple[int, int]
    where: str
    script: bool


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    if not model.applications or not _waves_matter(model):
        return
    key = str(params["key"])
    cm_name = str(params["configmap"])
    chart = str(params["chart"])

    found: list[_Found] = []
    for obj in model.kind("ConfigMap"):
        if obj.name == cm_name:
            found.extend(_in_data(obj.data.get("data"), obj.path, f"ConfigMap {cm_name} data", key))
    for obj in model.kind("Kustomization"):
        found.extend(_in_patches(obj.data, obj.path, cm_name, key))
    found.extend(_in_app_values(model, chart, key))
    for path, tree, where, pos in _chart_values(model, chart):
        for sub, cm in _cm_values(tree):
            for f in _in_data(cm, path, f"{where} {sub}", key):
                found.append(_Found(f.path, pos or f.pos, f.where, f.script))

    # One values file may be reached twice (an Application's valueFiles and an umbrella chart).
    for f in {(f.path, f.pos): f for f in found}.values():
        if not f.script:
            yield Hit(f.path, f.pos, f"{f.where}: the Application health check ({key}) has an empty Lua script, "
                      "so Applications get no health and sync waves do not wait for them", key=f"{f.where}:empty")
    if found:
        return
    anchor = _anchor(model, chart, params)
    if anchor is None:
        return  # ArgoCD's configuration is not in this repository: nothing here to fix
    path, pos, app = anchor
    yield Hit(path, pos, f"ArgoCD has no health check for Applications ({key} in {cm_name}): since ArgoCD 1.8 "
              "an app-of-apps sync wave does not wait for the earlier wave's Applications to be healthy",
              app=app, key="missing")


def _waves_matter(model: RepoModel) -> bool:
    """Whether some child Application (in a layer directory, or deployed by another Application)
    has a sync wave: only then does an app-of-apps wait for an Application's health."""
    for app in model.applications:
        if app.wave is None or (app.is_root and not parents(model, app)):
            continue
        if (app.layer is not None and not app.is_root) or parents(model, app):
            return True
    return False


def _cm_values(tree: Any) -> Iterator[tuple[str, Any]]:
    """(where, argocd-cm data) in the argo-cd chart's values: ``configs.cm``, and
    ``server.config`` of the chart before version 4."""
    if not isinstance(tree, YMap):
        return
    for outer, inner, label in (("configs", "cm", "configs.cm"), ("server", "config", "server.config")):
        holder = tree.get(outer)
        if isinstance(holder, YMap) and isinstance(holder.get(inner), YMap):
            yield label, holder[inner]


def _script(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _in_data(data: Any, path: str, where: str, key: str) -> Iterator[_Found]:
    """The new split key, or the pre-1.x ``resource.customizations`` block with a health.lua for Applications."""
    if not isinstance(data, YMap):
        return
    if key in data:
        yield _Found(path, data.value_pos(key), where, _script(data[key]))
    block = data.get(OLD_KEY)
    if isinstance(block, str):
        for doc in yamlio.load_text(str(block)).documents:
            entry = doc.data.get(OLD_KIND) if isinstance(doc.data, YMap) else None
            if isinstance(entry, YMap) and "health.lua" in entry:
                yield _Found(path, data.value_pos(OLD_KEY), f"{where} {OLD_KEY}", _script(entry["health.lua"]))


def _in_patches(kustomization: YMap, path: str, cm_name: str, key: str) -> Iterator[_Found]:
    """ConfigMap patches written inline in a kustomization (``patches[].patch``, ``patchesStrategicMerge``)."""
    texts: list[tuple[str, tuple[int, int]]] = []
    patches = kustomization.get("patches")
    if isinstance(patches, YSeq):
        for item in patches:
            if isinstance(item, YMap) and isinstance(item.get("patch"), str):
                texts.append((item["patch"], item.value_pos("patch")))
    merges = kustomization.get("patchesStrategicMerge")
    if isinstance(merges, YSeq):
        for i, item in enumerate(merges):
            if isinstance(item, str) and "\n" in item:
                texts.append((item, merges.item_pos(i)))
    for text, pos in texts:
        for doc in yamlio.load_text(str(text)).documents:
            data = doc.data
            meta = data.get("metadata") if isinstance(data, YMap) else None
            if isinstance(meta, YMap) and data.get("kind") == "ConfigMap" and meta.get("name") == cm_name:
                for f in _in_data(data.get("data"), path, f"patch of ConfigMap {cm_name} data", key):
                    yield _Found(path, pos, f.where, f.script)


def _in_app_values(model: RepoModel, chart: str, key: str) -> Iterator[_Found]:
    """The health check in the Helm values ArgoCD gives the ``chart`` (value files, ``values``,
    ``valuesObject``, ``parameters``, merged as ArgoCD does), at the line that sets it."""
    for app in model.applications:
        for src in app.sources:
            if src.chart != chart:
                continue
            values = helm_values(model, app, src)
            for outer, inner in (("configs", "cm"), ("server", "config")):
                where = f"Application {app.name} Helm values {outer}.{inner}"
                nulled = values.nulled.get((outer, inner, key))
                holder = values.tree.get(outer)
                cm = holder.get(inner) if isinstance(holder, dict) else None
                if nulled is not None and not (isinstance(cm, dict) and key in cm):
                    yield _Found(*nulled, where, False)  # "key:" with nothing after it: an empty script
                if not isinstance(cm, dict):
                    continue
                if key in cm:
                    path, pos = values.origin((outer, inner, key)) or (app.path, app.obj.pos)
                    yield _Found(path, pos, where, _script(cm[key]))
                block = cm.get(OLD_KEY)
                if isinstance(block, str):
                    for doc in yamlio.load_text(block).documents:
                        entry = doc.data.get(OLD_KIND) if isinstance(doc.data, YMap) else None
                        if isinstance(entry, YMap) and "health.lua" in entry:
                            path, pos = values.origin((outer, inner, OLD_KEY)) or (app.path, app.obj.pos)
                            yield _Found(path, pos, f"{where} {OLD_KEY}", _script(entry["health.lua"]))


def _chart_values(model: RepoModel, chart: str) -> Iterator[tuple[str, Any, str, tuple[int, int] | None]]:
    """(path, values tree, description, position override) of the values of umbrella charts and
    kustomize ``helmCharts`` that install ``chart``."""
    for bundle in sorted(model.bundles):
        files = dict(helm_dir_files(model, bundle))
        for chart_file in ("Chart.yaml", "Chart.yml"):
            deps = _dependencies(files.get(chart_file))
            for alias in deps.get(chart, ()):
                for name, sf in files.items():
                    if name.startswith("values") and name.endswith((".yaml", ".yml")):
                        for doc in sf.documents:
                            sub = doc.data.get(alias) if isinstance(doc.data, YMap) else None
                            yield sf.path, sub, f"values of {bundle} {alias}", None
    yield from _helm_charts_values(model, chart)


def _helm_charts_values(model: RepoModel, chart: str) -> Iterator[tuple[str, Any, str, tuple[int, int] | None]]:
    """The values of every kustomize ``helmCharts`` entry that installs ``chart``, in any
    kustomization of the repository: ``valuesInline``, ``valuesFile`` and
    ``additionalValuesFiles`` (relative to the kustomization's directory)."""
    seen: set[str] = set()
    for path, doc in model.memo.get("kustomize_documents") or ():
        charts = doc.get("helmCharts")
        if not isinstance(charts, YSeq):
            continue
        base = posixpath.dirname(path)
        for entry in charts:
            if not isinstance(entry, YMap) or entry.get("name") != chart:
                continue
            if isinstance(entry.get("valuesInline"), YMap):
                yield path, entry["valuesInline"], f"helmCharts {chart} valuesInline", None
            names = [entry.get("valuesFile")]
            extra = entry.get("additionalValuesFiles")
            if isinstance(extra, YSeq):
                names.extend(extra)
            for name in names:
                if not isinstance(name, str):
                    continue
                rel = posixpath.normpath(posixpath.join(base, name))
                sf = model.files.get(rel)
                if sf is None or rel in seen:
                    continue
                seen.add(rel)
                for doc_ in sf.documents:
                    yield sf.path, doc_.data, f"helmCharts {chart} values file {rel}", None


def _dependencies(sf: Any) -> dict[str, list[str]]:
    """Chart name -> the keys its values sit under (alias, else name) in an umbrella Chart.yaml."""
    out: dict[str, list[str]] = {}
    if sf is None:
        return out
    for doc in sf.documents:
        deps = doc.data.get("dependencies") if isinstance(doc.data, YMap) else None
        if isinstance(deps, YSeq):
            for dep in deps:
                if isinstance(dep, YMap) and isinstance(dep.get("name"), str):
                    alias = dep.get("alias")
                    out.setdefault(dep["name"], []).append(alias if isinstance(alias, str) else dep["name"])
    return out


def _anchor(model: RepoModel, chart: str, params: dict[str, Any]) -> tuple[str, tuple[int, int], str | None] | None:
    """Where the one repository-wide finding goes, where the fix goes: the ``data`` of the
    argocd-cm ConfigMap (the first, by path), else the argocd Application, else the first root;
    None when the repository holds none of them."""
    cm_name = str(params["configmap"])
    configmaps = sorted((o for o in model.kind("ConfigMap") if o.name == cm_name and o.api_version == "v1"),
                        key=lambda o: (o.path, o.doc))
    if configmaps:
        obj = configmaps[0]
        data = obj.data
        pos = data.key_pos("data") if "data" in data else (
            obj.metadata.value_pos("name") if "name" in obj.metadata else obj.pos)
        return obj.path, pos, model.app_of_path(obj.path)
    names = set(params.get("app_names") or ())
    apps = list(model.child_apps())
    target: Application | None = next((a for a in apps if any(s.chart == chart for s in a.sources)), None)
    target = target or next((a for a in apps if a.name in names), None)
    if target is None:
        for spec in model.config.layers:
            root = model.layers[spec.name].root if spec.name in model.layers else None
            if root is not None:
                target = root
                break
    if target is None:
        return None
    meta = target.obj.metadata
    pos = meta.value_pos("name") if "name" in meta else target.obj.pos
    return target.path, pos, target.name or None
