"""All-or-nothing writes into a repository: lock, conflicts, atomic file writes, rollback.

A :class:`Change` is one file to create or one existing file to replace (an edit, which
carries the bytes it was computed from: if the file changed since, nothing is written).
:func:`apply` writes each file atomically (temporary file in the same directory, fsync,
rename) and, when any write fails, restores every file it already wrote and removes every
directory it created, so the repository is byte-identical to before.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import UsageError

LOCK_NAME = ".gitops-kit.lock"


@dataclass(frozen=True)
class Change:
    """One file of a plan: ``rel`` (posix, repository-relative) gets ``data``."""

    rel: str
    data: bytes
    mode: int = 0o644
    # For an edit of an existing file: the bytes the edit was computed from.
    base: bytes | None = None
    note: str = ""

    @property
    def is_edit(self) -> bool:
        return self.base is not None


@contextmanager
def lock(root: Path) -> Iterator[None]:
    """Hold ``root/.gitops-kit.lock`` (created exclusively) for the duration of one write."""
    path = root / LOCK_NAME
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise UsageError(f"{LOCK_NAME} exists: another gitops-kit run is writing to this repository. "
                         "Nothing was written; run again when it has finished (if none is running, "
                         f"a killed run left the file behind: delete it)", str(root)) from None
    except OSError as exc:
        raise UsageError(f"cannot create {LOCK_NAME}: {exc.strerror}", str(root)) from None
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        yield
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def conflicts(root: Path, changes: list[Change]) -> list[str]:
    """The new files of ``changes`` that already exist (or whose path is blocked by a file)."""
    out = []
    for ch in changes:
        if ch.is_edit:
            continue
        target = root / ch.rel
        if os.path.lexists(target):
            out.append(ch.rel)
            continue
        parent = target.parent
        while parent != root and not parent.exists():
            parent = parent.parent
        if parent != root and not parent.is_dir():
            out.append(ch.rel)
    return out


def refuse_conflicts(found: list[str], what: str) -> None:
    if found:
        listing = "\n".join(f"  {rel}" for rel in found)
        raise UsageError(f"{what}: {len(found)} file(s) already exist; nothing was written "
                         f"(--force replaces them):\n{listing}")


def check_edits(root: Path, changes: list[Change]) -> None:
    """Compare-and-swap: every edited file still holds the bytes its edit was computed from."""
    for ch in changes:
        if ch.is_edit:
            try:
                current = (root / ch.rel).read_bytes()
            except FileNotFoundError:
                current = b""
            if current != ch.base:
                raise UsageError(f"{ch.rel} changed while gitops-kit was editing it: nothing was written, run again")


def apply(root: Path, changes: list[Change]) -> list[str]:
    """Write every change or, on any failure, none (see the module docstring)."""
    created_dirs: list[Path] = []
    done: list[tuple[Path, bytes | None, int | None]] = []  # (target, previous bytes, previous mode)
    try:
        for ch in changes:
            target = root / ch.rel
            _make_parents(root, target.parent, created_dirs)
            previous = previous_mode = None
            if target.is_file() and not target.is_symlink():
                previous = target.read_bytes()
                previous_mode = os.stat(target).st_mode & 0o7777
            elif os.path.lexists(target):
                raise UsageError(f"{ch.rel} exists and is not a regular file: nothing was written")
            done.append((target, previous, previous_mode))
            write_file(target, ch.data, ch.mode)
    except BaseException:
        _rollback(done, created_dirs)
        raise
    return [ch.rel for ch in changes]


def write_file(target: Path, data: bytes, mode: int) -> None:
    """Atomically put ``data`` at ``target`` with permission bits ``mode``."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".gitops-kit-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _rollback(done: list[tuple[Path, bytes | None, int | None]], created_dirs: list[Path]) -> None:
    for target, previous, mode in reversed(done):
        try:
            if previous is None:
                if os.path.lexists(target):
                    os.unlink(target)
            else:
                _restore(target, previous, mode or 0o644)
        except OSError:
            pass  # best effort: the original error is the one to report
    for directory in reversed(created_dirs):
        try:
            directory.rmdir()
        except OSError:
            pass


def _restore(target: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".gitops-kit-", suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, target)


def _make_parents(root: Path, directory: Path, created: list[Path]) -> None:
    missing = []
    d = directory
    while d != root and not d.exists():
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        os.mkdir(d)
        created.append(d)


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        current = os.umask(0)
        os.umask(current)
        _UMASK = current
    return _UMASK


def describe(root: Path, changes: list[Change], *, dry_run: bool) -> str:
    """What a plan writes: one line per file, a diff for each edit."""
    lines = []
    for ch in changes:
        if ch.is_edit:
            lines.append(f"  ~ {ch.rel}" + (f" ({ch.note})" if ch.note else ""))
            if dry_run:
                diff = difflib.unified_diff(ch.base.decode("utf-8", "replace").splitlines(keepends=True),
                                            ch.data.decode("utf-8", "replace").splitlines(keepends=True),
                                            f"a/{ch.rel}", f"b/{ch.rel}")
                lines.extend("      " + d.rstrip("\n") for d in diff)
        else:
            replaced = os.path.lexists(root / ch.rel)
            lines.append(f"  {'!' if replaced else '+'} {ch.rel}" + (" (replaces the existing file)" if replaced else ""))
    return "\n".join(lines)
