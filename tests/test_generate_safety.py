"""Writes never lose data: a failure at any point of `init` or `new-app` leaves the target
byte-identical, and two `new-app` runs on one repository never both write."""

from __future__ import annotations

import errno
import multiprocessing
import os
import threading

import pytest

from generate_helpers import CHART, run, snapshot
from gitops_kit.generate import plan as plan_mod, writer


def _fail_on(monkeypatch, n: int, exc: BaseException) -> list[int]:
    """Make the n-th file write (1-based) raise ``exc``; returns the call counter."""
    real = writer.write_file
    calls = [0]

    def flaky(target, data, mode):
        calls[0] += 1
        if calls[0] == n:
            raise exc
        real(target, data, mode)

    monkeypatch.setattr(writer, "write_file", flaky)
    return calls


NEW_APP = ["new-app", "wiki", "--layer", "apps", *CHART, "--tier", "control", "--secret", "db_password"]


@pytest.mark.parametrize("n", [1, 4, 8])
def test_new_app_failing_on_the_nth_write_leaves_the_repository_byte_identical(repo, capsys, monkeypatch, n):
    # 8 files: 7 new ones, then the edit of .gitops-kit.yaml last (n=8 fails on the edit).
    before = snapshot(repo)
    _fail_on(monkeypatch, n, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(OSError):
        from gitops_kit.cli import main

        main([*NEW_APP, "--repo", str(repo)])
    assert snapshot(repo) == before


def test_forced_overwrite_failing_midway_restores_every_replaced_file(repo, capsys, monkeypatch):
    assert run(capsys, *NEW_APP, "--repo", repo)[0] == 0
    values = repo / "apps/helm/wiki/values.yaml"
    values.write_text("# my edits\n" + values.read_text())
    before = snapshot(repo)
    _fail_on(monkeypatch, 6, PermissionError(errno.EACCES, "Permission denied"))
    with pytest.raises(PermissionError):
        from gitops_kit.cli import main

        main([*NEW_APP, "--repo", str(repo), "--force"])
    assert snapshot(repo) == before


@pytest.mark.parametrize("n", [1, 12, 23])
def test_init_failing_on_the_nth_write_leaves_nothing_behind(tmp_path, capsys, monkeypatch, n):
    parent = tmp_path / "parent"
    parent.mkdir()
    _fail_on(monkeypatch, n, OSError(errno.ENOSPC, "No space left on device"))
    from gitops_kit.cli import main

    with pytest.raises(OSError):
        main(["init", str(parent / "a" / "gitops")])
    assert list(parent.iterdir()) == []


def test_init_into_an_existing_directory_failing_midway_keeps_it_byte_identical(tmp_path, monkeypatch):
    target = tmp_path / "existing"
    target.mkdir()
    (target / "notes.txt").write_text("keep me\n")
    before = snapshot(target)
    _fail_on(monkeypatch, 10, OSError(errno.EIO, "I/O error"))
    from gitops_kit.cli import main

    with pytest.raises(OSError):
        main(["init", str(target)])
    assert snapshot(target) == before


def test_an_exception_while_rendering_writes_nothing(repo, monkeypatch):
    from gitops_kit.generate import render

    real = render.render
    calls = [0]

    def broken(blueprint, values, **kw):
        calls[0] += 1
        if calls[0] == 2:  # the pattern blueprint, after app-base rendered fine
            raise RuntimeError("template engine crashed")
        return real(blueprint, values, **kw)

    monkeypatch.setattr(plan_mod.render, "render", broken)
    before = snapshot(repo)
    from gitops_kit.cli import main

    with pytest.raises(RuntimeError):
        main([*NEW_APP, "--repo", str(repo)])
    assert snapshot(repo) == before


def test_an_interrupt_during_the_writes_is_rolled_back_too(repo, monkeypatch):
    before = snapshot(repo)
    _fail_on(monkeypatch, 3, KeyboardInterrupt())
    from gitops_kit.cli import main

    main([*NEW_APP, "--repo", str(repo)])  # main reports the abort (exit 2)
    assert snapshot(repo) == before


def test_a_held_lock_refuses_the_run_cleanly(repo, capsys):
    (repo / writer.LOCK_NAME).write_text("12345\n")
    before = snapshot(repo)
    code, _, err = run(capsys, *NEW_APP, "--repo", repo)
    assert code == 2 and writer.LOCK_NAME in err and "Nothing was written" in err
    assert snapshot(repo) == before


def test_the_lock_is_released_after_success_and_failure(repo, capsys):
    assert run(capsys, *NEW_APP, "--repo", repo)[0] == 0
    assert not (repo / writer.LOCK_NAME).exists()
    assert run(capsys, *NEW_APP, "--repo", repo)[0] == 2  # refused: files exist
    assert not (repo / writer.LOCK_NAME).exists()


def test_two_threads_adding_the_same_app_one_wins_the_other_is_refused(repo, monkeypatch):
    """The first run holds the lock while it writes; the second is refused, never half-applied."""
    from gitops_kit.cli import main

    inside = threading.Event()
    release = threading.Event()
    real_apply = writer.apply

    def slow_apply(root, changes):
        inside.set()
        release.wait(10)
        return real_apply(root, changes)

    monkeypatch.setattr("gitops_kit.generate.execute.apply", slow_apply)
    codes = {}
    first = threading.Thread(target=lambda: codes.setdefault("first", main([*NEW_APP, "--repo", str(repo)])))
    first.start()
    assert inside.wait(30)
    codes["second"] = main([*NEW_APP, "--repo", str(repo)])
    release.set()
    first.join(30)
    assert codes == {"first": 0, "second": 2}
    assert (repo / "argo/apps/wiki-app.yaml").is_file()
    assert not (repo / writer.LOCK_NAME).exists()


def _new_app_process(repo: str, name: str, queue) -> None:
    import contextlib
    import io

    from gitops_kit.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["new-app", name, "--layer", "apps", *CHART, "--repo", repo])
    queue.put((name, code, err.getvalue()))


def test_two_processes_at_once_both_succeed_or_one_is_refused_cleanly(repo):
    ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_new_app_process, args=(str(repo), name, queue)) for name in ("wiki", "wiki")]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    codes = sorted(code for _, code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for _, code, err in results if code == 2)
    assert writer.LOCK_NAME in refused or "already exist" in refused
    assert not (repo / writer.LOCK_NAME).exists()
    assert (repo / "apps/manifests/wiki/namespace.yaml").read_text().count("kind: Namespace") == 1
