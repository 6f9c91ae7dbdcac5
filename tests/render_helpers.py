"""Shared setup of the render tests: a copy of the reference example whose chart URLs go to the
served upstream charts (``charts.mirrors``), vault at 0.33.0, and a warm chart cache."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from helpers import reference_copy

VAULT_APPS = ("argo/platform/vault-ha-app.yaml", "argo/platform/vault-transit-app.yaml")


def point_at_server(root: Path, mirrors: dict[str, str], extra_config: str = "") -> None:
    """Mirrors for every served repository in the copy's config; vault apps on 0.33.0."""
    lines = ["charts:", "  mirrors:"] + [f'    "{up}": "{served}"' for up, served in mirrors.items()]
    cfg = root / ".gitops-kit.yaml"
    cfg.write_text(cfg.read_text() + "\n" + "\n".join(lines) + "\n" + extra_config)
    for rel in VAULT_APPS:
        path = root / rel
        path.write_text(re.sub(r"targetRevision: 0\.29\.1", "targetRevision: 0.33.0", path.read_text()))


def warm_cache(root: Path) -> list[str]:
    """Pull every chart of the copy's apps that the server has; returns the ones it has not."""
    from gitops_kit import config as config_mod
    from gitops_kit.charts import ChartError, chart_refs, pull
    from gitops_kit.model import build

    cfg = config_mod.load(root)
    model = build(root, cfg)
    missing = []
    for app in model.child_apps():
        for _src, ref in chart_refs(model, app):
            try:
                pull(ref, cfg)
            except ChartError:
                missing.append(ref.label())
    return missing


def served_reference(dest: Path, mirrors: dict[str, str], extra_config: str = "") -> Path:
    root = reference_copy(dest)
    point_at_server(root, mirrors, extra_config)
    return root


def copy_of(root: Path, dest: Path) -> Path:
    shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns(".gitops-kit-cache"))
    return dest
