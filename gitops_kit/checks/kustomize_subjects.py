"""kustomize-subjects: RoleBinding subjects that kustomize's namespace transformer leaves behind.

A kustomization with a top-level ``namespace:`` (kustomize v5: a NamespaceTransformer in its
default ``setRoleBindingSubjects`` mode) moves every object into that namespace, but sets the
namespace of a RoleBinding/ClusterRoleBinding subject only when the subject is named
``default`` or names, by name and original namespace (unset counts as ``default``), a
ServiceAccount of the same build (kustomize's name references). A subject that names one of the
build's ServiceAccounts in another namespace (upstream's ``namespace: argocd`` subjects over
ServiceAccounts that have none) keeps its old namespace: the binding then points at a
ServiceAccount that no longer exists there. Checked with kubectl 1.32 (kustomize v5.5).

Not reported: a NamespaceTransformer with ``setRoleBindingSubjects: allServiceAccounts`` (it moves
every ServiceAccount subject), and subjects naming a ServiceAccount that the build does not
define (a ServiceAccount of another namespace, on purpose). Remote resources are read from the
``substitutes`` parameter (URL -> repository file); without one it is not read and nothing is
said about it.
"""

from __future__ import annotations

from typing import Any, Iterator

from .. import yamlio
from ..findings import Hit
from ..model import K8sObject, RepoModel
from ..yamlio import YMap, YSeq
from . import _kustomize as k

BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    substitutes = {str(url).strip(): k.resolve(k.Entry("", "", str(path), (1, 1)))
                   for url, path in (params.get("substitutes") or {}).items()}
    objects = k.objects_by_path(model)
    for directory, (kpath, data) in sorted(k.by_dir(model).items()):
        target = _target(model, kpath, data)
        if target is None:
            continue
        namespace, pos = target
        found = k.tree(model, directory)
        if found is None:
            continue
        pool = list(found.objects)
        for entry in found.remotes:
            # A remote resource is read only through a substitute: without one nothing is said,
            # since most remotes hold no RBAC and an info line on each would bury the findings
            # (kustomize-build, when enabled, names every remote it could not build).
            local = substitutes.get(entry.ref)
            if local is not None and local in model.files:
                pool.extend(objects.get(local, ()))
        yield from _subjects(model, kpath, pos, namespace, pool)


def _target(model: RepoModel, kpath: str, data: YMap) -> tuple[str, tuple[int, int]] | None:
    """(namespace, position) a kustomization moves objects to without moving all subjects, or None."""
    transformers = list(_namespace_transformers(model, kpath, data))
    if any(mode == "allServiceAccounts" for _ns, mode in transformers):
        return None
    value = data.get("namespace")
    if isinstance(value, str) and value.strip():
        return value.strip(), data.value_pos("namespace")
    for namespace, _mode in transformers:
        if namespace:
            return namespace, data.key_pos("transformers")
    return None


def _namespace_transformers(model: RepoModel, kpath: str, data: YMap) -> Iterator[tuple[str | None, Any]]:
    """(namespace, setRoleBindingSubjects) of each builtin NamespaceTransformer of a kustomization."""
    seq = data.get("transformers")
    if not isinstance(seq, YSeq):
        return
    for item in seq:
        docs: list[Any] = []
        if isinstance(item, YMap):
            docs.append(item)
        elif isinstance(item, str) and "\n" in item:
            docs.extend(d.data for d in yamlio.load_text(item).documents)
        elif isinstance(item, str):
            local = k.resolve(k.Entry(kpath, "transformers", item.strip(), (1, 1)))
            sf = model.files.get(local)
            if sf is not None:
                docs.extend(d.data for d in sf.documents)
        for doc in docs:
            if isinstance(doc, YMap) and doc.get("kind") == "NamespaceTransformer":
                meta = doc.get("metadata")
                ns = meta.get("namespace") if isinstance(meta, YMap) else None
                yield (ns if isinstance(ns, str) else None), doc.get("setRoleBindingSubjects")


def _subjects(model: RepoModel, kpath: str, kpos: tuple[int, int], namespace: str,
              pool: list[K8sObject]) -> Iterator[Hit]:
    accounts: dict[str, set[str]] = {}  # ServiceAccount name -> its namespaces before the transform
    for obj in pool:
        if obj.kind == "ServiceAccount" and obj.api_version == "v1" and obj.name:
            accounts.setdefault(obj.name, set()).add(obj.namespace or "default")
    if not accounts:
        return
    for obj in pool:
        if obj.kind not in BINDINGS or obj.group != "rbac.authorization.k8s.io":
            continue
        subjects = obj.data.get("subjects")
        if not isinstance(subjects, YSeq):
            continue
        for i, subject in enumerate(subjects):
            if not isinstance(subject, YMap) or subject.get("kind") != "ServiceAccount":
                continue
            name, ns = subject.get("name"), subject.get("namespace")
            if not isinstance(name, str) or not isinstance(ns, str) or name == "default" or ns == namespace:
                continue  # unset namespaces and "default" subjects are set by kustomize
            origins = accounts.get(name)
            if not origins or ns in origins:
                continue  # not a ServiceAccount of this build, or one kustomize follows by reference
            yield Hit(obj.path, subject.value_pos("namespace"),
                      f"{obj.kind} {obj.name!r}: subject ServiceAccount {name!r} stays in namespace {ns!r}, while "
                      f"{kpath} moves ServiceAccount {name!r} to {namespace!r} (kustomize's namespace transformer "
                      "sets only subjects named 'default' or matching a ServiceAccount's original namespace): the "
                      "binding names a ServiceAccount that does not exist and the workload gets no rights; use a "
                      "NamespaceTransformer with setRoleBindingSubjects: allServiceAccounts",
                      key=f"{kpath}:{obj.identity()}:subjects[{i}]", related=((kpath, kpos),))
