"""The parse cache: ``.gitops-kit-cache/`` in the repository root, keyed by file content.

It makes the pre-commit case (one file changed in a large repository) fast: every file is
still read and hashed, but only files whose bytes changed are parsed again. It is

- never wrong: an entry is used only when the file's SHA-256 equals the one it was parsed from,
  and the cache carries the gitops-kit version (a new version starts afresh);
- safe to delete, and ignored by git (it writes its own ``.gitignore``);
- never a way to run code: entries are pickles, so the file is signed with HMAC-SHA256 under
  a key kept outside the repository (``$XDG_CACHE_HOME/gitops-kit/key``, mode 0600); a cache
  file someone committed or crafted fails the check and is ignored;
- never a copy of a secret: files in which plaintext-secret found something (or, when that rule
  did not run, any file that might hold one) are not cached.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
from pathlib import Path
from typing import Any

from . import __version__

DIR = ".gitops-kit-cache"
FILE = "parse-v1.bin"


def enabled() -> bool:
    """Off with GITOPS_KIT_NO_CACHE=1 (set by ``lint --no-cache``)."""
    return os.environ.get("GITOPS_KIT_NO_CACHE") != "1"


def digest(raw: bytes) -> bytes:
    """The content key of a file."""
    return hashlib.sha256(raw).digest()


def _key() -> bytes | None:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gitops-kit"
    path = base / "key"
    try:
        data = path.read_bytes()
        if len(data) == 32:
            return data
    except OSError:
        pass
    try:
        base.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            key = os.urandom(32)
            fh.write(key)
        return key
    except FileExistsError:  # another process made it first
        try:
            data = path.read_bytes()
            return data if len(data) == 32 else None
        except OSError:
            return None
    except OSError:
        return None


def load(root: Path) -> dict[str, tuple[bytes, Any]]:
    """rel path -> (content digest, parsed SourceFile); empty when absent, stale or not ours."""
    key = _key()
    if key is None:
        return {}
    try:
        blob = (root / DIR / FILE).read_bytes()
    except OSError:
        return {}
    mac, payload = blob[:32], blob[32:]
    if len(mac) != 32 or not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()):
        return {}
    try:
        data = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - a cache we cannot read is simply no cache
        return {}
    if not isinstance(data, dict) or data.get("version") != __version__:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def save(root: Path, entries: dict[str, tuple[bytes, Any]]) -> None:
    """Write the cache atomically; any failure (read-only checkout, full disk) is ignored."""
    key = _key()
    if key is None:
        return
    folder = root / DIR
    try:
        payload = pickle.dumps({"version": __version__, "entries": entries}, protocol=pickle.HIGHEST_PROTOCOL)
        folder.mkdir(exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# written by gitops-kit: the parse cache is never committed\n*\n")
        tmp = folder / f".{FILE}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(hmac.new(key, payload, hashlib.sha256).digest())
            fh.write(payload)
        os.replace(tmp, folder / FILE)
    except (OSError, pickle.PicklingError, RecursionError):
        try:
            tmp.unlink()  # type: ignore[possibly-undefined]
        except (OSError, NameError):
            pass
