"""The explicit registry of checks: name -> module. A check is ``check(model, params)``
yielding :class:`gitops_kit.findings.Hit`; it knows neither its rule id nor its severity."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable

REGISTRY: dict[str, str] = {
    "yaml_syntax": "gitops_kit.checks.yaml_syntax",
    "layout": "gitops_kit.checks.layout",
    "namespace_suffix": "gitops_kit.checks.namespace_suffix",
    "one_app_per_namespace": "gitops_kit.checks.one_app_per_namespace",
    "sync_wave": "gitops_kit.checks.sync_wave",
    "automated_sync": "gitops_kit.checks.automated_sync",
    "helm_pattern": "gitops_kit.checks.helm_pattern",
    "node_tier": "gitops_kit.checks.node_tier",
    "network_policy": "gitops_kit.checks.network_policy",
    "resource_quota": "gitops_kit.checks.resource_quota",
    "topology_spread": "gitops_kit.checks.topology_spread",
    "app_health_check": "gitops_kit.checks.app_health_check",
    "plaintext_secret": "gitops_kit.checks.plaintext_secret",
    "avp_placeholder": "gitops_kit.checks.avp_placeholder",
    "retain_policy": "gitops_kit.checks.retain_policy",
    "kustomize_namespace": "gitops_kit.checks.kustomize_namespace",
    "schema": "gitops_kit.checks.schema",
    "schema_unknown": "gitops_kit.checks.schema_unknown",
    "deprecated_api": "gitops_kit.checks.deprecated_api",
    "image_pin": "gitops_kit.checks.image_pin",
    "apply_size": "gitops_kit.checks.apply_size",
    "kustomize_subjects": "gitops_kit.checks.kustomize_subjects",
    "cmp_discover": "gitops_kit.checks.cmp_discover",
    "kustomize_build": "gitops_kit.checks.kustomize_build",
    "kustomize_files": "gitops_kit.checks.kustomize_files",
    "chart_values": "gitops_kit.checks.chart_values",
    "render": "gitops_kit.render.check",
}

CheckFn = Callable[[Any, dict[str, Any]], Iterable[Any]]


def get(name: str) -> CheckFn:
    """The check function registered as ``name``."""
    return module(name).check


def module(name: str) -> Any:
    """The module of the check registered as ``name`` (its ``COST`` and ``SHARED_FACTS``, when
    it declares them, tell the engine how to run it on two cores)."""
    return importlib.import_module(REGISTRY[name])
