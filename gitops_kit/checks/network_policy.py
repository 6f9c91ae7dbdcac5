"""network-policy: every app-owned namespace denies all ingress and egress by default and allows DNS.

Policies are networking.k8s.io NetworkPolicy objects anywhere in the repository, counted in the namespace
they land in (metadata.namespace, else the destination namespace of the bundle they sit in).
"""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit, show
from ..model import K8sObject, RepoModel
from ..model.ownership import bundle_dirs
from ..yamlio import YMap, YSeq
from ._workloads import bundle_of_path, bundle_owners, by_namespace, is_int, owned_namespaces
from .namespace_suffix import namespace_causes

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 22

# Facts other checks read too: the engine builds them before it shares the checks between
# two processes, so that neither builds them again.
SHARED_FACTS = (bundle_owners,)

DNS_PORT_NAMES = ("dns", "dns-tcp")
DNS_PROTOCOLS = ("UDP", "TCP")


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    owners = bundle_owners(model)
    policies = [o for o in model.kind("NetworkPolicy") if o.group == "networking.k8s.io"]

    # A policy in a bundle that names another namespace protects the wrong namespace.
    man_prefix = model.config.manifests_dir + "/"
    elsewhere: set[int] = set()  # id() of the apps whose bundle puts policies in another namespace
    for pol in policies:
        if not pol.path.startswith(man_prefix) or pol.namespace is None:
            continue
        app = owners.app(bundle_of_path(model, pol.path))
        if app is None or app.dest_namespace is None or pol.namespace == app.dest_namespace:
            continue
        elsewhere.add(id(app))
        # the finding is as much about the Application's destination as about the policy
        yield Hit(pol.path, pol.metadata.value_pos("namespace"),
                  f"NetworkPolicy {show(pol.name)} in the bundle of app {app.name!r} is in namespace "
                  f"{show(pol.namespace)}, not the app's namespace {show(app.dest_namespace)}",
                  app=app.name, key=f"{pol.identity()}:metadata.namespace",
                  related=((app.path, app.destination.value_pos("namespace")),), causes=namespace_causes(app))

    # a missing policy is reported at the Application, related to the bundle where it belongs
    judged = owned_namespaces(model)
    if not judged:
        return
    index = by_namespace(model, policies, owners)
    for owned in judged:
        found = index.get(owned.namespace, [])
        missing = []
        if not any(_default_deny(p, "Ingress") for p in found):
            missing.append(("default-deny-ingress", "default-deny ingress NetworkPolicy (podSelector {}, "
                            "policyTypes [Ingress], no ingress rules)"))
        if not any(_default_deny(p, "Egress") for p in found):
            missing.append(("default-deny-egress", "default-deny egress NetworkPolicy (podSelector {}, "
                            "policyTypes [Egress], no egress rules)"))
        if not any(_allows_dns(p) for p in found):
            missing.append(("allow-dns-egress", "egress NetworkPolicy allowing DNS (port 53 UDP/TCP)"))
        if not missing:
            continue
        related = tuple((d, (1, 1)) for d in bundle_dirs(model, owners.bundle(owned.app)))
        # the bundle's policies went to another namespace: the destination is the likelier culprit
        causes = namespace_causes(owned.app) if id(owned.app) in elsewhere else ()
        for name, what in missing:
            yield Hit(owned.app.path, owned.pos, f"namespace {show(owned.namespace)} of app {owned.app.name!r} "
                      f"has no {what}", app=owned.app.name, key=f"{owned.key}:{name}", related=related,
                      causes=causes, remedy="create")


def _all_pods(selector: Any) -> bool:
    """An absent, null or empty podSelector selects every pod of the namespace."""
    if selector is None:
        return True
    if not isinstance(selector, YMap):
        return False
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def _types(spec: YMap) -> list[str] | None:
    types = spec.get("policyTypes")
    if isinstance(types, YSeq):
        return [t for t in types if isinstance(t, str)]
    return None


def _default_deny(pol: K8sObject, direction: str) -> bool:
    spec = pol.spec
    if spec is None or not _all_pods(spec.get("podSelector")):
        return False
    types = _types(spec)
    rules = spec.get(direction.lower())
    if types is None:
        # Kubernetes implies Ingress when policyTypes is absent, but Egress only alongside egress rules.
        if direction != "Ingress":
            return False
    elif direction not in types:
        return False
    return rules is None or (isinstance(rules, YSeq) and len(rules) == 0)


def _allows_dns(pol: K8sObject) -> bool:
    spec = pol.spec
    if spec is None:
        return False
    types = _types(spec)
    rules = spec.get("egress")
    if not isinstance(rules, YSeq) or (types is not None and "Egress" not in types):
        return False
    for rule in rules:
        if not isinstance(rule, YMap):
            continue
        ports = rule.get("ports")
        if not ports and not rule.get("to"):
            return True  # no ports and no peers: all egress, DNS included
        if isinstance(ports, YSeq) and any(_is_dns(p) for p in ports):
            return True
    return False


def _is_dns(port: Any) -> bool:
    if not isinstance(port, YMap):
        return False
    protocol = port.get("protocol", "TCP")
    if protocol not in DNS_PROTOCOLS:
        return False
    number = port.get("port")
    if number is None:
        return True  # every port of the protocol
    if isinstance(number, str):
        return number in DNS_PORT_NAMES
    if not is_int(number):
        return False
    end = port.get("endPort")
    return number == 53 or (is_int(end) and number <= 53 <= end)
