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
  did not run, any file that might hold one) are not cached. That verdict depends on the rule's
  parameters, so each shard records them (``policy``): a shard vetted under other parameters is
  not loaded, and is rewritten under the current ones.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable

from . import __version__, parallel

DIR = ".gitops-kit-cache"
# Entries are spread over shards by path, so a commit that changes a few files rewrites a few
# small shards, not the whole cache.
SHARDS = 16


def shard_of(rel: str) -> int:
    """The shard a repository path's entry lives in."""
    return hashlib.sha256(rel.encode("utf-8", "surrogateescape")).digest()[0] % SHARDS


# v2: v1 caches written by focused runs could hold files with secrets outside the focus
_PREFIX = "parse-v2-"


def _file(shard: int) -> str:
    return f"{_PREFIX}{shard:02d}.bin"


def enabled() -> bool:
    """Off with GITOPS_KIT_NO_CACHE=1 (set by ``lint --no-cache``)."""
    return os.environ.get("GITOPS_KIT_NO_CACHE") != "1"


def writable() -> bool:
    """Not written in CI (a fresh checkout every run gains nothing from it), unless asked to."""
    return os.environ.get("GITOPS_KIT_CACHE") == "1" or not os.environ.get("CI")


def digest(raw: bytes) -> bytes:
    """The content key of a file."""
    return hashlib.sha256(raw).digest()


def _key(create: bool = True) -> bytes | None:
    """This user's signing key; made on first write (a run that only reads never creates it)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gitops-kit"
    path = base / "key"
    try:
        data = path.read_bytes()
        if len(data) == 32:
            return data
    except OSError:
        pass
    if not create:
        return None
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


def policy(defaults: Any, user: Any) -> str:
    """The fingerprint of the plaintext-secret parameters (the rule's defaults and the user's
    overrides) under which entries were vetted. ``repr``, not JSON: any YAML the config holds
    (mixed key types included) has one, and the same config gives the same text."""
    text = repr((defaults, user))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def load(root: Path, vetted_under: str) -> tuple[dict[str, tuple[bytes, Any]], set[int]]:
    """(rel path -> (content digest, parsed SourceFile), shards on disk that were not used).

    A shard is not used when it is not ours (signed with another key), unreadable, from another
    version, or vetted under another secret policy; the caller rewrites those, so that nothing
    vetted under other rules stays on disk."""
    key = _key(create=False)
    out: dict[str, tuple[bytes, Any]] = {}
    unused: set[int] = set()
    for shard in range(SHARDS):
        try:
            blob = (root / DIR / _file(shard)).read_bytes()
        except OSError:
            continue
        if key is None:
            unused.add(shard)
            continue
        mac, payload = blob[:32], blob[32:]
        if len(mac) != 32 or not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()):
            unused.add(shard)  # not written with this user's key: never unpickled
            continue
        try:
            data = pickle.loads(payload)
        except Exception:  # noqa: BLE001 - a shard we cannot read is simply not cached
            unused.add(shard)
            continue
        if isinstance(data, dict) and data.get("version") == __version__ and data.get("policy") == vetted_under \
                and isinstance(data.get("entries"), dict):
            out.update(data["entries"])
        else:
            unused.add(shard)
    return out, unused


def save(root: Path, entries: dict[str, tuple[bytes, Any]], shards: set[int],
         keep: Callable[[str, Any], bool] | None, vetted_under: str) -> None:
    """Rewrite the given shards atomically with the entries ``keep`` accepts (all, given None),
    on both cores when there are many; any failure (read-only checkout, full disk) is ignored."""
    key = _key()
    if key is None or not shards:
        return
    folder = root / DIR
    by_shard: dict[int, dict[str, tuple[bytes, Any]]] = {s: {} for s in shards}
    for rel, entry in entries.items():
        s = shard_of(rel)
        if s in by_shard:
            by_shard[s][rel] = entry
    if folder.is_symlink():
        return  # a link someone committed: writing (and deleting old shards) through it could touch anything
    try:
        folder.mkdir(exist_ok=True)
        if not _own_gitignore(folder / ".gitignore"):
            return  # something else stands where the cache's .gitignore goes: never write through it
        for old in folder.glob("parse-v*.bin"):
            if not old.name.startswith(_PREFIX):
                old.unlink()  # an older format's shards may hold what this one would refuse
    except OSError:
        return
    work = sorted(by_shard.items())

    def write(job: tuple[int, dict[str, tuple[bytes, Any]]]) -> None:
        _write(folder, key, job[0], job[1], keep, vetted_under)

    if sum(len(part) for _, part in work) >= PARALLEL_MIN_ENTRIES and parallel.available():
        parallel.share(work, write)  # a cold cache: pickling every file costs a fifth of a second
    else:
        for job in work:
            write(job)


def _own_gitignore(path: Path) -> bool:
    """Make sure ``path`` is a regular file (created here if missing), never following a link."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        return stat.S_ISREG(os.lstat(path).st_mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# written by gitops-kit: the parse cache is never committed\n*\n")
    return True


# Below this many entries, a forked writer costs more than it saves.
PARALLEL_MIN_ENTRIES = 1500


def _write(folder: Path, key: bytes, shard: int, part: dict[str, tuple[bytes, Any]],
           keep: Callable[[str, Any], bool] | None, vetted_under: str) -> None:
    """Replace one shard atomically; a failure leaves the old one (or none) and no temporary file."""
    if keep is not None:
        part = {rel: entry for rel, entry in part.items() if keep(rel, entry[1])}
    tmp = None
    try:
        payload = pickle.dumps({"version": __version__, "policy": vetted_under, "entries": part},
                               protocol=pickle.HIGHEST_PROTOCOL)
        # mkstemp creates a new file under a fresh name (O_EXCL): never through a planted link
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{_file(shard)}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(hmac.new(key, payload, hashlib.sha256).digest())
            fh.write(payload)
        os.replace(tmp, folder / _file(shard))
    except (OSError, pickle.PicklingError, RecursionError):
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
