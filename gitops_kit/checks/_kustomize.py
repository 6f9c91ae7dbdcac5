"""Kustomize and source-delivery facts moved to the model (issue 14): :mod:`gitops_kit.model.kustomize`
and :mod:`gitops_kit.model.delivery`. Re-exported here for the checks and callers that import them
from this module; new code imports from the model."""

from __future__ import annotations

from ..model.delivery import delivered, kustomize_dirs, objects_below, ours, source_dir, source_kind  # noqa: F401
from ..model.kustomize import (  # noqa: F401
    RESOURCE_FIELDS,
    Entry,
    Tree,
    by_dir,
    documents,
    entries,
    is_remote,
    objects_by_path,
    resolve,
    tree,
)
