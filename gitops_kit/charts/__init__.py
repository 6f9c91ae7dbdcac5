"""Remote Helm charts: references, the chart cache outside the repository, and pulling them.

Only :func:`pull` uses the network. Everything else (:func:`locate`, :func:`chart_refs`) is offline
and deterministic, so ``lint`` and ``render`` can call it freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitops_kit.config import Config
    from gitops_kit.model import Application, AppSource, RepoModel

__all__ = [
    "CacheMiss",
    "ChartError",
    "ChartRef",
    "DigestMismatch",
    "FetchError",
    "cache_dir",
    "chart_refs",
    "locate",
    "pull",
]


@dataclass(frozen=True)
class ChartRef:
    """One remote chart version: where it comes from (as the repository writes it), its name and version."""

    repo_url: str  # upstream Helm repository URL as written in the repository, or "oci://host/path"
    chart: str
    version: str

    def label(self) -> str:
        """How messages name it: ``vault 0.33.0 from https://helm.releases.hashicorp.com`` (never with
        credentials a URL may carry)."""
        from gitops_kit.charts.store import without_credentials

        version = self.version or "(no version)"
        return f"{self.chart} {version} from {without_credentials(self.repo_url.strip())}"


class ChartError(Exception):
    """A chart that cannot be used; ``str(e)`` is a one-line user message (never a credential)."""

    def __init__(self, ref: ChartRef, message: str) -> None:
        super().__init__(message)
        self.ref = ref


class CacheMiss(ChartError):
    """The chart is not in the cache (or its cache entry is unusable)."""


class DigestMismatch(ChartError):
    """The archive's sha256 is not the digest the repository index gives."""


class FetchError(ChartError):
    """Downloading failed (network, HTTP status, index without the version, size limit, missing SDK)."""


def cache_dir() -> Path:
    """The chart cache: ``$XDG_CACHE_HOME/gitops-kit/charts``, else ``~/.cache/gitops-kit/charts``."""
    from gitops_kit.charts import store

    return store.cache_dir()


def locate(ref: ChartRef) -> Path:
    """The verified ``.tgz`` of ``ref`` in the cache. Never touches the network.

    Raises :class:`CacheMiss` when it is not there (or its entry is unusable) and
    :class:`DigestMismatch` when the file's sha256 is not the digest recorded at pull time.
    """
    from gitops_kit.charts import store

    return store.locate(ref)


def pull(ref: ChartRef, config: Config) -> tuple[Path, bool]:
    """Make sure ``ref`` is in the cache: ``(path, downloaded?)``. Already cached: no request at all.

    Raises :class:`FetchError` (network, HTTP status, version not in the index, size limit, no SDK
    for ``oci://``) or :class:`DigestMismatch` (nothing is cached then). To pull many charts,
    ``gitops_kit.charts.fetch.Session.for_config(config).pull(ref)`` reads each repository index once.
    """
    from gitops_kit.charts import fetch

    return fetch.pull(ref, config)


def chart_refs(model: RepoModel, app: Application) -> list[tuple[AppSource | None, ChartRef]]:
    """The remote charts ``app`` needs, each with the source that asks for it: the Helm source itself,
    or None for a chart a file of this repository asks for.

    Each Helm-repository or OCI source (``chart:`` + ``targetRevision``; a scheme-less ``repoURL`` is
    OCI and named ``oci://...``), the dependencies of an umbrella chart in this repository that the
    app deploys (``Chart.lock`` versions first, else ``Chart.yaml`` dependencies with exact versions;
    ``file://`` dependencies are local and skipped), and the ``helmCharts`` (with ``repo`` and an
    exact ``version``) of the kustomizations the app builds. Each chart once, in source order.
    """
    from gitops_kit.charts import refs

    return refs.chart_refs(model, app)


def fetch_missing(pairs: list[tuple[RepoModel, Application]], session: Any | None = None) -> list[str]:
    """``--fetch``: pull every chart and pinned remote kustomize resource of the (model, app) pairs
    that the caches lack (the only network use besides ``charts pull``); each once, resources a
    ``substitutes`` entry replaces skipped. Returns one line per chart or resource that could not
    be pulled."""
    from .fetch import Session
    from .resources import ResourceError, remote_resources, substitutes
    from .resources import pull as pull_resource

    failed: list[str] = []
    seen: set = set()
    for model, app in pairs:
        session = session or Session.for_config(model.config)
        for _src, ref in chart_refs(model, app):
            if ref not in seen:
                seen.add(ref)
                try:
                    session.pull(ref)
                except ChartError as exc:
                    failed.append(str(exc))
        subs = substitutes(model.config)
        for remote in remote_resources(model, app):
            if remote.url not in seen and remote.url not in subs:
                seen.add(remote.url)
                try:
                    pull_resource(remote.url, session, app.name)
                except ResourceError as exc:
                    failed.append(str(exc))
    return failed
