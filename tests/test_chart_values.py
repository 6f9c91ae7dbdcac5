"""chart-values beyond its rule cases: umbrella dependencies, charts not in the cache, no SDK."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from helpers import by_rule, overlay, reference_copy, run_lint

pytest.importorskip("helm_python")


@pytest.fixture
def cached(chart_server, tmp_path, monkeypatch) -> Path:
    """A reference copy whose served charts are in a chart cache of this test's own."""
    from gitops_kit import charts, config, model

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = reference_copy(tmp_path / "repo")
    cfg = config.load(root)
    cfg.data["charts"]["mirrors"] = chart_server.mirrors
    built = model.build(root, cfg)
    for app in built.applications:
        for _src, ref in charts.chart_refs(built, app):
            if ref.repo_url in chart_server.mirrors:
                charts.pull(ref, cfg)
    return root


def _edit(root: Path, rel: str, old: str, new: str) -> int:
    text = (root / rel).read_text()
    assert old in text
    text = text.replace(old, new, 1)
    overlay(root, {rel: text})
    return text[: text.index(new)].count("\n") + 1


def test_the_reference_is_clean_with_every_served_chart_cached(cached):
    assert by_rule(run_lint(cached), "chart-values") == set()


def test_an_umbrella_dependency_key_the_subchart_ignores_is_reported_at_the_umbrella_values(cached):
    rel = "apps/helm/object-store/values.yaml"
    line = _edit(cached, rel, "  replicas: 4\n", "  replicas: 4\n  replicaz: 4\n") + 1
    report = run_lint(cached)
    assert by_rule(report, "chart-values") == {(rel, line)}
    finding = next(f for f in report.findings if f.rule == "chart-values")
    assert "minio.replicaz" in finding.message and "minio 5.3.0" in finding.message
    assert str(finding.severity) == "warning"


def test_a_value_the_chart_schema_rejects_through_valueFiles_is_an_error_at_its_line(cached):
    rel = "apps/helm/vault-ha/values.yaml"
    line = _edit(cached, rel, "  ha:\n    enabled: true\n", "  ha:\n    enabled: true\n    replicas: \"3\"\n") + 2
    report = run_lint(cached)
    assert by_rule(report, "chart-values") == {(rel, line)}
    finding = next(f for f in report.findings if f.rule == "chart-values")
    assert str(finding.severity) == "error" and "server.ha.replicas" in finding.message


def test_a_chart_missing_from_the_cache_is_not_judged(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty"))
    root = reference_copy(tmp_path / "repo")
    _edit(root, "apps/helm/vault-ha/values.yaml", "  ha:\n    enabled: true\n",
          "  ha:\n    enabled: true\n    replicas: three\n")
    assert by_rule(run_lint(root), "chart-values") == set()


def test_without_the_sdk_the_rule_is_silent(cached, monkeypatch):
    _edit(cached, "apps/helm/vault-ha/values.yaml", "  ha:\n    enabled: true\n",
          "  ha:\n    enabled: true\n    replicas: three\n")
    assert by_rule(run_lint(cached), "chart-values")
    real_import = builtins.__import__

    def no_sdk(name, *args, **kwargs):
        if name == "helm_python" or name.startswith("helm_python."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sdk)
    assert by_rule(run_lint(cached), "chart-values") == set()
