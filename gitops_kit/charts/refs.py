"""Which remote charts an Application needs (offline: read from the model)."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops_kit.charts import ChartRef
from gitops_kit.charts.store import is_exact

if TYPE_CHECKING:
    from gitops_kit.model import Application, AppSource, RepoModel

MAX_LOCK_BYTES = 1024 * 1024


def chart_refs(model: RepoModel, app: Application) -> list[tuple[AppSource | None, ChartRef]]:
    """See :func:`gitops_kit.charts.chart_refs`. Each chart once, in source order."""
    out: list[tuple[AppSource | None, ChartRef]] = []
    seen: set[ChartRef] = set()

    def add(src: AppSource | None, ref: ChartRef) -> None:
        if ref not in seen:
            seen.add(ref)
            out.append((src, ref))

    for src in app.sources:
        repo, chart = src.repo_url, src.chart
        if chart and repo and repo.strip() and not model.is_this_repo(repo):
            version = src.text("targetRevision") or ""
            add(src, ChartRef(_oci_form(repo.strip()), chart.strip(), version.strip()))
            continue
        chart_dir = _local_chart_dir(model, src)
        if chart_dir is not None:
            for ref in _dependencies(model, chart_dir):
                add(None, ref)
            continue
        for ref in _kustomize_charts(model, src):
            add(None, ref)
    return out


def _oci_form(repo: str) -> str:
    """ArgoCD writes an OCI Helm repository without a scheme (``registry-1.docker.io/bitnamicharts``):
    the ChartRef names it ``oci://...``."""
    return repo if "://" in repo else "oci://" + repo


def _source_dir(model: RepoModel, src: AppSource) -> str | None:
    """The repository-relative folder a source of this repository deploys ('' for the root), or None."""
    if src.chart or src.path is None:
        return None
    if src.repo_url is not None and not model.is_this_repo(src.repo_url):
        return None
    rel = posixpath.normpath(src.path.replace("\\", "/").strip().lstrip("/") or ".")
    if rel == ".." or rel.startswith("../"):
        return None  # climbs out of the repository
    return "" if rel == "." else rel


def _local_chart_dir(model: RepoModel, src: AppSource) -> str | None:
    """The repository-relative folder of an umbrella chart this source deploys, or None."""
    rel = _source_dir(model, src)
    if rel is None:
        return None
    name = f"{rel}/Chart.yaml" if rel else "Chart.yaml"
    return rel if name in model.files else None


def _kustomize_charts(model: RepoModel, src: AppSource) -> list[ChartRef]:
    """The ``helmCharts`` with a ``repo`` and an exact ``version`` of the kustomization a source of
    this repository builds, and of every local kustomization it pulls in (``kustomize build
    --enable-helm`` inflates them; without a version kustomize takes the newest: not pinned, skipped)."""
    rel = _source_dir(model, src)
    if rel is None:
        return []
    from gitops_kit.model import kustomize

    found = kustomize.tree(model, rel)
    if found is None:
        return []
    refs = []
    for _path, data in found.kustomizations:
        charts = data.get("helmCharts")
        if not isinstance(charts, list):
            continue
        for chart in charts:
            if not isinstance(chart, dict):
                continue
            name, repo, version = chart.get("name"), chart.get("repo"), chart.get("version")
            if isinstance(version, (int, float)) and not isinstance(version, bool):
                version = str(version)
            if not (isinstance(name, str) and isinstance(repo, str) and isinstance(version, str)):
                continue
            if name.strip() and repo.strip() and is_exact(version):
                refs.append(ChartRef(repo.strip(), name.strip(), version.strip()))
    return refs


def _dependencies(model: RepoModel, chart_dir: str) -> list[ChartRef]:
    """Remote dependencies of the chart in ``chart_dir``: Chart.lock's versions when it has one,
    else Chart.yaml's dependencies with exact versions. ``file://`` and empty repositories are
    local; ``@alias`` / ``alias:`` repositories name a ``helm repo add`` we cannot know: skipped."""
    prefix = f"{chart_dir}/" if chart_dir else ""
    entries = _lock_dependencies(model, prefix + "Chart.lock")
    exact_only = False
    if entries is None:
        entries, exact_only = _chart_yaml_dependencies(model, prefix + "Chart.yaml"), True
    refs = []
    for dep in entries:
        name, version, repo = dep.get("name"), dep.get("version"), dep.get("repository")
        if not isinstance(name, str) or not isinstance(repo, str) or not name.strip():
            continue
        if isinstance(version, (int, float)) and not isinstance(version, bool):
            version = str(version)
        if not isinstance(version, str):
            continue
        repo = repo.strip()
        if not repo or repo.lower().startswith("file://") or repo.startswith(("@", "alias:")):
            continue
        if exact_only and not is_exact(version):
            continue  # a range: Helm resolves it at `helm dependency update`; pin it or commit Chart.lock
        refs.append(ChartRef(repo, name.strip(), version.strip()))
    return refs


def _chart_yaml_dependencies(model: RepoModel, rel: str) -> list[dict[str, Any]]:
    sf = model.files.get(rel)
    if sf is None or not sf.documents:
        return []
    data = sf.documents[0].data
    deps = data.get("dependencies") if isinstance(data, dict) else None
    return [d for d in deps if isinstance(d, dict)] if isinstance(deps, list) else []


def _lock_dependencies(model: RepoModel, rel: str) -> list[dict[str, Any]] | None:
    """Chart.lock's dependencies, or None when there is no readable Chart.lock.

    Chart.lock is not a .yaml file, so the model's walk lists it but does not parse it; it is read
    here once, confined to the repository (a symlink out of it is not followed)."""
    if rel not in model.all_files:
        return None
    memo_key = f"charts.lock:{rel}"
    if memo_key in model.memo:
        return model.memo[memo_key]
    result: list[dict[str, Any]] | None = None
    path = os.path.join(model.root, rel)
    real_root = os.path.realpath(model.root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) == real_root:
        from gitops_kit import yamlio
        from gitops_kit.charts.store import read_regular

        raw = read_regular(Path(path), min(model.config.max_file_bytes, MAX_LOCK_BYTES))
        text = yamlio.decode(raw)[0] if raw is not None else None
        loaded = yamlio.load_text(text) if text is not None else None
        if loaded is not None and loaded.documents and isinstance(loaded.documents[0].data, dict):
            deps = loaded.documents[0].data.get("dependencies")
            if isinstance(deps, list):
                result = [d for d in deps if isinstance(d, dict)]
    model.memo[memo_key] = result
    return result
