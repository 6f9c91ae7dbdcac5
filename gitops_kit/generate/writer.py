"""All-or-nothing writes into a repository: lock, conflicts, atomic file writes, rollback.

A :class:`Change` is one file to create or one existing file to replace (an edit, which
carries the bytes it was computed from: if the file changed since, nothing is written).
:func:`apply` writes each file atomically (temporary file, fsync, rename) and, when any write
fails, restores every file it already wrote and removes every directory it created, so the
repository is byte-identical to before.

Every target goes through :func:`gitops_kit.safepaths.jail` before anything is written (a path
with ``..``, an absolute one, one in ``.git/``, or one through a symlink leading out of the
repository is refused), and temporary files are made by :func:`gitops_kit.safepaths.make_temp`
in the git-ignored ``.gitops-kit-cache/``, so a run killed between writing and renaming leaves
nothing git shows (the next write removes it). An operating-system error (a full disk, a
read-only file system) is a :class:`~gitops_kit.errors.UsageError` naming the file: exit 2.
"""

from __future__ import annotations

import difflib
import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .. import safepaths
from ..errors import UsageError

LOCK_NAME = ".gitops-kit.lock"
# The repository :func:`apply` is writing, for :func:`write_file`'s temporary files (the tests
# replace write_file by a function of three arguments, so the root does not go through them).
_ROOT: ContextVar[Path | None] = ContextVar("gitops_kit_write_root", default=None)


class WriteError(UsageError):
    """The operating system refused a write (full disk, read-only file system, permissions)."""


def _os_error(action: str, path: os.PathLike | str, exc: OSError) -> WriteError:
    return WriteError(f"cannot {action} {os.fspath(path)}: {exc.strerror or exc}")


@dataclass(frozen=True)
class Change:
    """One file of a plan: ``rel`` (posix, repository-relative) gets ``data``."""

    rel: str
    data: bytes
    mode: int = 0o644
    # For an edit of an existing file: the bytes the edit was computed from.
    base: bytes | None = None
    note: str = ""
    # Remove the file (``base`` holds the bytes it was planned against; ``data`` is unused).
    delete: bool = False

    @property
    def is_edit(self) -> bool:
        return self.base is not None


@contextmanager
def lock(root: Path) -> Iterator[None]:
    """Hold ``root/.gitops-kit.lock`` (created exclusively) for the duration of one write."""
    path = root / LOCK_NAME
    if os.path.islink(path):
        raise UsageError(f"{LOCK_NAME} is a symlink (committed?): nothing was written; delete it", str(root))
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        raise UsageError(f"{LOCK_NAME} exists: another gitops-kit run is writing to this repository. "
                         "Nothing was written; run again when it has finished (if none is running, "
                         f"a killed run left the file behind: delete it)", str(root)) from None
    except OSError as exc:
        raise UsageError(f"cannot create {LOCK_NAME}: {exc.strerror}", str(root)) from None
    try:
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            raise UsageError(f"cannot write {LOCK_NAME}: {exc.strerror}; nothing was written", str(root)) from None
        finally:
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


def check_targets(root: Path, changes: list[Change]) -> list[Path]:
    """The target of every change, or :class:`~gitops_kit.safepaths.UnsafePath` before anything is
    written (a dry run too): no ``..``, no absolute path, nothing in ``.git/`` (hooks git would run),
    no symlink on the way out of the repository, no symlink as the target."""
    targets = []
    for ch in changes:
        if any(part.lower() == ".git" for part in ch.rel.split("/")):
            raise safepaths.UnsafePath(f"{ch.rel} lies in .git/: refused, nothing was written")
        targets.append(safepaths.jail(root, ch.rel, "file"))
    return targets


def apply(root: Path, changes: list[Change]) -> list[str]:
    """Write every change or, on any failure, none (see the module docstring)."""
    targets = check_targets(root, changes)
    cache = Path(root, safepaths.CACHE_DIR)
    had_cache = os.path.lexists(cache)
    created_dirs: list[Path] = []
    done: list[tuple[Path, bytes | None, int | None]] = []  # (target, previous bytes, previous mode)
    token = _ROOT.set(root)
    try:
        for ch, target in zip(changes, targets):
            if ch.delete:
                _delete(target, done)
                continue
            _make_parents(root, target.parent, created_dirs)
            previous = previous_mode = None
            if target.is_file() and not target.is_symlink():
                try:
                    previous = target.read_bytes()
                    previous_mode = os.stat(target).st_mode & 0o7777
                except OSError as exc:
                    raise _os_error("read", target, exc) from None
            elif os.path.lexists(target):
                raise UsageError(f"{ch.rel} exists and is not a regular file: nothing was written")
            done.append((target, previous, previous_mode))
            write_file(target, ch.data, ch.mode)
    except WriteError as exc:
        _rollback(done, created_dirs, None if had_cache else cache)
        raise WriteError(f"{exc}; nothing was written (the repository is as it was)") from None
    except BaseException:
        _rollback(done, created_dirs, None if had_cache else cache)
        raise
    finally:
        _ROOT.reset(token)
    _remove_emptied(root, [t for ch, t in zip(changes, targets) if ch.delete])
    return [ch.rel for ch in changes if not ch.delete]


def _delete(target: Path, done: list[tuple[Path, bytes | None, int | None]]) -> None:
    """Remove ``target``, recording its bytes and mode so that a later failure puts it back."""
    if not os.path.lexists(target):
        return
    if target.is_symlink() or not target.is_file():
        raise UsageError(f"{target} is not a regular file: nothing was written")
    try:
        previous = target.read_bytes()
        mode = os.stat(target).st_mode & 0o7777
    except OSError as exc:
        raise _os_error("read", target, exc) from None
    done.append((target, previous, mode))
    try:
        os.unlink(target)
    except OSError as exc:
        done.pop()
        raise _os_error("delete", target, exc) from None


def _remove_emptied(root: Path, deleted: list[Path]) -> None:
    """After a successful write: the directories its deletions left empty (a stale templates/)."""
    for target in deleted:
        d = target.parent
        while os.path.realpath(d) != os.path.realpath(root) and safepaths.inside(root, d):
            try:
                d.rmdir()
            except OSError:
                break  # not empty (or not ours to remove): stop here
            d = d.parent


def write_file(target: Path, data: bytes, mode: int) -> None:
    """Atomically put ``data`` at ``target`` with permission bits ``mode``; an operating-system
    error is a :class:`WriteError` naming ``target``."""
    try:
        fd, tmp = safepaths.make_temp(_ROOT.get(), target)
    except OSError as exc:
        raise _os_error("write", target, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode & 0o777 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        _discard(tmp)
        raise _os_error("write", target, exc) from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str) -> None:
    try:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    except OSError:
        pass  # a stale temporary file in the ignored cache folder: the next write removes it


def _rollback(done: list[tuple[Path, bytes | None, int | None]], created_dirs: list[Path],
              cache: Path | None = None) -> None:
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
    if cache is not None:
        _remove_cache(cache)


def _remove_cache(cache: Path) -> None:
    """Remove the cache folder this run created for its temporary files (its .gitignore and
    our temporary files only: anything else in it means someone else uses it, so it stays)."""
    try:
        for name in os.listdir(cache):
            ours = name.startswith(safepaths.TEMP_PREFIX) and name.endswith(safepaths.TEMP_SUFFIX)
            if ours or name == ".gitignore":
                os.unlink(cache / name)
        cache.rmdir()
    except OSError:
        pass


def _restore(target: Path, data: bytes, mode: int) -> None:
    fd, tmp = safepaths.make_temp(_ROOT.get(), target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        _discard(tmp)
        raise


def _make_parents(root: Path, directory: Path, created: list[Path]) -> None:
    missing = []
    d = directory
    while d != root and not d.exists():
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        try:
            os.mkdir(d)
        except OSError as exc:
            raise _os_error("create directory", d, exc) from None
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
        if ch.delete:
            lines.append(f"  - {ch.rel} (deleted" + (f": {ch.note})" if ch.note else ")"))
            continue
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
