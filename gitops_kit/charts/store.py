"""The chart cache on disk: one folder per (upstream repository URL, chart, version).

Layout: ``<cache_dir>/<chart>-<version>-<hash>/`` holding ``chart.tgz`` and ``record.json``
(upstream URL, the URL it was downloaded from, the digest the repository index gave, the size).
The folder name is derived from a hash of the normalised key, so nothing a repository writes
(a chart name with ``../``) can name a path outside the cache.

The cache is untrusted: a folder or file that is a symlink, an archive over the size limit,
or a record that does not parse is a miss, never a crash and never followed. Writes are atomic
(temporary file in the same folder + ``os.replace``); concurrent pulls of one key serialise on a
lock file in the key's folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from gitops_kit.charts import CacheMiss, ChartRef, DigestMismatch

MAX_ARCHIVE_BYTES = 100 * 1024 * 1024  # the largest upstream chart archives are a few MB
MAX_RECORD_BYTES = 64 * 1024
ARCHIVE = "chart.tgz"
RECORD = "record.json"
LOCK = ".lock"
TEMP_PREFIX = ".tmp-"
RECORD_VERSION = 1

_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXACT = re.compile(r"v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/gitops-kit/charts``, else ``~/.cache/gitops-kit/charts``."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    # the XDG spec: a relative value is invalid and ignored
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "gitops-kit" / "charts"


def is_exact(version: str) -> bool:
    """Whether a version is one exact (semver) version, not a range or empty."""
    return bool(_EXACT.fullmatch(version.strip()))


def is_oci(repo_url: str) -> bool:
    """Whether a chart repository URL is an OCI registry: ``oci://...``, or ArgoCD's scheme-less
    ``registry/path`` form."""
    text = repo_url.strip()
    return text.lower().startswith("oci://") or "://" not in text


def normalise_url(url: str) -> str:
    """The cache's form of a repository URL: scheme and host lower-case, no credentials, no
    trailing slash, no query or fragment; a scheme-less URL is an OCI one (``oci://``)."""
    text = url.strip()
    if "://" not in text:
        text = "oci://" + text
    try:
        parts = urlsplit(text)
        host = host_of(parts).lower()
    except ValueError:  # an invalid port or IPv6 literal: the key is the text itself
        return text.rstrip("/").lower()
    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    return urlunsplit((parts.scheme.lower(), host, path, "", ""))


def host_of(parts: SplitResult) -> str:
    """``host`` or ``host:port`` of a split URL, without credentials (ValueError for a bad port)."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"{host}:{parts.port}" if parts.port is not None else host


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` removed (for messages and records)."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        return urlunsplit((parts.scheme, host_of(parts), parts.path, parts.query, parts.fragment))
    except ValueError:
        return "(unparsable URL)"


def key_of(ref: ChartRef) -> str:
    """The name of the cache folder of ``ref`` (readable prefix, hash of the normalised key)."""
    key = "\n".join((normalise_url(ref.repo_url), ref.chart.strip(), ref.version.strip()))
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    readable = _UNSAFE.sub("_", f"{ref.chart.strip()}-{ref.version.strip()}")[:80].lstrip(".")
    return f"{readable}-{digest}" if readable else digest


def entry_dir(ref: ChartRef, root: Path | None = None) -> Path:
    """The cache folder of ``ref`` (which may not exist)."""
    return (root or cache_dir()) / key_of(ref)


def _miss(ref: ChartRef, why: str = "") -> CacheMiss:
    detail = f" ({why})" if why else ""
    return CacheMiss(ref, f"chart {ref.label()} is not in the chart cache{detail}: run `gitops-kit charts pull "
                          f"<app>` (or `gitops-kit charts pull --all`)")


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file that is not a symlink and not over ``limit``, else None."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None  # missing, a symlink (ELOOP), unreadable
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_record(folder: Path, version: int = RECORD_VERSION, digest_key: str = "digest",
                max_size: int = MAX_ARCHIVE_BYTES) -> dict[str, Any] | None:
    """The record of a cache folder, or None when it is missing or not a valid record: a JSON
    object of ``version`` with a sha256 under ``digest_key`` and a size of at most ``max_size``."""
    raw = read_regular(folder / RECORD, MAX_RECORD_BYTES)
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("version") != version:
        return None
    digest, size = record.get(digest_key), record.get("size")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        return None
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= max_size:
        return None
    return record


def locate(ref: ChartRef, root: Path | None = None) -> Path:
    """The verified archive of ``ref``; offline. CacheMiss or DigestMismatch otherwise."""
    folder = entry_dir(ref, root)
    if not _is_real_dir(folder):
        raise _miss(ref)
    record = read_record(folder)
    if record is None:
        raise _miss(ref, "no valid record")
    if record.get("key") != [normalise_url(ref.repo_url), ref.chart.strip(), ref.version.strip()]:
        raise _miss(ref, "the cache entry is for another chart")
    path = folder / ARCHIVE
    data = read_regular(path, MAX_ARCHIVE_BYTES)
    if data is None:
        raise _miss(ref, "no archive")
    actual = hashlib.sha256(data).hexdigest()
    if len(data) != record["size"] or actual != record["digest"]:
        raise DigestMismatch(ref, f"cached chart {ref.label()} does not match the digest recorded when it was "
                                  f"pulled (sha256 {actual[:12]}..., expected {record['digest'][:12]}...): "
                                  "run `gitops-kit charts pull <app>` to download it again")
    return path


def cached_entries(root: Path | None = None) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(folder, record) of every valid entry of the cache (for listings)."""
    base = root or cache_dir()
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return
    for name in names:
        folder = base / name
        if name.startswith(".") or not _is_real_dir(folder):
            continue
        record = read_record(folder)
        if record is not None:
            yield folder, record


def ensure_entry_dir(ref: ChartRef, root: Path | None = None) -> Path:
    """Create the cache folder of ``ref`` (private: 0700) and return it; refuses a symlink."""
    folder = entry_dir(ref, root)
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    if not _is_real_dir(folder):
        raise OSError(errno.ENOTDIR, f"cache entry {folder} is not a directory (a symlink or a file)")
    return folder


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder``'s lock file (so two pulls of one chart download once).
    Where ``fcntl`` does not exist, no lock: the atomic writes still keep the cache consistent."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
                 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def temp_file(folder: Path) -> tuple[int, str]:
    """A new temporary file in ``folder`` (descriptor, path), for an atomic replace."""
    import tempfile  # only pulls write: lint's start-up does not pay for it

    return tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)


def _write_atomic(folder: Path, name: str, data: bytes) -> None:
    fd, tmp = temp_file(folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def commit(ref: ChartRef, folder: Path, archive_tmp: str, digest: str, size: int, served_url: str,
           digest_source: str) -> Path:
    """Move a downloaded, verified archive (a temporary file in ``folder``) into place, then write
    its record: a reader sees either no record, the old entry, or the new one."""
    os.replace(archive_tmp, folder / ARCHIVE)
    record = {
        "version": RECORD_VERSION,
        "key": [normalise_url(ref.repo_url), ref.chart.strip(), ref.version.strip()],
        "upstream_url": without_credentials(ref.repo_url.strip()),
        "served_url": without_credentials(served_url),
        "chart": ref.chart,
        "chart_version": ref.version,
        "digest": digest,
        "digest_source": digest_source,
        "size": size,
    }
    _write_atomic(folder, RECORD, json.dumps(record, indent=2, sort_keys=True).encode() + b"\n")
    return folder / ARCHIVE


def remove_stale_temps(folder: Path, older_than: float = 600.0) -> None:
    """Delete temporary files and folders a killed pull left in ``folder`` (only this module's
    ``.tmp-`` names, only older than ``older_than`` seconds: a live pull's are seconds old)."""
    import shutil
    import time

    now = time.time()
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not name.startswith(TEMP_PREFIX):
            continue
        path = folder / name
        try:
            st = os.lstat(path)
            if now - st.st_mtime < older_than:
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def discard(folder: Path) -> None:
    """Remove the record of an entry (its archive is then unused): a bad entry becomes a miss."""
    with contextlib.suppress(OSError):
        os.unlink(folder / RECORD)
