"""render: what ``lint --render`` could not render (a chart missing from the cache, a template
that fails, values that are not a mapping, a missing dependency, no renderer).

Rendering runs before this check (:mod:`gitops_kit.render.lint`) and leaves its problems in
``model.memo["render_problems"]`` as hits; without ``--render`` there are none.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, Severity
from ..model import RepoModel

MEMO = "render_problems"
# Problems that say the render could not be checked here (the cache, the machine), not that
# ArgoCD would fail: a warning. The others (a template or values ArgoCD rejects too) are errors.
_WARNING_KINDS = frozenset({"cache-miss", "binary", "network", "unsupported"})


def hits(model: RepoModel, renders: list[Any]) -> list[Hit]:
    """One hit per render problem; a chart missing from the cache once, however many apps use it."""
    out: list[Hit] = []
    users: dict[str, list[str]] = {}  # chart -> the apps that need it, in order
    for r in renders:
        for p in r.problems:
            if p.chart is not None:
                users.setdefault(p.chart, [])
                if r.app.name not in users[p.chart]:
                    users[p.chart].append(r.app.name)
    reported: set[str] = set()
    for r in renders:
        for p in r.problems:
            message = p.message
            if p.chart is not None:
                if p.chart in reported:
                    continue
                reported.add(p.chart)
                others = [a for a in users[p.chart] if a != r.app.name]
                if others:
                    message += f" (also needed by {', '.join(repr(a) for a in others)})"
            severity = Severity.WARNING if p.kind in _WARNING_KINDS else Severity.ERROR
            out.append(Hit(p.path, p.pos, message, app=r.app.name,
                           key=f"{p.kind}:{p.chart or r.app.name}:{p.message}", severity=severity))
    return out


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    yield from model.memo.get(MEMO, ())
