"""Both cores without sharing anything but results: a forked child sees the parent's memory
copy-on-write, so only what it computes is pickled back. :func:`share` spreads a list of items
over both processes as they go. Any failure of the child falls back to computing its part in
the parent, so the answer never depends on the fork."""

from __future__ import annotations

import os
import pickle
import signal
import struct
from typing import Callable, Sequence, TypeVar

from . import progress

T = TypeVar("T")
U = TypeVar("U")

_FRAME = struct.Struct("<II")  # a batch's index and its pickled results' length


def available() -> bool:
    """Whether forking may be used: a POSIX fork, two cores, and not switched off (GITOPS_KIT_JOBS=1)."""
    return hasattr(os, "fork") and _cores() > 1 and os.environ.get("GITOPS_KIT_JOBS") != "1"


def _cores() -> int:
    """The cores this process may run on: a container pinned to one CPU of a larger machine
    (a cpuset) counts one, where ``os.cpu_count()`` would count the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def share(items: Sequence[T], work: Callable[[T], U], batch: int = 1,
          weight: Callable[[T], float] | None = None) -> list[U]:
    """``[work(x) for x in items]`` on both cores, balanced as it goes.

    The items are cut into batches, and a forked child and this process each take the next
    batch when they are ready for one, so whichever core is faster (or less disturbed) does
    more; take the costliest items first, so that the last batches are short. The child sends
    each batch's results as soon as it has them, and this process loads them between its own
    batches: neither waits for the other to pickle or load everything at the end. Each item
    counts ``weight(item)`` (default 1) on the progress line, once, whoever computes it.

    A batch is taken by reading its 4-byte index from a pipe filled before the fork: a pipe
    serves each read whole to one reader, so no two processes take the same batch, and an
    empty pipe with no writer left ends the work of both. Whatever the child did not deliver
    (it failed, was killed or could not be forked) is computed here, so the answer never
    depends on the fork."""
    if batch * _MAX_TOKENS < len(items):
        batch = -(-len(items) // _MAX_TOKENS)
    batches = [items[i:i + batch] for i in range(0, len(items), batch)]
    results: list[list[U] | None] = [None] * len(batches)

    def count(part: Sequence[T]) -> None:
        progress.tick(sum(weight(x) for x in part) if weight is not None else len(part))

    if len(batches) > 1:
        _with_child(batches, work, results, count)
    out: list[U] = []
    for index, part in enumerate(batches):
        got = results[index]
        if got is None:  # not delivered by the child
            got = [work(x) for x in part]
            count(part)
        out.extend(got)
    return out


_TOKEN = struct.Struct("<I")
_MAX_TOKENS = 1024  # 4 KiB of batch indices: what every pipe takes in one write


def _with_child(batches: list, work: Callable, results: list, count: Callable) -> None:
    """Compute ``batches`` here and in a forked child, filling ``results``; what stays None
    (no pipe, no fork, a failed child) is for the caller to compute."""
    opened: list[int] = []
    try:
        tokens, filler = os.pipe()
        opened += [tokens, filler]
        os.set_blocking(filler, False)
        try:  # a short write (a pipe smaller than any seen) leaves the rest to compute at the end
            os.write(filler, b"".join(_TOKEN.pack(i) for i in range(len(batches))))
        except BlockingIOError:
            pass
        os.close(filler)  # no writer left: an empty token pipe reads as the end
        opened.remove(filler)
        read_fd, write_fd = os.pipe()
        opened += [read_fd, write_fd]
        _widen(write_fd)
        pid = os.fork()
    except OSError:  # out of descriptors or processes
        for fd in opened:
            os.close(fd)
        return
    if pid == 0:  # the child: take, compute, send; leave without running any of the parent's cleanup
        code = 0
        try:
            progress.silence()  # the parent owns the terminal's progress line
            os.close(read_fd)
            with os.fdopen(write_fd, "wb") as out:
                while (index := _take(tokens, len(batches))) is not None:
                    payload = pickle.dumps([work(x) for x in batches[index]], protocol=pickle.HIGHEST_PROTOCOL)
                    out.write(_FRAME.pack(index, len(payload)))
                    out.write(payload)
                    out.flush()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    finished = False
    try:
        os.close(write_fd)  # the child's alone now, so its exit ends the stream
        opened.remove(write_fd)
        os.set_blocking(read_fd, False)
        pending = bytearray()
        while (index := _take(tokens, len(batches))) is not None:
            part = batches[index]
            results[index] = [work(x) for x in part]
            count(part)
            _receive(read_fd, pending, results, batches, count)
        os.set_blocking(read_fd, True)
        _receive(read_fd, pending, results, batches, count)  # until the child closes its end
        finished = True
    finally:
        if not finished:  # this run is over (an error, an interrupt): the child's work is not wanted
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for fd in opened:
            os.close(fd)
        os.waitpid(pid, 0)


def _take(tokens: int, count: int) -> int | None:
    """The next batch's index, or None when every batch is taken."""
    data = os.read(tokens, _TOKEN.size)
    if len(data) != _TOKEN.size:
        return None  # the end (or a torn read: what no one computed is computed at the end)
    index = _TOKEN.unpack(data)[0]
    return index if index < count else None


def _widen(fd: int) -> None:
    """Let the pipe hold several batches' results (Linux: 1 MiB instead of 64 KiB), so that the
    child rarely waits for this process to read."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass  # not Linux, or over the system's limit: the default size works, a little slower


def _receive(fd: int, pending: bytearray, results: list, batches: list, count: Callable) -> None:
    """Load every whole batch the child has sent. On a non-blocking ``fd``, return once nothing
    more is waiting, but read a batch already begun to its end (the child is writing it, and
    waits until it is read); on a blocking one, read until the child closes its end."""
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            if not pending:
                return
            os.set_blocking(fd, True)  # the child is in the middle of this batch: wait for the rest
            try:
                chunk = os.read(fd, 1 << 20)
            finally:
                os.set_blocking(fd, False)
        if not chunk:
            return
        pending += chunk
        start = 0
        while len(pending) - start >= _FRAME.size:
            index, length = _FRAME.unpack_from(pending, start)
            end = start + _FRAME.size + length
            if end > len(pending):
                break
            if index < len(results) and results[index] is None:
                try:
                    got = pickle.loads(bytes(pending[start + _FRAME.size:end]))
                except Exception:
                    got = None
                if isinstance(got, list) and len(got) == len(batches[index]):
                    results[index] = got
                    count(batches[index])
            start = end
        del pending[:start]
