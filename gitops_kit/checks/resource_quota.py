"""resource-quota: every app-owned namespace has a v1 ResourceQuota with at least one hard limit.

Quotas are counted in the namespace they land in (metadata.namespace, else the destination namespace of
the bundle they sit in), wherever they are in the repository.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, show
from ..model import K8sObject, RepoModel
from ..model.ownership import bundle_dirs
from ..yamlio import YMap
from ._workloads import bundle_of_path, bundle_owners, by_namespace, owned_namespaces
from .namespace_suffix import namespace_causes

# Facts other checks read too: the engine builds them before it shares the checks between
# two processes, so that neither builds them again.
SHARED_FACTS = (bundle_owners,)


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    # findings stand at the Application, related to the bundle where the quota belongs
    owners = bundle_owners(model)
    judged = owned_namespaces(model)
    if not judged:
        return
    quotas = [o for o in model.kind("ResourceQuota") if o.api_version == "v1"]
    index = by_namespace(model, quotas, owners)
    for owned in judged:
        found = index.get(owned.namespace, [])
        if any(_limits(q) for q in found):
            continue
        empty = " (only a ResourceQuota with an empty spec.hard, which limits nothing)" if found else ""
        bundle = owners.bundle(owned.app)
        # the bundle's quota went to another namespace: the destination is the likelier culprit
        moved = any(q.namespace and q.namespace != owned.namespace and bundle_of_path(model, q.path) == bundle
                    for q in quotas) if bundle else False
        yield Hit(owned.app.path, owned.pos, f"namespace {show(owned.namespace)} of app {owned.app.name!r} has no "
                  f"ResourceQuota{empty}: one runaway workload can starve every other app on the node",
                  app=owned.app.name, key=f"{owned.key}:quota",
                  related=tuple((d, (1, 1)) for d in bundle_dirs(model, bundle)),
                  causes=namespace_causes(owned.app) if moved else (), remedy="create")


def _limits(quota: K8sObject) -> bool:
    spec = quota.spec
    hard = spec.get("hard") if spec is not None else None
    return isinstance(hard, YMap) and len(hard) > 0
