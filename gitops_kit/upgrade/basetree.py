"""The base revision as a folder: its files written from git's object store into a temporary directory.

Never ``git checkout`` (the user's worktree stays as it is) and never ``git archive`` (it applies
the repository's ``.gitattributes`` filters): ``git ls-tree`` lists the blobs, ``git cat-file
--batch`` hands them over as stored, and one writer puts each below the folder. A path that would
leave it (``..``, an absolute path, a ``.git`` component) is refused; symbolic links and
submodules are not written (the base is read as a tree of plain files), nor is a file over
:data:`MAX_FILE`.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError

MAX_FILE = 16 * 1024 * 1024
MAX_TOTAL = 512 * 1024 * 1024


@dataclass
class BaseTree:
    """What was written, and what was left out (with why)."""

    root: Path
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def _run(cwd: Path, args: list[str], stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"cannot run git: {exc}") from None
    if done.returncode != 0:
        raise UsageError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()[:300]}")
    return done.stdout


def _safe(rel: str) -> bool:
    parts = rel.split("/")
    return (bool(rel) and not rel.startswith("/") and "\\" not in rel and "\x00" not in rel
            and all(p not in ("", ".", "..") and p.lower() != ".git" for p in parts))


def materialise(root: Path, rev: str, prefix: str, dest: Path) -> BaseTree:
    """Write the files of commit ``rev`` below ``prefix`` (the GitOps root's place under the git top
    level, ``""`` or ``"sub/dir/"``) into the empty folder ``dest``."""
    out = BaseTree(dest)
    listing = _run(root, ["ls-tree", "-r", "-z", "-l", "--end-of-options", f"{rev}:{prefix}"])
    wanted: list[tuple[str, str, int]] = []
    total = 0
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        fields = meta.split()
        if len(fields) < 4:
            continue
        mode, kind, oid, size = (f.decode("ascii", "replace") for f in fields[:4])
        rel = os.fsdecode(raw_path)
        if kind != "blob" or mode == "120000":
            out.skipped.append((rel, "a symbolic link" if mode == "120000" else "a submodule"))
            continue
        if not _safe(rel):
            out.skipped.append((rel, "a path that leaves the repository"))
            continue
        length = int(size) if size.isdigit() else 0
        if length > MAX_FILE:
            out.skipped.append((rel, f"over {MAX_FILE // (1024 * 1024)} MB"))
            continue
        total += length
        if total > MAX_TOTAL:
            raise UsageError(f"the base revision holds more than {MAX_TOTAL // (1024 * 1024)} MB of files")
        wanted.append((rel, oid, length))
    if not wanted:
        return out
    blobs = _run(root, ["cat-file", "--batch"], stdin="".join(f"{oid}\n" for _, oid, _ in wanted).encode())
    at = 0
    for rel, _oid, _length in wanted:
        header_end = blobs.index(b"\n", at)
        header = blobs[at:header_end].split()
        size = int(header[2]) if len(header) >= 3 and header[2].isdigit() else 0
        body = blobs[header_end + 1:header_end + 1 + size]
        at = header_end + 1 + size + 1
        _write(dest, rel, body)
        out.files += 1
    return out


def _write(dest: Path, rel: str, body: bytes) -> None:
    """Create ``dest/rel`` (new folders private); never through a link, never over an existing file."""
    parent = dest
    for part in rel.split("/")[:-1]:
        parent = parent / part
        if not parent.is_dir():
            parent.mkdir(mode=0o700)
    fd = os.open(parent / rel.rsplit("/", 1)[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
