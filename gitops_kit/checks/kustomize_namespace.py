"""kustomize-namespace: a kustomization that renders Helm charts and also sets a top-level namespace.

kustomize's ``namespace:`` transformer rewrites the namespace of every resource it emits, the
chart's cross-namespace custom resources included; the seed's data-loss incident. The Helm
release namespace belongs in ``helmCharts[].namespace``. An Application that sets
``spec.source.kustomize.namespace`` on such a directory does the same thing and is reported too.
"""

from __future__ import annotations

import posixpath
from typing import Any, Iterator

from ..findings import Hit, show
from ..model import KUSTOMIZATION_FILES, RepoModel, is_kustomization
from ..yamlio import YMap, YSeq

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 9



def _is_set(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _charts(entries: YSeq) -> str:
    names = [str(e["name"]) for e in entries if isinstance(e, YMap) and isinstance(e.get("name"), str)]
    return ", ".join(names) if names else f"{len(entries)} chart(s)"


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    chart_dirs: dict[str, str] = {}  # directory of a helmCharts kustomization -> its chart names
    for path, sf in model.files.items():
        named = path.rsplit("/", 1)[-1] in KUSTOMIZATION_FILES
        for doc in sf.documents:
            data = doc.data
            charts = data.get("helmCharts") if isinstance(data, YMap) else None
            if not is_kustomization(path, data) or not isinstance(charts, YSeq) or not charts:
                continue
            names = _charts(charts)
            if named:
                chart_dirs[posixpath.dirname(path)] = names
            if "namespace" not in data or not _is_set(data["namespace"]):
                continue
            yield Hit(path, data.key_pos("namespace"),
                      f"kustomization renders helmCharts ({names}) and sets a top-level namespace: "
                      f"{show(data['namespace'])}: kustomize rewrites the namespace of every resource, "
                      "cross-namespace custom resources of the chart included; set helmCharts[].namespace instead",
                      key=f"{path}#{doc.index}:namespace")
    if not chart_dirs:
        return
    for app in model.applications:
        for src in app.sources:
            kustomize = src.get("kustomize")
            if not isinstance(kustomize, YMap) or not _is_set(kustomize.get("namespace")) or src.path is None:
                continue
            if src.plugin is not None or not (model.repo_url is None or src.repo_url is None
                                              or model.is_this_repo(src.repo_url)):
                continue
            directory = posixpath.normpath(src.path.strip().strip("/") or ".")
            directory = "" if directory == "." else directory
            if directory not in chart_dirs:
                continue
            yield Hit(app.path, kustomize.key_pos("namespace"),
                      f"Application {app.name!r} sets kustomize.namespace: {show(kustomize['namespace'])} on "
                      f"{directory}/, whose kustomization renders helmCharts ({chart_dirs[directory]}): every "
                      "resource, cross-namespace custom resources included, is moved into it; set "
                      "helmCharts[].namespace instead", app=app.name or None,
                      key=f"{app.obj.identity()}:{src.index}:kustomize.namespace")
