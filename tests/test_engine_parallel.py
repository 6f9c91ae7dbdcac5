"""The forked two-process rule run gives exactly the serial run's findings."""

from __future__ import annotations

import os

import pytest

from gitops_kit import engine
from helpers import overlay, reference_copy, run_lint


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
