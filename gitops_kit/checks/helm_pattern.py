"""helm-pattern: each Helm bundle uses one pattern, every chart version is pinned exactly, and
every ``$ref`` value file has its ``ref:`` source. The bundle pattern and the version pins are
conventions (at most warnings in a repository that has not opted into them); a ``$ref`` without
its source breaks the render.

Only charts pulled from a chart repository have a version to pin. A chart loaded from this
repository is not judged: a Chart.yaml dependency whose ``repository`` is empty (``charts/<name>``)
or ``file://``, a kustomize ``helmCharts`` entry without ``repo`` (``helmGlobals.chartHome``), an
Application ``path:`` source holding a Chart.yaml (it has no ``chart:`` and is never judged).
"""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, show
from ..model import KUSTOMIZATION_FILES, RepoModel
from ..model.values import is_build_env, ref_source
from ..yamlio import YMap, YSeq
from ._apps import version_problem

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 8


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    yield from _ambiguous(model)
    yield from _chart_sources(model)
    yield from _version_files(model)
    yield from _refs(model)



def _ambiguous(model: RepoModel) -> Iterator[Hit]:
    for name, bundle in sorted(model.bundles.items()):
        directory = bundle.helm_dir
        if directory is None or f"{directory}/Chart.yaml" not in model.all_files:
            continue
        kust = next((f"{directory}/{k}" for k in KUSTOMIZATION_FILES if f"{directory}/{k}" in model.all_files), None)
        if kust is not None:
            yield Hit(kust, (1, 1), f"{directory}/ holds both Chart.yaml and {kust.rsplit('/', 1)[-1]}: the "
                      f"{model.config.avp_plugin} plugin renders only one of them, so which one deploys is ambiguous",
                      app=name, key=f"{directory}:ambiguous", severity=model.config.convention_severity)


def _chart_sources(model: RepoModel) -> Iterator[Hit]:
    for app in model.applications:
        ident = app.obj.identity()
        for source in app.sources:
            chart = source.chart
            if chart is None:
                continue
            key = f"{ident}:chart:{source.index}:{chart}"
            if "targetRevision" not in source.data:
                yield Hit(app.path, source.data.key_pos("chart"), f"Application {app.label}: chart {chart!r} has no "
                          "targetRevision, so any sync may pull a new chart version; pin an exact version",
                          app=app.name or None, key=key, severity=model.config.convention_severity)
                continue
            rev = source.target_revision
            problem = version_problem(rev)
            if problem is not None:
                yield Hit(app.path, source.pos("targetRevision"), f"Application {app.label}: chart {chart!r} "
                          f"targetRevision {show(rev)} is not an exact version ({problem})", app=app.name or None,
                          key=key, severity=model.config.convention_severity)


def _version_files(model: RepoModel) -> Iterator[Hit]:
    for path, sf in model.files.items():
        base = path.rsplit("/", 1)[-1]
        if base == "Chart.yaml":
            field, what, source = "dependencies", "dependency", "repository"
        elif base in KUSTOMIZATION_FILES:
            field, what, source = "helmCharts", "helmCharts entry", "repo"
        else:
            continue
        app = model.app_of_path(path)
        for doc in sf.documents:
            data = doc.data
            entries = data.get(field) if isinstance(data, YMap) else None
            if not isinstance(entries, YSeq):
                continue
            for i, entry in enumerate(entries):
                if not isinstance(entry, YMap) or is_local_chart(entry.get(source)):
                    continue
                name = entry.get("name")
                shown = repr(name) if isinstance(name, str) else f"#{i + 1}"
                key = f"{path}:{doc.index}:{field}:{name if isinstance(name, str) else i}"
                if "version" not in entry:
                    yield Hit(path, entries.item_pos(i), f"{what} {shown} has no version, so every render may pull "
                              "a new chart version; pin an exact version", app=app, key=key,
                              severity=model.config.convention_severity)
                    continue
                problem = version_problem(entry["version"])
                if problem is not None:
                    yield Hit(path, entry.value_pos("version"), f"{what} {shown} version {show(entry['version'])} "
                              f"is not an exact version ({problem})", app=app, key=key,
                              severity=model.config.convention_severity)


def is_local_chart(repository: Any) -> bool:
    """Whether a dependency's ``repository`` (helmCharts: ``repo``) loads the chart from this
    repository: empty is Helm's ``charts/<name>`` and kustomize's chartHome, ``file://`` a path."""
    if repository is None:
        return True
    if not isinstance(repository, str):
        return False
    text = repository.strip()
    return not text or text.lower().startswith("file://")


def _refs(model: RepoModel) -> Iterator[Hit]:
    for app in model.applications:
        for source in app.sources:
            for value_file, pos in source.value_files():
                if not value_file.startswith("$") or is_build_env(value_file) \
                        or ref_source(app, value_file) is not None:
                    continue
                name = value_file[1:].split("/", 1)[0]
                if not name:
                    why = "names no ref source after the $"
                elif app.multi_source:
                    why = f"refers to ${name}, but no source of the Application has ref: {name}"
                else:
                    why = (f"refers to ${name}, but $-references only work between spec.sources, "
                           f"and none has ref: {name}")
                yield Hit(app.path, pos, f"Application {app.label}: value file {show(value_file)} {why}",
                          app=app.name or None,
                          key=f"{app.obj.identity()}:ref:{source.index}:{value_file}")
