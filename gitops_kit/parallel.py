"""Both cores without sharing anything but results: a forked child sees the parent's memory
copy-on-write, so only what it computes is pickled back. :func:`share` spreads a list of items
over both processes as they go; :func:`split` runs two fixed halves. Any failure of the child
falls back to computing its part in the parent, so the answer never depends on the fork."""

from __future__ import annotations

import mmap
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


def share(items: Sequence[T], work: Callable[[T], U], batch: int = 1,
          weight: Callable[[T], float] | None = None) -> list[U]:
    """``[work(x) for x in items]`` on both cores, balanced as it goes.

    A forked child and this process take the next ``batch`` items in turn from a counter in
    shared memory, so whichever core is faster (or less disturbed) does more. The child sends
    each batch's results as soon as it has them, and this process loads them between its own
    batches: no core waits for the other to pickle or load everything at the end. Take the
    costliest items first, so that the last batches are short. Each item counts ``weight(item)``
    (default 1) on the progress line, once, whoever computes it.

    Taking a batch is a read and a write of the counter, not an atomic step: both processes may
    take the same batch (the first result to arrive is kept), but no batch is ever left untaken.
    Whatever the child did not deliver (it failed, was killed or could not be forked) is
    computed here, so the answer never depends on the fork."""
    batches = [items[i:i + batch] for i in range(0, len(items), batch)]
    results: list[list[U] | None] = [None] * len(batches)

    def count(part: Sequence[T]) -> None:
        progress.tick(sum(weight(x) for x in part) if weight is not None else len(part))

    counter = mmap.mmap(-1, 4)  # anonymous and shared: both processes see each other's claims
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        pid = -1
    if pid == 0:  # the child: claim, compute, send; leave without running any of the parent's cleanup
        code = 0
        try:
            progress.silence()  # the parent owns the terminal's progress line
            os.close(read_fd)
            with os.fdopen(write_fd, "wb") as out:
                while (index := _claim(counter)) < len(batches):
                    payload = pickle.dumps([work(x) for x in batches[index]], protocol=pickle.HIGHEST_PROTOCOL)
                    out.write(_FRAME.pack(index, len(payload)))
                    out.write(payload)
                    out.flush()
        except BaseException:  # noqa: BLE001 - any failure: the parent computes what is missing
            code = 1
        finally:
            os._exit(code)
    if pid > 0:
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        pending = bytearray()
        try:
            while (index := _claim(counter)) < len(batches):
                part = batches[index]
                results[index] = [work(x) for x in part]
                count(part)
                _receive(read_fd, pending, results, batches, count, block=False)
        except BaseException:
            os.kill(pid, signal.SIGKILL)  # this run is over: the child's work is not wanted
            os.close(read_fd)
            os.waitpid(pid, 0)
            counter.close()
            raise
        os.set_blocking(read_fd, True)
        _receive(read_fd, pending, results, batches, count, block=True)  # until the child closes its end
        os.close(read_fd)
        os.waitpid(pid, 0)
    counter.close()
    out: list[U] = []
    for index, part in enumerate(batches):
        got = results[index]
        if got is None:  # not delivered by the child
            got = [work(x) for x in part]
            count(part)
        out.extend(got)
    return out


def _claim(counter: mmap.mmap) -> int:
    """The next batch to compute (see :func:`share` on why a race only duplicates work)."""
    index = int.from_bytes(counter[:4], "little")
    counter[:4] = (index + 1).to_bytes(4, "little")
    return index


def _receive(fd: int, pending: bytearray, results: list, batches: list, count: Callable, block: bool) -> None:
    """Read what the child has sent (everything, up to its end, with ``block``) and load each whole batch."""
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            return
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
                except Exception:  # noqa: BLE001 - a damaged batch is computed again
                    got = None
                if isinstance(got, list) and len(got) == len(batches[index]):
                    results[index] = got
                    count(batches[index])
            start = end
        del pending[:start]
