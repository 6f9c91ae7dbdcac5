"""yaml-syntax: files that cannot be read as YAML, or read only with surprises.

A ``${VAR}`` written unquoted inside a flow collection (``[vault.${DOMAIN}:8200]``) is a syntax
error for every YAML parser, Go's included (kubectl, kustomize and ArgoCD use it): ``{`` is a flow
indicator and ends the plain value there. It stays an error, with a message saying so and how to
write it, since the usual cause is a file meant for ``envsubst`` or Flux's substitution.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, Severity
from ..model import RepoModel

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 6

_SUBSTITUTION = ("; an unquoted ${...} inside [...] or {...} ends the value at its '{', for Go's YAML parser "
                 "(kubectl, kustomize, ArgoCD) too: quote the whole value (\"host.${DOMAIN}:8200\"), or exclude "
                 "the file in .gitops-kit.yaml if a tool substitutes the variables before anything parses it")


def _substitution_at(text: str | None, line: int, column: int) -> bool:
    """Whether the error is at the ``{`` of an unquoted ``${`` (1-based line and column)."""
    if text is None or line < 1 or column < 2:
        return False
    lines = text.split("\n", line)
    if len(lines) < line:
        return False
    row = lines[line - 1]
    return row[column - 2:column] == "${"


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    for sf in model.files.values():
        templated = sf.text is not None and "{{" in sf.text
        for p in sf.problems:
            message = p.message
            if p.fatal and templated:
                message += "; the file looks like a Helm/Go template: keep templates in a chart's templates/ " \
                           "directory or exclude it in .gitops-kit.yaml"
            elif p.fatal and "${" in (sf.text or "") and _substitution_at(sf.text, p.line, p.column):
                message += _SUBSTITUTION
            yield Hit(sf.path, (p.line, p.column), message, key=f"{p.message}@{p.line}")
    for skip in model.skipped:
        yield Hit(skip.path, (1, 1), skip.reason, key=skip.reason,
                  severity=None if skip.error else Severity.INFO)
