"""Paths that come from the repository, made safe before anything is written or read through them.

A repository is untrusted input (docs/security.md): an Application name, a config value or a
blueprint's file name may try to reach outside it with ``..``, an absolute path, or a committed
symlink. Every write of gitops-kit (``init``, ``new-app``, ``lint --fix``, ``--write-baseline``
inside the repository) goes through :func:`jail`; every path value read from configuration or
from manifests goes through :func:`rel_problem` first.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from .errors import UsageError

# Where gitops-kit puts its temporary files before renaming them into place: the cache folder,
# which carries its own ``.gitignore`` ("*"), so a run killed mid-write leaves nothing git sees.
TEMP_PREFIX = ".gitops-kit-"
TEMP_SUFFIX = ".tmp"


class UnsafePath(UsageError):
    """A path from the repository or its configuration that would leave the repository."""


def rel_problem(value: object) -> str | None:
    """Why ``value`` is not a safe repository-relative path, or None when it is.

    Safe: a non-empty string, relative, with no ``..`` component, no empty or control
    characters, no backslash (a Windows separator that posix tools read as a file name)."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty relative path"
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return "must not contain control characters"
    if "\\" in value:
        return "must use '/' as the separator"
    if value.startswith("/") or (len(value) > 1 and value[1] == ":"):
        return "must be relative to the repository root"
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if ".." in parts:
        return "must not contain '..'"
    if not parts:
        return "must name a directory below the repository root"
    return None


def clean_rel(value: str, what: str) -> str:
    """``value`` normalised (posix, no ``.`` parts, no trailing slash), or :class:`UnsafePath`."""
    problem = rel_problem(value)
    if problem:
        raise UnsafePath(f"{what} {problem}")
    return posixpath.normpath(value).strip("/")


def name_problem(value: object) -> str | None:
    """Why ``value`` cannot be used as one path component (an app name in a file name)."""
    if not isinstance(value, str) or not value or value in (".", ".."):
        return "is not a usable file name"
    if "/" in value or "\\" in value or "\x00" in value:
        return "contains a path separator"
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return "contains control characters"
    return None


def inside(root: str | os.PathLike, candidate: str | os.PathLike) -> bool:
    """Whether ``candidate`` (resolved through every symlink) lies in ``root`` (resolved)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(candidate)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def jail(root: str | os.PathLike, rel: str, what: str = "path") -> Path:
    """The path ``root/rel`` for a write, refused when it would land outside ``root``.

    ``rel`` must be a safe relative path, and the deepest existing directory on the way (its
    symlinks resolved) must lie inside the repository: a committed ``apps/x -> /etc`` link is not
    followed. The target itself, when it exists, must not be a symlink (a rename would replace
    the link, but ``--force`` on a linked file is never what the user meant)."""
    problem = rel_problem(rel)
    if problem:
        raise UnsafePath(f"{what} {rel!r} {problem}; nothing was written")
    target = Path(root) / rel
    if not os.path.lexists(root):
        return target  # a repository about to be created (init): nothing below it can be a link yet
    parent = target.parent
    while not os.path.lexists(parent) and parent != Path(root):
        parent = parent.parent
    if not inside(root, parent):
        raise UnsafePath(f"{what} {rel}: a symlink on the way leads outside the repository; nothing was written")
    if os.path.islink(target):
        raise UnsafePath(f"{what} {rel} is a symlink; nothing was written (replace it with a regular file)")
    return target


CACHE_DIR = ".gitops-kit-cache"
IGNORE_TEXT = "# written by gitops-kit: the parse cache is never committed\n*\n"
STALE_SECONDS = 600  # a temporary file lives for milliseconds; one this old was left by a killed run


def temp_dir(root: str | os.PathLike) -> str | None:
    """The folder for temporary files of a write in ``root``: ``.gitops-kit-cache/``, which its own
    ``.gitignore`` hides from git, so a run killed between writing and renaming leaves nothing
    behind that git would show. None when that folder is unusable (a symlink, a file, read-only):
    the caller then writes beside the target."""
    folder = os.path.join(os.fspath(root), CACHE_DIR)
    try:
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode) or not inside(root, folder):
            return None
        from .cache import own_gitignore  # the cache's folder: one keeper of its .gitignore

        if not own_gitignore(Path(folder) / ".gitignore"):
            return None  # something else stands there: temporary files would show in git
    except OSError:
        return None
    remove_stale_temps(folder)
    return folder


def remove_stale_temps(directory: str | os.PathLike) -> None:
    """Delete this tool's temporary files in ``directory`` left by a killed run (older than
    :data:`STALE_SECONDS`); never follows a link, never fails."""
    import time

    now = time.time()
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)):
            continue
        path = os.path.join(os.fspath(directory), name)
        try:
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > STALE_SECONDS:
                os.unlink(path)
        except OSError:
            pass


def make_temp(root: str | os.PathLike | None, target: str | os.PathLike) -> tuple[int, str]:
    """A new temporary file (descriptor, path) for an atomic write of ``target`` in ``root``:
    in :func:`temp_dir` when it is on the target's file system, else beside the target."""
    import tempfile

    target_dir = os.path.dirname(os.fspath(target)) or "."
    folder = temp_dir(root) if root is not None else None
    if folder is not None:
        try:
            if os.stat(folder).st_dev != os.stat(target_dir).st_dev:
                folder = None  # a rename across file systems is not atomic
        except OSError:
            folder = None
    if folder is None:
        remove_stale_temps(target_dir)
        folder = target_dir
    return tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
