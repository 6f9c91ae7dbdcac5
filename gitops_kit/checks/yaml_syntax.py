"""yaml-syntax: files that cannot be read as YAML, or read only with surprises."""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, Severity
from ..model import RepoModel


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    for sf in model.files.values():
        if not model.in_focus(sf.path):
            continue
        templated = sf.text is not None and "{{" in sf.text
        for p in sf.problems:
            message = p.message
            if p.fatal and templated:
                message += "; the file looks like a Helm/Go template: keep templates in a chart's templates/ " \
                           "directory or exclude it in .gitops-kit.yaml"
            yield Hit(sf.path, (p.line, p.column), message, key=f"{p.message}@{p.line}")
    for skip in model.skipped:
        if not model.in_focus(skip.path):
            continue
        yield Hit(skip.path, (1, 1), skip.reason, key=skip.reason,
                  severity=None if skip.error else Severity.INFO)
