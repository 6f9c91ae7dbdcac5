"""parallel.share: both cores take batches from a token pipe; the answer is always the serial one."""

from __future__ import annotations

import os
import pickle
import time

import pytest

from gitops_kit import parallel, progress

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


def _square(x: int) -> int:
    return x * x


@pytest.mark.parametrize("n,batch", [(0, 1), (1, 1), (7, 3), (100, 1), (100, 32), (33, 32)])
def test_results_in_order_whatever_the_batching(n, batch):
    items = list(range(n))
    assert parallel.share(items, _square, batch=batch) == [x * x for x in items]


def test_both_processes_take_batches():
    parent = os.getpid()

    def where(x: int) -> tuple[int, int]:
        time.sleep(0.005)  # long enough that the child is running before the parent is done
        return x, os.getpid()

    out = parallel.share(list(range(40)), where, batch=2)
    assert [x for x, _ in out] == list(range(40))
    pids = {pid for _, pid in out}
    assert parent in pids and len(pids) == 2


def test_whatever_a_failing_child_did_not_deliver_is_computed_here():
    parent = os.getpid()
    calls: list[int] = []  # the parent's own list: the child's appends stay in the child

    def fails_in_child(x: int) -> int:
        if os.getpid() != parent and x >= 10:
            raise RuntimeError("child breaks")
        time.sleep(0.002)
        calls.append(x)
        return -x

    assert parallel.share(list(range(30)), fails_in_child, batch=2) == [-x for x in range(30)]
    assert len(calls) == len(set(calls))  # nothing computed twice here


def test_a_child_that_dies_mid_run():
    parent = os.getpid()

    def dies_in_child(x: int) -> int:
        if os.getpid() != parent and x >= 6:
            os._exit(9)
        time.sleep(0.002)
        return x + 1

    assert parallel.share(list(range(30)), dies_in_child, batch=3) == [x + 1 for x in range(30)]


def test_no_fork_computes_everything_here(monkeypatch):
    monkeypatch.setattr(parallel.os, "fork", lambda: (_ for _ in ()).throw(OSError(11, "no more processes")))
    assert parallel.share(list(range(10)), _square, batch=4) == [x * x for x in range(10)]


def test_an_error_here_stops_the_child_and_propagates(monkeypatch):
    parent = os.getpid()
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(parallel.os, "fork", fork)

    def breaks_here(x: int) -> int:
        if os.getpid() == parent and x >= 4:
            raise ValueError("parent breaks")
        time.sleep(0.01)
        return x

    started = time.monotonic()
    with pytest.raises(ValueError):
        parallel.share(list(range(400)), breaks_here, batch=1)
    assert time.monotonic() - started < 2  # the child's remaining 4 s of work were not waited for
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(forked[0], os.WNOHANG)  # and it was reaped


def test_every_item_counts_once_on_the_progress_line(monkeypatch):
    ticks: list[float] = []
    monkeypatch.setattr(progress, "tick", lambda steps=1: ticks.append(steps))

    def slow(x: int) -> int:
        time.sleep(0.002)
        return x

    items = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 3
    parallel.share(items, slow, batch=2, weight=lambda x: x)
    assert sum(ticks) == sum(items)


def _frame(index: int, value: object) -> bytes:
    payload = pickle.dumps(value)
    return parallel._FRAME.pack(index, len(payload)) + payload


def test_receive_keeps_the_first_result_and_drops_damaged_or_foreign_frames():
    batches = [[1], [2], [3], [4]]
    results: list = [[10], None, None, None]
    counted: list = []
    stream = (_frame(0, [99])  # already computed here: the first result stays
              + _frame(1, [20])
              + parallel._FRAME.pack(2, 5) + b"\x80\x05junk"[:5]  # not a pickle: computed again later
              + _frame(3, [40, 41])  # not one result per item
              + _frame(7, [70]))  # no such batch
    read_fd, write_fd = os.pipe()
    os.write(write_fd, stream + _frame(3, [40])[:6])  # and the head of a frame still on its way
    os.close(write_fd)
    pending = bytearray()
    parallel._receive(read_fd, pending, results, batches, counted.append)  # a blocking fd: to the end
    os.close(read_fd)
    assert results == [[10], [20], None, None]
    assert counted == [[2]]
    assert pending == _frame(3, [40])[:6]


def test_a_frame_begun_is_read_to_its_end_even_without_blocking():
    import threading

    batches = [[1]]
    results: list = [None]
    frame = _frame(0, ["x" * 200_000])
    read_fd, write_fd = os.pipe()
    import resource

    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] > 2100:  # past select()'s 1024: it must not matter
        high = os.dup2(read_fd, 2000)
        os.close(read_fd)
        read_fd = high
    os.write(write_fd, frame[:100])
    later = threading.Timer(0.05, lambda: (os.write(write_fd, frame[100:]), os.close(write_fd)))
    later.start()
    os.set_blocking(read_fd, False)
    pending = bytearray()
    parallel._receive(read_fd, pending, results, batches, lambda part: None)
    later.join()
    os.close(read_fd)
    assert results == [["x" * 200_000]] and not pending


def test_no_item_is_computed_twice(tmp_path):
    log = tmp_path / "calls"

    def logged(x: int) -> int:
        with open(log, "a") as fh:  # O_APPEND: both processes' lines arrive whole
            fh.write(f"{x}\n")
        time.sleep(0.001)
        return x

    assert parallel.share(list(range(200)), logged, batch=3) == list(range(200))
    assert sorted(int(line) for line in log.read_text().split()) == list(range(200))


def test_a_large_list_gets_fewer_larger_batches_than_the_token_pipe_holds(monkeypatch):
    counts: list[int] = []
    real = parallel._with_child

    def counting(batches, *args):
        counts.append(len(batches))
        return real(batches, *args)

    monkeypatch.setattr(parallel, "_with_child", counting)
    items = list(range(parallel._MAX_TOKENS * 3 + 5))
    assert parallel.share(items, _square, batch=1) == [x * x for x in items]
    assert counts and counts[0] <= parallel._MAX_TOKENS


def test_one_usable_core_means_one_process(monkeypatch):
    """A container pinned to one CPU of a bigger machine: no fork, whatever os.cpu_count says."""
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    monkeypatch.delenv("GITOPS_KIT_JOBS", raising=False)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0})
    assert not parallel.available()
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1})
    assert parallel.available()
    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    assert not parallel.available()
