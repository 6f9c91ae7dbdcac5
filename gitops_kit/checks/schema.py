"""schema: every manifest against the schema of its kind (Kubernetes, gitops-kit's CRD schemas,
the repository's CRDs), strict about unknown fields; each violation at its own line.

A document SOPS encrypted (KSOPS generator input) is validated without its top-level ``sops``
block, which SOPS and KSOPS remove when they decrypt it."""

from __future__ import annotations

import copy
from typing import Any, Iterator

from .. import schemas_k8s
from ..findings import Hit, Severity
from ..model import RepoModel, kustomize
from . import _secret_data, _secrets

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 85

# Facts other checks read too: the engine builds them before it shares the checks between
# two processes, so that neither builds them again.
SHARED_FACTS = (schemas_k8s.for_model,)

_SELECTOR_MISSING = "spec.selector:required"


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    sset = schemas_k8s.for_model(model)
    if sset.note:
        line = model.config.pos_of("kubernetes_version") if model.config.path else None
        path = model.config.path if line else "."
        yield Hit(path, (line or 1, 1), sset.note, key="kubernetes-version",
                  severity=None if sset.version is None else Severity.INFO)
    for target in schemas_k8s.targets(model, params.get("skip_files") or []):
        if target.file_schema is not None:
            validator = sset.project_validator(target.file_schema)
        else:
            validator = sset.validator(target.api_version or "", target.kind or "")
            if validator is None:
                continue  # not covered: schema-unknown reports it
        problems = schemas_k8s.validate(sset, validator, _without_sops(target.data), target.pos)
        if problems and target.obj is not None and any(p.key == _SELECTOR_MISSING for p in problems) \
                and kustomize.effective(model, target.obj.path).selector_labels:
            # kustomize writes the commonLabels (labels with includeSelectors) into the selector
            problems = [p for p in problems if p.key != _SELECTOR_MISSING]
        if not problems:
            continue
        what = target.label
        if target.file_schema is None:
            source = sset.source(target.api_version or "", target.kind or "")
            what = f"{target.label} ({source.label if source else 'schema'})"
        for problem in problems:
            yield Hit(target.path, problem.pos, f"{what}: {problem.message}",
                      key=f"{target.identity}:{problem.key}")
    # format: byte, which the validators do not check: the API server decodes every Secret.data value
    yield from _secret_data.invalid_base64(model)


def _without_sops(data: Any) -> Any:
    """``data`` without its top-level ``sops`` block when it carries SOPS metadata (a shallow copy
    that keeps every position), else ``data`` itself."""
    if _secrets.sops_metadata(data) is None:
        return data
    stripped = copy.copy(data)
    del stripped["sops"]
    return stripped
