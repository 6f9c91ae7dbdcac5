"""Pulling charts into the cache: the only module of gitops-kit that opens network connections.

HTTP(S) Helm repositories are read with the standard library (``urllib``): the index, then the
archive, checked against the index's ``digest`` before it enters the cache. ``oci://`` charts go
through Helm's own OCI client in ``helm_python`` (the optional ``[render]`` extra).

Credentials come only from environment variables (see :func:`credentials`): a host's own pair is
sent only to that host, the host-less pair to every host a pull reaches (which the repository
names: docs/security.md); never on a redirect, never written to the cache, never printed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urljoin, urlsplit

from gitops_kit.charts import ChartError, ChartRef, DigestMismatch, FetchError, store
from gitops_kit.charts.store import is_exact

if TYPE_CHECKING:
    from gitops_kit.config import Config

TIMEOUT = 30.0  # seconds per connect / read
DEADLINE = 300.0  # seconds for one download, however slowly the bytes trickle in
MAX_INDEX_BYTES = 64 * 1024 * 1024  # the largest public indexes (bitnami's) were tens of MB
ENV_PREFIX = "GITOPS_KIT_CHARTS_"


def mirrored(url: str, mirrors: dict[str, str]) -> str:
    """``url`` with the longest matching mirror prefix replaced (matching is on whole path segments,
    scheme and host case-insensitive, trailing slashes ignored); unchanged when none matches."""
    norm = store.normalise_url(url)
    best: tuple[int, str, str] | None = None
    for upstream, served in mirrors.items():
        key = store.normalise_url(str(upstream))
        if (norm == key or norm.startswith(key + "/")) and (best is None or len(key) > best[0]):
            best = (len(key), key, str(served))
    if best is None:
        return url.strip()
    return best[2].rstrip("/") + norm[len(best[1]):]


def _env_key(host: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", host.upper()).strip("_")


def credentials(host: str) -> tuple[str, str] | None:
    """(username, password) for ``host`` from the environment, or None.

    ``GITOPS_KIT_CHARTS_<HOST>_USERNAME`` / ``..._PASSWORD`` (HOST upper-case, every run of other
    characters an underscore: ``harbor.example.com:8443`` -> ``HARBOR_EXAMPLE_COM_8443``) win over
    ``GITOPS_KIT_CHARTS_USERNAME`` / ``GITOPS_KIT_CHARTS_PASSWORD``, which apply to every host."""
    for prefix in (f"{ENV_PREFIX}{_env_key(host)}_", ENV_PREFIX):
        user, password = os.environ.get(prefix + "USERNAME"), os.environ.get(prefix + "PASSWORD")
        if user or password:
            return user or "", password or ""
    return None


class _NoRedirectAuth(urllib.request.HTTPRedirectHandler):
    """Redirects to http(s) only (never ``file:``); the Authorization header is an unredirected
    header, so it is not sent to where a redirect points."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.HTTPError(req.full_url, code, "redirect to a non-HTTP URL refused", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    # Built by hand, not build_opener(): no file:, ftp: or data: handlers, no proxy-auth surprises
    # beyond the standard proxy environment variables.
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                    urllib.request.HTTPDefaultErrorHandler(), _NoRedirectAuth(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


@dataclass
class Session:
    """One run of pulls: the opener, the mirrors and the indexes already read (``--all`` reads each
    repository's index once)."""

    mirrors: dict[str, str]
    indexes: dict[str, Any] = field(default_factory=dict)
    timeout: float = TIMEOUT
    root: Path | None = None  # the cache folder (tests); None: store.cache_dir()
    requests: int = 0

    @classmethod
    def for_config(cls, config: Config, root: Path | None = None) -> Session:
        """A session with the mirrors of ``config`` (``charts.mirrors``)."""
        mirrors = (config.data.get("charts") or {}).get("mirrors") or {}
        return cls({str(k): str(v) for k, v in mirrors.items()}, root=root)

    # -- HTTP -------------------------------------------------------------------------------
    def _get(self, ref: ChartRef, url: str, limit: int, sink: Any) -> int:
        """GET ``url`` into ``sink`` (a binary file), at most ``limit`` bytes; the bytes written."""
        return self.download(ref.label(), url, limit, sink, lambda message: FetchError(ref, message))

    def download(self, label: str, url: str, limit: int, sink: Any, error: Callable[[str], Exception]) -> int:
        """GET ``url`` into ``sink`` (a binary file), at most ``limit`` bytes; the bytes written.
        Failures raise ``error(message)``, the message starting with ``label``."""
        clean = store.without_credentials(url)
        try:
            parts = urlsplit(url)
            host = store.host_of(parts)
        except ValueError:
            raise error(f"{label}: {clean} is not a valid URL") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise error(f"{label}: refusing to download {clean} (only http:// and https:// URLs)")
        request = urllib.request.Request(clean, headers={"User-Agent": "gitops-kit"})
        creds = credentials(host)
        if creds is not None:
            token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode("ascii")
            request.add_unredirected_header("Authorization", f"Basic {token}")
        self.requests += 1
        start = time.monotonic()
        try:
            with _opener().open(request, timeout=self.timeout) as response:
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise error(f"{label}: {clean} is {int(declared)} bytes, over the {limit}-byte limit")
                total = 0
                while chunk := response.read(1 << 16):
                    total += len(chunk)
                    if total > limit:
                        raise error(f"{label}: {clean} is over the {limit}-byte limit")
                    if time.monotonic() - start > DEADLINE:
                        raise error(f"{label}: downloading {clean} took over {DEADLINE:.0f} s")
                    sink.write(chunk)
                return total
        except urllib.error.HTTPError as exc:
            hint = " (credentials: see GITOPS_KIT_CHARTS_USERNAME/PASSWORD)" if exc.code in (401, 403) else ""
            raise error(f"{label}: HTTP {exc.code} from {clean}{hint}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            why = "timed out" if isinstance(reason, TimeoutError) else str(reason)
            raise error(f"{label}: cannot reach {clean}: {why}") from None
        except TimeoutError:
            raise error(f"{label}: {clean} timed out after {self.timeout:.0f} s") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise error(f"{label}: downloading {clean} failed: {type(exc).__name__}") from None

    def index(self, ref: ChartRef, index_url: str) -> Any:
        """The parsed ``index.yaml`` at ``index_url`` (read once per session)."""
        if index_url in self.indexes:
            return self.indexes[index_url]
        from io import BytesIO

        from gitops_kit import yamlio

        buf = BytesIO()
        self._get(ref, index_url, MAX_INDEX_BYTES, buf)
        text = yamlio.decode(buf.getvalue())[0]
        loaded = yamlio.load_text(text) if text is not None else None
        if loaded is None or any(p.fatal for p in loaded.problems) or not loaded.documents:
            raise FetchError(ref, f"{ref.label()}: {store.without_credentials(index_url)} is not a valid "
                                  "Helm repository index (YAML)")
        data = loaded.documents[0].data
        self.indexes[index_url] = data
        return data

    # -- pulls ------------------------------------------------------------------------------
    def pull(self, ref: ChartRef) -> tuple[Path, bool]:
        """See :func:`gitops_kit.charts.pull`."""
        try:
            return store.locate(ref, self.root), False
        except ChartError:
            pass
        if not ref.chart.strip() or "/" in ref.chart or ref.chart.strip() in (".", ".."):
            raise FetchError(ref, f"{ref.label()}: not a chart name")
        if not is_exact(ref.version):
            raise FetchError(ref, f"{ref.label()}: version {ref.version!r} is not one exact version "
                                  "(gitops-kit pulls pinned versions only)")
        try:
            folder = store.ensure_entry_dir(ref, self.root)
        except OSError as exc:
            raise FetchError(ref, f"{ref.label()}: cannot write the chart cache: {exc.strerror or exc}") from None
        try:
            with store.locked(folder):
                try:  # another run may have pulled it while this one waited for the lock
                    return store.locate(ref, self.root), False
                except ChartError:
                    pass
                store.discard(folder)
                store.remove_stale_temps(folder)
                if store.is_oci(ref.repo_url):
                    return self._pull_oci(ref, folder), True
                return self._pull_http(ref, folder), True
        except OSError as exc:  # the cache folder: unwritable, full, a symlink where a file belongs
            raise FetchError(ref, f"{ref.label()}: cannot write the chart cache: {exc.strerror or exc}") from None

    def _pull_http(self, ref: ChartRef, folder: Path) -> Path:
        base = mirrored(ref.repo_url, self.mirrors).rstrip("/")
        index_url = base + "/index.yaml"
        index = self.index(ref, index_url)
        entry = _find_version(index, ref)
        if entry is None:
            raise FetchError(ref, f"{ref.label()}: the repository index ({store.without_credentials(index_url)}) "
                                  f"has no version {ref.version} of {ref.chart}")
        urls, digest = entry.get("urls"), entry.get("digest")
        if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
            raise FetchError(ref, f"{ref.label()}: the index entry has no download URL")
        if not isinstance(digest, str) or not re.fullmatch(r"(sha256:)?[0-9a-fA-F]{64}", digest.strip()):
            raise FetchError(ref, f"{ref.label()}: the index entry has no sha256 digest, so the download "
                                  "could not be verified")
        expected = digest.strip().lower().removeprefix("sha256:")
        # a relative URL is relative to the index; an absolute one to the upstream host is mirrored too
        url = mirrored(urljoin(index_url, urls[0].strip()), self.mirrors)
        fd, tmp = store.temp_file(folder)
        try:
            hasher = _Hashing(os.fdopen(fd, "wb"))
            with hasher:
                size = self._get(ref, url, store.MAX_ARCHIVE_BYTES, hasher)
                hasher.sync()
            actual = hasher.hexdigest()
            if actual != expected:
                raise DigestMismatch(ref, f"{ref.label()}: the downloaded archive's sha256 ({actual[:12]}...) is "
                                          f"not the index's digest ({expected[:12]}...): not cached")
            if size == 0:
                raise FetchError(ref, f"{ref.label()}: the downloaded archive is empty")
            return store.commit(ref, folder, tmp, actual, size, url, "index")
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _pull_oci(self, ref: ChartRef, folder: Path) -> Path:
        try:
            import helm_python
        except ImportError:
            raise FetchError(ref, f"{ref.label()}: pulling oci:// charts needs the Helm SDK: "
                                  "pip install 'gitops-kit[render]'") from None
        upstream = ref.repo_url.strip()
        if "://" not in upstream:
            upstream = "oci://" + upstream  # ArgoCD's scheme-less form of an OCI Helm repository
        source = mirrored(upstream, self.mirrors).rstrip("/")
        chart_ref = f"{store.without_credentials(source)}/{ref.chart.strip()}"
        try:
            parts = urlsplit(chart_ref)
            creds = credentials(store.host_of(parts))
            if not parts.hostname:
                raise ValueError("no registry host")
        except ValueError:
            raise FetchError(ref, f"{ref.label()}: {chart_ref} is not a valid OCI reference") from None
        work = tempfile.mkdtemp(dir=folder, prefix=store.TEMP_PREFIX)
        try:
            try:
                helm_python.pull(chart_ref, destination=work, version=ref.version.strip(),
                                 username=creds[0] if creds else None, password=creds[1] if creds else None)
            except Exception as exc:
                raise FetchError(ref, f"{ref.label()}: pulling {chart_ref} failed: {_one_line(exc, creds)}") from None
            archives = [name for name in os.listdir(work) if name.endswith(".tgz")]
            if len(archives) != 1:
                raise FetchError(ref, f"{ref.label()}: pulling {chart_ref} gave no chart archive")
            path = os.path.join(work, archives[0])
            st = os.lstat(path)
            if not os.path.isfile(path) or os.path.islink(path) or st.st_size > store.MAX_ARCHIVE_BYTES:
                raise FetchError(ref, f"{ref.label()}: the pulled archive is not a regular file under the size limit")
            hasher = hashlib.sha256()
            with open(path, "rb") as src:
                while chunk := src.read(1 << 20):
                    hasher.update(chunk)
            # Helm's OCI client verified the layer against the manifest's digest; the cache records the
            # archive's sha256 so that locate() detects any later change
            fd, tmp = store.temp_file(folder)
            os.close(fd)
            os.replace(path, tmp)
            try:
                return store.commit(ref, folder, tmp, hasher.hexdigest(), st.st_size, chart_ref, "oci-pull")
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        finally:
            shutil.rmtree(work, ignore_errors=True)


class _Hashing:
    """A binary sink that hashes what it writes."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.out.write(data)

    def sync(self) -> None:
        self.out.flush()
        os.fsync(self.out.fileno())

    def hexdigest(self) -> str:
        return self.sha.hexdigest()

    def __enter__(self) -> _Hashing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.out.close()


def _one_line(exc: BaseException, creds: tuple[str, str] | None) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if creds:
        for secret in creds:
            if secret:
                text = text.replace(secret, "***")
    return text[:300]


def _find_version(index: Any, ref: ChartRef) -> dict | None:
    """The index entry of ``ref``'s chart and version (``v1.2.3`` and ``1.2.3`` are the same)."""
    entries = index.get("entries") if isinstance(index, dict) else None
    versions = entries.get(ref.chart.strip()) if isinstance(entries, dict) else None
    if not isinstance(versions, list):
        return None
    want = ref.version.strip()
    fallback = None
    for entry in versions:
        if not isinstance(entry, dict):
            continue
        have = str(entry.get("version", "")).strip()
        if have == want:
            return entry
        if fallback is None and have.lstrip("v") == want.lstrip("v"):
            fallback = entry
    return fallback


def pull(ref: ChartRef, config: Config) -> tuple[Path, bool]:
    """See :func:`gitops_kit.charts.pull`."""
    return Session.for_config(config).pull(ref)
