"""Config-management plugins and their discover rules moved to the model (issue 14):
:mod:`gitops_kit.model.cmp`. Re-exported here for the checks and tests that import them from this module."""

from __future__ import annotations

from ..model.cmp import (  # noqa: F401
    AVP_BINARY,
    EXPLICIT,
    Plugin,
    _run,
    _tokens,
    discovering,
    explicit_types,
    is_avp,
    matches,
    plugins,
)
