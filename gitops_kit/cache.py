"""The parse cache: ``.gitops-kit-cache/`` in the repository root, keyed by file content.

It makes the pre-commit case (one file changed in a large repository) fast: every file is
still read and hashed, but only files whose bytes changed are parsed again. It is

- never wrong: an entry is used only when the file's SHA-256 equals the one it was parsed from,
  and the cache carries the gitops-kit version (a new version starts afresh);
- safe to delete, and ignored by git (it writes its own ``.gitignore``);
- never a way to run code: entries are pickles, so the file is signed with HMAC-SHA256 under
  a key kept outside the repository (``$XDG_CACHE_HOME/gitops-kit/key``, mode 0600); a cache
  file someone committed or crafted fails the check and is ignored;
- never a way to hang or exhaust memory: the folder and its shards are opened without following
  links, a shard must be a regular file of at most MAX_SHARD_BYTES, and a signed header (its
  length) is checked before the payload is read, so a committed link to ``/dev/zero``, a FIFO
  or a huge file costs one ``lstat`` or 72 bytes of reading;
- never a copy of a secret: cache_policy.may_cache decides what may be cached. That verdict
  depends on plaintext-secret's parameters (and on the policy's own revision), so each shard
  records them (``policy``): a shard vetted under other parameters is not loaded, and is
  rewritten under the current ones.
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

from . import __version__, parallel, safepaths
from .model import PARALLEL_MIN_FILES as _THRESHOLD  # the model imports this module lazily: no cycle

DIR = safepaths.CACHE_DIR
# Entries are spread over shards by path, so a commit that changes a few files rewrites a few
# small shards, not the whole cache.
SHARDS = 16


def shard_of(rel: str) -> int:
    """The shard a repository path's entry lives in."""
    return hashlib.sha256(rel.encode("utf-8", "surrogateescape")).digest()[0] % SHARDS


# v2: v1 caches written by focused runs could hold files with secrets outside the focus. A v2
# shard in the unsigned-header layout of before fails the header check and is rewritten.
_PREFIX = "parse-v2-"

# A shard is a header, then the pickled payload:
#   payload length (8 bytes, big-endian) | HMAC(key, _HEAD + length) | HMAC(key, _BODY + payload)
# The first MAC lets a reader reject a shard it did not write after reading 72 bytes, before it
# allocates anything the file's size or its claimed length asks for.
_HEAD, _BODY = b"gitops-kit cache header\0", b"gitops-kit cache body\0"
_LEN, _MAC = 8, 32
HEADER_BYTES = _LEN + 2 * _MAC

# The largest shard read or written. Shards hold pickled parses, about 3 times the YAML they
# come from (14 MB for the 5 MB of the 1000-app benchmark corpus: under 1 MB a shard), and a
# repository's files spread evenly over the 16 shards; 256 MiB a shard is room for well over a
# gigabyte of YAML, and with the header check only a shard this user's key signed is ever read
# that far. A shard over the cap is not written: its files are parsed each run.
MAX_SHARD_BYTES = 256 << 20

# O_NOFOLLOW: a link is refused, never followed; O_NONBLOCK: opening a FIFO does not wait for a
# writer (a FIFO is then refused as not a regular file, before any read).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)


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
    data = _read_key(path)
    if data is not None:
        return data
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
        return _read_key(path)
    except OSError:
        return None


def _read_key(path: Path) -> bytes | None:
    """The 32-byte key at ``path``, read as any file here: regular, not a link, and bounded."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = _read_at_most(fd, 33)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) == 32 else None


def _read_at_most(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes from ``fd`` (fewer only at the end of the file)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 24))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def policy(defaults: Any, user: Any) -> str:
    """The fingerprint of the plaintext-secret parameters (the rule's defaults and the user's
    overrides) under which entries were vetted, and of the revision of cache_policy's rules.
    ``repr``, not JSON: any YAML the config holds (mixed key types included) has one, and the
    same config gives the same text."""
    from .cache_policy import REVISION

    text = repr((REVISION, defaults, user))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def load(root: Path, vetted_under: str) -> tuple[dict[str, tuple[bytes, Any]], set[int]]:
    """(rel path -> (content digest, parsed SourceFile), shards on disk that were not used).

    A shard is not used when it is not ours (signed with another key), not a regular file, over
    MAX_SHARD_BYTES, unreadable, from another version, or vetted under another secret policy;
    the caller rewrites those, so that nothing vetted under other rules stays on disk. A cache
    folder that is a link (or not a folder) is not read at all."""
    out: dict[str, tuple[bytes, Any]] = {}
    unused: set[int] = set()
    folder = _open_folder(root / DIR)
    if folder is None:
        return out, unused
    try:
        key = _key(create=False)
        for shard in range(SHARDS):
            payload = _read_shard(folder, root / DIR, _file(shard), key)
            if payload is None:
                continue  # no such shard
            if payload is False:
                unused.add(shard)
                continue
            try:
                data = pickle.loads(payload)
            except Exception:  # a shard we cannot read is simply not cached
                unused.add(shard)
                continue
            if isinstance(data, dict) and data.get("version") == __version__ and data.get("policy") == vetted_under \
                    and isinstance(data.get("entries"), dict):
                out.update(data["entries"])
            else:
                unused.add(shard)
    finally:
        if folder >= 0:
            os.close(folder)
    return out, unused


def _open_folder(path: Path) -> int | None:
    """A descriptor of the cache folder (-1 where descriptors of folders are not supported), or
    None when there is none to read: missing, a link (never followed), or not a folder."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return None
    if os.open not in os.supports_dir_fd or not hasattr(os, "O_DIRECTORY"):
        return -1
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None  # replaced by a link since the lstat, or unreadable


def _read_shard(folder: int, path: Path, name: str, key: bytes | None) -> bytes | bool | None:
    """A shard's payload, None when there is no shard, False when there is one we must not use.

    Opened relative to the folder's descriptor (so a folder swapped for a link after it was
    opened is not followed), refused unless a regular file, and read in two steps: the header,
    whose MAC over the length proves the key wrote it, then exactly that many bytes."""
    try:
        st = os.stat(name, dir_fd=folder, follow_symlinks=False) if folder >= 0 else os.lstat(path / name)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False  # a link, FIFO, device or folder: never opened
    if key is None or st.st_size > HEADER_BYTES + MAX_SHARD_BYTES:
        return False
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=folder) if folder >= 0 else os.open(path / name, _OPEN_FLAGS)
    except OSError:
        return False
    try:
        st = os.fstat(fd)  # the file opened, which a swap after the lstat could have changed
        if not stat.S_ISREG(st.st_mode) or st.st_size > HEADER_BYTES + MAX_SHARD_BYTES:
            return False
        head = _read_at_most(fd, HEADER_BYTES)
        if len(head) != HEADER_BYTES:
            return False
        raw_len, head_mac, body_mac = head[:_LEN], head[_LEN:_LEN + _MAC], head[_LEN + _MAC:]
        if not hmac.compare_digest(head_mac, hmac.new(key, _HEAD + raw_len, hashlib.sha256).digest()):
            return False  # not written with this user's key: nothing more is read
        length = int.from_bytes(raw_len, "big")
        if length > MAX_SHARD_BYTES or st.st_size != HEADER_BYTES + length:
            return False
        payload = _read_at_most(fd, length)
    except OSError:
        return False
    finally:
        os.close(fd)
    if len(payload) != length or \
            not hmac.compare_digest(body_mac, hmac.new(key, _BODY + payload, hashlib.sha256).digest()):
        return False  # never unpickled
    return payload


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
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return  # swapped for a link (or a file) since the check above
        if not own_gitignore(folder / ".gitignore"):
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


GITIGNORE = safepaths.IGNORE_TEXT  # one text: temporary files of writes live in the same folder


def own_gitignore(path: Path) -> bool:
    """Make sure ``path`` is a regular file holding GITIGNORE, never following a link.

    Written atomically (a temporary file renamed into place): a full disk leaves the old file or
    none, never an empty one that would let git pick up the shards. A regular file with anything
    else (empty, truncated, edited) is ours, in our folder: it is rewritten. A link or anything
    but a regular file is left alone, and the cache is not written."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            return False
        if st.st_size == len(GITIGNORE) and _current(path) == GITIGNORE.encode():
            return True
    return _replace_gitignore(path)


def _current(path: Path) -> bytes | None:
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        return _read_at_most(fd, len(GITIGNORE) + 1) if stat.S_ISREG(os.fstat(fd).st_mode) else None
    finally:
        os.close(fd)


def _replace_gitignore(path: Path) -> bool:
    tmp = None
    try:
        # mkstemp creates a new file under a fresh name (O_EXCL): never through a planted link
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".gitignore.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(GITIGNORE)
            fh.flush()
            os.fsync(fh.fileno())  # the rename must not land before the bytes do
        os.chmod(tmp, 0o644)
        # rename() replaces a link that appeared meanwhile instead of writing through it
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


# Below this many entries, a forked writer costs more than it saves (the tool's one threshold).
PARALLEL_MIN_ENTRIES = _THRESHOLD


def _write(folder: Path, key: bytes, shard: int, part: dict[str, tuple[bytes, Any]],
           keep: Callable[[str, Any], bool] | None, vetted_under: str) -> None:
    """Replace one shard atomically; a failure leaves the old one (or none) and no temporary file."""
    if keep is not None:
        part = {rel: entry for rel, entry in part.items() if keep(rel, entry[1])}
    tmp = None
    try:
        payload = pickle.dumps({"version": __version__, "policy": vetted_under, "entries": part},
                               protocol=pickle.HIGHEST_PROTOCOL)
        if len(payload) > MAX_SHARD_BYTES:
            # it would never be loaded; the old shard goes, as it may be vetted under other rules
            os.unlink(folder / _file(shard))
            return
        raw_len = len(payload).to_bytes(_LEN, "big")
        # mkstemp creates a new file under a fresh name (O_EXCL): never through a planted link
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{_file(shard)}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw_len)
            fh.write(hmac.new(key, _HEAD + raw_len, hashlib.sha256).digest())
            fh.write(hmac.new(key, _BODY + payload, hashlib.sha256).digest())
            fh.write(payload)
        os.replace(tmp, folder / _file(shard))
        tmp = None
    except (OSError, pickle.PicklingError, RecursionError):
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
