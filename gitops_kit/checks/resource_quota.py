"""resource-quota: every app-owned namespace has a v1 ResourceQuota with at least one hard limit.

Quotas are counted in the namespace they land in (metadata.namespace, else the destination namespace of
the bundle they sit in), wherever they are in the repository.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, show
from ..model import K8sObject, RepoModel
from ..yamlio import YMap
from ._workloads import bundle_owners, by_namespace, owned_namespaces


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    # findings stand at the Application: a focused run judges only the Applications in focus
    judged = [o for o in owned_namespaces(model) if model.in_focus(o.app.path)]
    if not judged:
        return
    owners = bundle_owners(model)
    quotas = [o for o in model.kind("ResourceQuota") if o.api_version == "v1"]
    index = by_namespace(model, quotas, owners)
    for owned in judged:
        found = index.get(owned.namespace, [])
        if any(_limits(q) for q in found):
            continue
        empty = " (only a ResourceQuota with an empty spec.hard, which limits nothing)" if found else ""
        yield Hit(owned.app.path, owned.pos, f"namespace {show(owned.namespace)} of app {owned.app.name!r} has no "
                  f"ResourceQuota{empty}: one runaway workload can starve every other app on the node",
                  app=owned.app.name, key=f"{owned.key}:quota")


def _limits(quota: K8sObject) -> bool:
    spec = quota.spec
    hard = spec.get("hard") if spec is not None else None
    return isinstance(hard, YMap) and len(hard) > 0
