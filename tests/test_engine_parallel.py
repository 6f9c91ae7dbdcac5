"""The forked two-process rule run gives exactly the serial run's findings."""

from __future__ import annotations

import os

import pytest

from gitops_kit import engine
from helpers import count_parses, overlay, reference_copy, run_lint


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_run_equals_serial_run(tmp_path, monkeypatch):
    root = reference_copy(tmp_path / "repo")
    overlay(root, {
        "dup.yaml": "a: 1\na: 2\n",
        "apps/helm/netbox/values.yaml": "netbox:\n  superuserPassword: hunter2hunter2\n",
    })
    app = root / "argo" / "apps" / "awx-app.yaml"
    app.write_text(app.read_text().replace("selfHeal: true", "selfHeal: false"))
    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    serial = run_lint(root).findings
    monkeypatch.delenv("GITOPS_KIT_JOBS")
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 1)
    forked = {"n": 0}
    real = engine._run_forked

    def spy(*args, **kwargs):
        forked["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_run_forked", spy)
    parallel = run_lint(root).findings
    assert forked["n"] == 1
    assert len(serial) >= 3 and parallel == serial


def test_a_crashing_child_falls_back_to_serial(tmp_path, monkeypatch):
    root = reference_copy(tmp_path / "repo")
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError(11, "Resource temporarily unavailable")))
    assert run_lint(root).findings == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_parse_equals_serial_parse(tmp_path, monkeypatch):
    from gitops_kit import config, model

    root = reference_copy(tmp_path / "repo")
    overlay(root, {"dup.yaml": "a: &x {b: 1}\nc: *x\na: 2\n", "bad.yaml": "a: [\n"})
    cfg = config.load(root)
    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    serial = model.build(root, cfg)
    monkeypatch.delenv("GITOPS_KIT_JOBS")
    monkeypatch.setattr(model, "PARALLEL_PARSE_MIN_FILES", 1)
    forked = model.build(root, cfg)
    assert list(forked.files) == list(serial.files)
    for rel, sf in serial.files.items():
        other = forked.files[rel]
        assert other.problems == sf.problems and other.text == sf.text
        for a, b in zip(sf.documents, other.documents):
            assert a.pos == b.pos and a.data == b.data
            if isinstance(a.data, dict):
                assert all(a.data.key_pos(k) == b.data.key_pos(k) and a.data.value_pos(k) == b.data.value_pos(k)
                           for k in a.data)
    assert len(forked.objects) == len(serial.objects)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_cold_cache_parse_and_write_equal_the_serial_run(tmp_path, monkeypatch):
    """A cold cache parses on both cores, hashing as it reads, and writes its shards from both;
    the next (warm) run must load all of it and report the same."""
    from gitops_kit import cache, model, parallel

    root = reference_copy(tmp_path / "repo")
    overlay(root, {"apps/helm/netbox/values.yaml": "netbox:\n  superuserPassword: hunter2hunter2\n"})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the cache's key, not the user's
    monkeypatch.setenv("GITOPS_KIT_CACHE", "1")  # written even under CI
    monkeypatch.setattr(parallel, "_cores", lambda: 2)  # forks on a one-core machine too
    forks: list[str] = []
    real_share = parallel.share

    def counting_share(items, work, *args, **kwargs):
        forks.append(getattr(work, "__qualname__", ""))
        return real_share(items, work, *args, **kwargs)

    monkeypatch.setattr(parallel, "share", counting_share)
    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    serial = run_lint(root).findings
    monkeypatch.delenv("GITOPS_KIT_JOBS")
    monkeypatch.setattr(model, "PARALLEL_PARSE_MIN_FILES", 1)
    monkeypatch.setattr(cache, "PARALLEL_MIN_ENTRIES", 1)
    from gitops_kit.api import lint

    cold = lint([str(root)], use_cache=True)
    assert cold.findings == serial
    # the parse and the cache writers forked
    assert any("_parse_all" in name for name in forks) and any("save" in name for name in forks), forks
    digests = cold.model.digests or {}
    assert set(digests) == set(cold.model.files)
    assert all(digests[rel] == cache.digest((root / rel).read_bytes()) for rel in digests)
    shards = sorted((root / cache.DIR).glob("*.bin"))
    assert len(shards) == cache.SHARDS
    parsed = count_parses(monkeypatch)
    monkeypatch.setattr(model, "PARALLEL_PARSE_MIN_FILES", 10_000)  # parse the misses here, where they are counted
    warm = lint([str(root)], use_cache=True)
    assert warm.findings == serial
    assert parsed["n"] == 1  # only the values file with the secret, which is never cached
