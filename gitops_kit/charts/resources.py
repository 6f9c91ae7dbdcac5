"""Remote kustomize resources (``resources: [https://.../install.yaml]``): a cache beside the chart
cache, filled only by ``gitops-kit charts pull``.

ArgoCD's kustomize downloads such a URL on every render; gitops-kit renders offline, so the file is
pulled once into ``<cache>/gitops-kit/resources/<hash of the URL>/`` (``resource`` and
``record.json``) and the renderer and the kustomize-build rule put the cached copy in place of the
URL in their temporary copy of the kustomization.

- **Pinned only.** A URL is pulled only when it names a tag or a commit (``.../v2.13.2/...``,
  ``.../releases/download/v8.2.0/...``, a 40-hex commit, ``?ref=v1.2.3``): a branch
  (``.../master/...``) moves, so it is reported as unpinned and never pulled.
- **Recorded.** The sha256 of the first pull is kept in the record; ``locate()`` checks the file
  against it on every use, and a later pull of the same URL (the file was removed or damaged) that
  gets other bytes is an error, :class:`ResourceChanged`: a tag was moved upstream (or a mirror
  serves something else), and the cache keeps what was reviewed.
- **Bounded, atomic, untrusted**, as the chart cache: 32 MB per file, temporary file +
  ``os.replace``, a lock per URL, symlinks never followed, a bad record is a miss.

Mirrors are ``charts.mirrors`` (URL prefixes), as for charts; credentials the same variables.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from gitops_kit.charts import store

if TYPE_CHECKING:
    from gitops_kit.charts.fetch import Session

MAX_RESOURCE_BYTES = 32 * 1024 * 1024
CONTENT = "resource"
RECORD_VERSION = 1

# A path segment (or ?ref=) that pins: a version tag (v2.13.2, 1.2, cluster-v0.0.5, v8.2.0-rc.1)
# or a full commit. Branch names (master, main, release-2.13, stable) do not.
_TAG = re.compile(r"(?:[A-Za-z][A-Za-z0-9_.-]*[-_/])?v?\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?")
_COMMIT = re.compile(r"[0-9a-fA-F]{40}")
_MAX_TAG = 128  # release tags are short: a longer path segment is not taken for one
_GIT_FORM = re.compile(r"\.git(?:$|[/?])|//[^/]")


class ResourceError(Exception):
    """A remote resource that cannot be used; ``str(e)`` is a one-line user message."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(message)
        self.url = url


class ResourceMiss(ResourceError):
    """Not in the cache (or its entry is unusable)."""


class ResourceChanged(ResourceError):
    """The bytes are not those recorded at the first pull (in the cache, or a new download)."""


class ResourceFetchError(ResourceError):
    """Downloading failed (network, HTTP status, size limit, not text)."""


class Unpinned(ResourceError):
    """The URL names no tag or commit: never pulled."""


class NotAFile(ResourceError):
    """A kustomize remote target that is a git repository (a clone), not one file over HTTP(S)."""


@dataclass(frozen=True)
class RemoteResource:
    """One remote entry of a kustomization: the URL as written, and where."""

    url: str
    kustomization: str
    pos: tuple[int, int]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/gitops-kit/resources`` (beside the chart cache)."""
    return store.cache_dir().parent / "resources"


def clean(url: str) -> str:
    """``url`` without credentials, for messages and records."""
    return store.without_credentials(url.strip())


def is_file_url(url: str) -> bool:
    """Whether kustomize fetches ``url`` as one file over HTTP(S) (not a git clone)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return False
    return not _GIT_FORM.search(parts.path) and "ref=" not in parts.query and not parts.path.endswith("/")


def is_pinned(url: str) -> bool:
    """Whether ``url`` names a tag or a commit (a path segment, or ``?ref=``/``?version=``)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    segments = [s for s in parts.path.split("/") if s]
    if "latest" in segments:  # .../releases/latest/download/...: whatever was released last
        return False
    # the file name itself (install-1.2.yaml) does not pin what the folder holds: leave it out
    candidates = segments[:-1]
    for item in parts.query.split("&"):
        key, _, value = item.partition("=")
        if key in ("ref", "version") and value:
            candidates.append(value)
    # A tag is short; the optional prefix of _TAG backtracks quadratically on a long segment.
    return any(len(s) <= _MAX_TAG and (_TAG.fullmatch(s) or _COMMIT.fullmatch(s)) for s in candidates)


def normalise(url: str) -> str:
    """The cache key of a URL: scheme and host lower-case, no credentials or fragment; the path and
    query as written (they select the file)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = store.host_of(parts).lower()
    except ValueError:
        return text
    return urlunsplit((parts.scheme.lower(), host, parts.path, parts.query, ""))


def entry_dir(url: str, root: Path | None = None) -> Path:
    digest = hashlib.sha256(normalise(url).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    name = re.sub(r"[^A-Za-z0-9._+-]+", "_", normalise(url).rsplit("/", 1)[-1])[:60].lstrip(".")
    return (root or cache_dir()) / (f"{name}-{digest}" if name else digest)


def _pull_hint(app: str | None) -> str:
    return f"run `gitops-kit charts pull {app}`" if app else "run `gitops-kit charts pull <app>`"


def read_record(folder: Path) -> dict[str, Any] | None:
    """The record of a resource folder (the chart store's reader, with this cache's fields)."""
    return store.read_record(folder, RECORD_VERSION, "sha256", MAX_RESOURCE_BYTES)


def locate(url: str, root: Path | None = None, app: str | None = None) -> Path:
    """The cached copy of ``url``, checked against its recorded sha256; offline.

    :class:`Unpinned` for a URL without a tag or commit, :class:`NotAFile` for a git target,
    :class:`ResourceMiss` when it is not cached, :class:`ResourceChanged` when the file is not what
    was recorded."""
    label = clean(url)
    if not is_file_url(url):
        raise NotAFile(url, f"remote resource {label} is a git repository, which gitops-kit does not clone: add a "
                            "local copy to the kustomize-build rule's substitutes")
    if not is_pinned(url):
        raise Unpinned(url, f"remote resource {label} names no tag or commit (a branch moves): not pulled, not "
                            "rendered; pin a tag or commit in the URL")
    folder = entry_dir(url, root)
    record = read_record(folder) if store._is_real_dir(folder) else None
    if record is None or record.get("url") != normalise(clean(url)):
        raise ResourceMiss(url, f"remote resource {label} is not in the resource cache: {_pull_hint(app)}")
    data = store.read_regular(folder / CONTENT, MAX_RESOURCE_BYTES)
    if data is None:
        raise ResourceMiss(url, f"remote resource {label} is not in the resource cache (no content): "
                                f"{_pull_hint(app)}")
    actual = hashlib.sha256(data).hexdigest()
    if len(data) != record["size"] or actual != record["sha256"]:
        raise ResourceChanged(url, f"cached remote resource {label} is not the file recorded at its first pull "
                                   f"(sha256 {actual[:12]}..., recorded {record['sha256'][:12]}...): "
                                   f"{_pull_hint(app)} to download it again")
    return folder / CONTENT


def pull(url: str, session: Session, app: str | None = None) -> tuple[Path, bool]:
    """Make sure ``url`` is in the cache: ``(path, downloaded?)``; cached: no request at all.

    A download whose sha256 is not the one recorded at the first pull is :class:`ResourceChanged`
    (the cache is left as it was)."""
    from gitops_kit.charts.fetch import mirrored

    root = session.root.parent / "resources" if session.root is not None else None
    try:
        return locate(url, root, app), False
    except (ResourceMiss, ResourceChanged):
        pass
    label = clean(url)
    folder = entry_dir(url, root)
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
        if not store._is_real_dir(folder):
            raise OSError(f"cache entry {folder} is not a directory")
        with store.locked(folder):
            with contextlib.suppress(ResourceMiss, ResourceChanged):
                return locate(url, root, app), False  # pulled by another run meanwhile
            store.remove_stale_temps(folder)
            record = read_record(folder)
            served = mirrored(url, session.mirrors) if session.mirrors else url.strip()
            if served != url.strip():
                # mirrored() normalises the path; the query selects the file too
                query = urlsplit(url.strip()).query
                served += f"?{query}" if query else ""
            fd, tmp = store.temp_file(folder)
            try:
                hasher = hashlib.sha256()
                with os.fdopen(fd, "wb") as out:
                    sink = _HashSink(out, hasher)
                    size = session.download(f"remote resource {label}", served, MAX_RESOURCE_BYTES, sink,
                                            lambda message: ResourceFetchError(url, message))
                    out.flush()
                    os.fsync(out.fileno())
                digest = hasher.hexdigest()
                if size == 0:
                    raise ResourceFetchError(url, f"remote resource {label}: the download is empty")
                with open(tmp, "rb") as fh:
                    head = fh.read(1 << 16)
                if b"\x00" in head:
                    raise ResourceFetchError(url, f"remote resource {label}: the download is not a text file")
                if record is not None and record.get("url") == normalise(label) and record["sha256"] != digest:
                    raise ResourceChanged(url, f"remote resource {label} changed since its first pull (sha256 "
                                               f"{digest[:12]}..., recorded {record['sha256'][:12]}...): the tag "
                                               "was moved or the mirror serves another file; not cached")
                os.replace(tmp, folder / CONTENT)
                first = record.get("first_pulled") if record is not None else None
                new = {"version": RECORD_VERSION, "url": normalise(label), "served_url": clean(served),
                       "sha256": digest, "size": size,
                       "first_pulled": first or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                store._write_atomic(folder, store.RECORD, json.dumps(new, indent=2, sort_keys=True).encode() + b"\n")
                return folder / CONTENT, True
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
    except OSError as exc:
        raise ResourceFetchError(url, f"remote resource {label}: cannot write the resource cache: "
                                      f"{exc.strerror or exc}") from None


class _HashSink:
    def __init__(self, out: Any, hasher: Any) -> None:
        self.out, self.hasher = out, hasher

    def write(self, data: bytes) -> None:
        self.hasher.update(data)
        self.out.write(data)


def remote_resources(model: Any, app: Any) -> list[RemoteResource]:
    """The remote ``resources``/``bases``/``components`` entries of the kustomizations ``app``'s
    sources of this repository build (sub-kustomizations included), each URL once, in order."""
    from gitops_kit.model.delivery import source_dir, source_kind
    from gitops_kit.model.kustomize import tree

    out: list[RemoteResource] = []
    seen: set[str] = set()
    for src in app.sources:
        if src.chart is not None:
            continue
        try:
            kind = source_kind(model, src)
        except Exception:  # a source the model cannot classify renders nothing here
            continue
        if kind not in ("kustomize", "plugin"):
            continue
        directory = source_dir(model, src)
        found = tree(model, directory) if directory is not None else None
        if found is None:
            continue
        for entry in found.remotes:
            if entry.ref not in seen:
                seen.add(entry.ref)
                out.append(RemoteResource(entry.ref, entry.kustomization, entry.pos))
    return out


def substitutes(config: Any) -> dict[str, str]:
    """The kustomize-build rule's ``substitutes`` (URL -> repository path): they win over the cache."""
    settings = config.rule_settings("kustomize-build") if hasattr(config, "rule_settings") else {}
    params = settings.get("params") if isinstance(settings, dict) else None
    subs = params.get("substitutes") if isinstance(params, dict) else None
    return {str(k).strip(): str(v) for k, v in subs.items()} if isinstance(subs, dict) else {}
