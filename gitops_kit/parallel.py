"""Both cores without sharing anything but results: a forked child computes one half of a job
while the parent computes the other; the child sees the parent's memory copy-on-write, so only
its result is pickled. Any failure of the child falls back to computing its half in the parent,
so the answer never depends on whether the fork worked."""

from __future__ import annotations

import os
import pickle
from typing import Callable, TypeVar

from . import progress

T = TypeVar("T")
U = TypeVar("U")


def available() -> bool:
    """Whether forking may be used: a POSIX fork, two cores, and not switched off (GITOPS_KIT_JOBS=1)."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1 and os.environ.get("GITOPS_KIT_JOBS") != "1"


def split(child_part: Callable[[], T], parent_part: Callable[[], U]) -> tuple[T, U]:
    """Run ``child_part`` in a forked child and ``parent_part`` here, at the same time."""
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return child_part(), parent_part()
    if pid == 0:  # the child: compute, send, and leave without running any of the parent's cleanup
        code = 0
        try:
            progress.silence()  # the parent owns the terminal's progress line
            os.close(read_fd)
            payload = pickle.dumps(child_part(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(payload)
        except BaseException:  # noqa: BLE001 - any failure: the parent recomputes
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        mine = parent_part()
    finally:
        with os.fdopen(read_fd, "rb") as fh:
            payload = fh.read()  # the child has finished computing; it may still be writing
        _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        return child_part(), mine
    return pickle.loads(payload), mine
