"""Upgrade risks of one affected Application, each a :class:`~.analysis.Risk` with object and field.

| rule | severity | fires when |
|---|---|---|
| ``immutable-field`` | error | a StatefulSet field other than ``replicas``, ``ordinals``, ``template``, ``updateStrategy``, ``persistentVolumeClaimRetentionPolicy``, ``minReadySeconds`` changes (``volumeClaimTemplates``, ``selector``, ``serviceName``, ``podManagementPolicy``...), a Deployment/DaemonSet/ReplicaSet ``selector``, a PersistentVolumeClaim's spec other than its storage request, a Service's ``clusterIP``: the API server refuses the update, the sync fails |
| ``stateful-removed`` | error | a PersistentVolumeClaim, PersistentVolume, StatefulSet or stateful custom resource (CNPG ``Cluster``/``Database``, mariadb-operator ``MariaDB``/``Database``/``User``/``Grant``) is in the base render and not in the head's: ArgoCD prunes it |
| ``retain-dropped`` | error | a retain policy goes: ``helm.sh/resource-policy: keep``, ``Prune=false``/``Delete=false`` sync options, or a field of :data:`gitops_kit.checks.retain_policy.FIELDS` moving to its deleting value |
| ``crd-changed`` | warning | a file in the chart's ``crds/`` differs between the two versions: Helm installs ``crds/`` once and never upgrades them |
| ``api-version-moved`` | warning | a custom resource's ``apiVersion`` changes |
| ``values-unread`` | warning | a values key the repository sets that the base chart read and the new chart ignores (chart-values' reading: its ``values.yaml`` and template identifiers) |
| ``values-schema`` | error | the new chart's ``values.schema.json`` rejects the repository's values |
| ``image-changed`` | info | a container's image, old -> new |
| ``render`` | warning | a side could not be rendered completely: the diff is partial |
"""

from __future__ import annotations

import io
import tarfile
from typing import Any

from ..model import Application, RepoModel
from ..update import STATEFUL_KINDS, shown
from .analysis import AppResult, Risk
from .objdiff import Key, field_diff, key_label, path_text, under

STS_MUTABLE = {"replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
               "minReadySeconds"}
SELECTOR_KINDS = {("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "ReplicaSet")}
BUILTIN_GROUPS = {"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io",
                  "storage.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io", "scheduling.k8s.io",
                  "coordination.k8s.io", "discovery.k8s.io", "certificates.k8s.io", "node.k8s.io",
                  "apiregistration.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io", "resource.k8s.io"}
KEEP = ("helm.sh/resource-policy", "keep")
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
_KEEPING_OPTIONS = ("Prune=false", "Delete=false")
DELETING_WHEN_ABSENT = {"cleanupPolicy", "reclaimPolicy"}  # the operator's / Kubernetes' default deletes
_MAX_MEMBER = 8 * 1024 * 1024


def find(result: AppResult, base: RepoModel, head: RepoModel, old_app: Application | None,
         new_app: Application | None, old: dict[Key, dict], new: dict[Key, dict],
         random: dict[Key, list[tuple]], loaded: dict[Any, Any]) -> list[Risk]:
    app = result.name
    out: list[Risk] = []
    for problem in result.problems:
        out.append(Risk("render", "warning", app, f"render diff incomplete: {problem}"
                        + ("; or run check-update with --fetch (it pulls both sides)" if "charts pull" in problem
                           else "")))
    for key, before in old.items():
        after = new.get(key)
        label = key_label(key)
        if after is None:
            if (key[0], key[1]) in STATEFUL_KINDS:
                out.append(Risk("stateful-removed", "error", app, f"{label} is removed: ArgoCD prunes it and the "
                                "data it holds may be deleted", label))
            continue
        skip = random.get(key, [])
        out += _immutable(app, key, label, before, after, skip)
        if (key[0], key[1]) in STATEFUL_KINDS or key[1] == "StorageClass":
            out += _retain(app, label, before, after)
        if key[0] not in BUILTIN_GROUPS and key[1] != "CustomResourceDefinition" and \
                before.get("apiVersion") != after.get("apiVersion"):
            out.append(Risk("api-version-moved", "warning", app, f"{label} moves from apiVersion "
                            f"{shown(before.get('apiVersion'))} to {shown(after.get('apiVersion'))}: the CRD must "
                            "serve the new version before the sync (and the old one until objects are migrated)",
                            label, "apiVersion"))
        out += _images(app, label, before, after)
    if old_app is not None and new_app is not None:
        out += _crds(app, base, head, old_app, new_app)
        out += _values(app, base, head, old_app, new_app, loaded)
    return out


def _immutable(app: str, key: Key, label: str, before: dict, after: dict, skip: list[tuple]) -> list[Risk]:
    a, b = before.get("spec"), after.get("spec")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return []
    group, kind = key[0], key[1]
    if (group, kind) == ("apps", "StatefulSet"):
        fields = [k for k in list(a) + [k for k in b if k not in a] if k not in STS_MUTABLE]
        why = "Kubernetes forbids updates to StatefulSet spec fields other than replicas, ordinals, template, " \
              "updateStrategy, persistentVolumeClaimRetentionPolicy and minReadySeconds: the sync fails " \
              "(delete the StatefulSet with --cascade=orphan, then sync)"
    elif (group, kind) in SELECTOR_KINDS:
        fields = ["selector"]
        why = f"a {kind}'s selector is immutable: the sync fails (the {kind} must be recreated)"
    elif (group, kind) == ("", "PersistentVolumeClaim"):
        fields = [k for k in list(a) + [k for k in b if k not in a] if k not in ("resources",
                                                                                 "volumeAttributesClassName")]
        why = "a PersistentVolumeClaim's spec is immutable after creation (except its storage request): the " \
              "sync fails"
    elif (group, kind) == ("", "Service"):
        fields = ["clusterIP"] if a.get("clusterIP") and b.get("clusterIP") else []
        why = "a Service's clusterIP is immutable: the sync fails"
    else:
        return []
    out = []
    for name in fields:
        changes = [c for c in field_diff(a.get(name), b.get(name), ("spec", name)) if not under(c.path, skip)]
        if not changes:
            continue
        first = path_text(changes[0].path)
        more = f" (and {len(changes) - 1} more field(s) below spec.{name})" if len(changes) > 1 else ""
        out.append(Risk("immutable-field", "error", app, f"{label}: {first} changes{more}; {why}", label, first))
    return out


def _retain(app: str, label: str, before: dict, after: dict) -> list[Risk]:
    from ..checks.retain_policy import FIELDS

    out = []
    old_notes = _annotations(before)
    new_notes = _annotations(after)
    if old_notes.get(KEEP[0]) == KEEP[1] and new_notes.get(KEEP[0]) != KEEP[1]:
        out.append(Risk("retain-dropped", "error", app, f"{label} loses the annotation {KEEP[0]}: {KEEP[1]}: "
                        "Helm and ArgoCD may now delete it", label, f"metadata.annotations[{KEEP[0]}]"))
    for option in _KEEPING_OPTIONS:
        if option in str(old_notes.get(SYNC_OPTIONS, "")) and option not in str(new_notes.get(SYNC_OPTIONS, "")):
            out.append(Risk("retain-dropped", "error", app, f"{label} loses the sync option {option}: ArgoCD may "
                            "now delete it", label, f"metadata.annotations[{SYNC_OPTIONS}]"))
    olds, news = _policy_fields(before.get("spec"), FIELDS), _policy_fields(after.get("spec"), FIELDS)
    for path in list(olds) + [p for p in news if p not in olds]:
        name = path[-1]
        deleting = FIELDS[name][0].lower()

        def deletes(value: Any, _name: str = name, _deleting: str = deleting) -> bool:
            return (value is None and _name in DELETING_WHEN_ABSENT) or str(value).lower() == _deleting

        was, now = olds.get(path), news.get(path)
        if not deletes(was) and deletes(now):
            where = path_text(("spec", *path))
            out.append(Risk("retain-dropped", "error", app, f"{label}: {where} goes from {shown(was or 'unset')} to "
                            f"{shown(now or 'unset')} (deletes the data when the object is deleted; keep "
                            f"{FIELDS[name][1]})", label, where))
    return out


def _policy_fields(spec: Any, names: dict) -> dict[tuple, Any]:
    out: dict[tuple, Any] = {}

    def walk(node: Any, path: tuple) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in names and not isinstance(v, (dict, list)):
                    out[(*path, k)] = v
                else:
                    walk(v, (*path, k))

    walk(spec, ())
    return out


def _annotations(data: dict) -> dict:
    meta = data.get("metadata")
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    return notes if isinstance(notes, dict) else {}


def _pod_spec(data: dict) -> dict | None:
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return None
    if data.get("kind") == "Pod":
        return spec
    if isinstance(spec.get("jobTemplate"), dict):
        spec = spec["jobTemplate"].get("spec") or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    return pod if isinstance(pod, dict) else None


def containers(data: dict) -> dict[str, str]:
    """container name -> image of a workload (init containers prefixed ``init:``)."""
    pod = _pod_spec(data) or {}
    out = {}
    for section, prefix in (("initContainers", "init:"), ("containers", "")):
        for c in pod.get(section) or ():
            if isinstance(c, dict) and isinstance(c.get("image"), str):
                out[prefix + str(c.get("name") or "?")] = c["image"]
    return out


def _images(app: str, label: str, before: dict, after: dict) -> list[Risk]:
    a, b = containers(before), containers(after)
    out = []
    for name in list(b):
        if name in a and a[name] != b[name]:
            out.append(Risk("image-changed", "info", app, f"container {shown(name)}: {shown(a[name])} -> "
                            f"{shown(b[name])}", label, f"containers[{name}].image"))
    return out


# --- the charts: crds/ and values ------------------------------------------------------------------

def _pairs(base: RepoModel, head: RepoModel, old_app: Application, new_app: Application) -> list[tuple[Any, Any]]:
    """(old ref, new ref) of every chart whose version changed between the two sides."""
    from ..charts import chart_refs

    olds = {(r.repo_url, r.chart): r for _, r in chart_refs(base, old_app)}
    out = []
    for _src, ref in chart_refs(head, new_app):
        before = olds.get((ref.repo_url, ref.chart))
        if before is not None and before.version != ref.version:
            out.append((before, ref))
    return out


_MAX_READ = 64 * 1024 * 1024


def crd_files(path: Any) -> dict[str, bytes]:
    """``crds/`` files of a chart archive and of the subcharts it contains (folders and archives)."""
    out: dict[str, bytes] = {}
    budget = [_MAX_READ]  # bytes of members read in all, nested archives included (a gzip bomb stops here)

    def read(archive: tarfile.TarFile, prefix: str, depth: int) -> None:
        for member in archive:
            if not member.isfile() or member.size > _MAX_MEMBER:
                continue
            if member.size > budget[0]:
                return
            budget[0] -= member.size
            parts = member.name.split("/")[1:]
            handle = None
            if "crds" in parts[:-1] and parts.index("crds") in (0, 2) and (parts.index("crds") == 0 or
                                                                          parts[0] == "charts"):
                handle = archive.extractfile(member)
                if handle is not None:
                    out[prefix + "/".join(parts)] = handle.read()
            elif depth == 0 and len(parts) == 2 and parts[0] == "charts" and parts[1].endswith(".tgz"):
                handle = archive.extractfile(member)
                if handle is not None:
                    try:
                        with tarfile.open(fileobj=io.BytesIO(handle.read()), mode="r:gz") as inner:
                            read(inner, f"charts/{parts[1][:-4]}/", 1)
                    except (tarfile.TarError, OSError, EOFError):
                        continue

    try:
        with tarfile.open(path, mode="r:gz") as archive:
            read(archive, "", 0)
    except (tarfile.TarError, OSError, EOFError):
        return {}
    return out


def _crds(app: str, base: RepoModel, head: RepoModel, old_app: Application, new_app: Application) -> list[Risk]:
    from ..charts import ChartError, locate

    out = []
    for before, after in _pairs(base, head, old_app, new_app):
        try:
            a, b = crd_files(locate(before)), crd_files(locate(after))
        except ChartError:
            continue  # not rendered either: the render risk says so
        for name in sorted(set(a) | set(b)):
            if a.get(name) == b.get(name):
                continue
            how = "is new in" if name not in a else "is gone from" if name not in b else "changes in"
            out.append(Risk("crd-changed", "warning", app, f"CRD file {after.chart}/{shown(name)} {how} chart "
                            f"{after.chart} {shown(after.version)} (from {shown(before.version)}): Helm installs "
                            "crds/ once and never upgrades or deletes them; apply the new CRDs before the sync "
                            "(ArgoCD applies them unless helm.skipCrds is set)", f"chart {after.chart}", name))
    return out


def _values(app: str, base: RepoModel, head: RepoModel, old_app: Application, new_app: Application,
            loaded: dict[Any, Any]) -> list[Risk]:
    import importlib.util

    if importlib.util.find_spec("helm_python") is None or not _pairs(base, head, old_app, new_app):
        return []
    before = {_hit_id(h): h for h in _value_hits(base, old_app, loaded)}
    out = []
    for hit in _value_hits(head, new_app, loaded):
        kind, keypath = _hit_id(hit)
        if kind == "schema":
            out.append(Risk("values-schema", "error", app, hit.message, None, keypath, hit.path, hit.pos[0]))
        elif kind == "unread" and (kind, keypath) not in before:
            out.append(Risk("values-unread", "warning", app, f"{hit.message}; the base chart read it: the setting "
                            "no longer does anything", None, keypath, hit.path, hit.pos[0]))
    return out


def _hit_id(hit: Any) -> tuple[str, str]:
    parts = str(hit.key or "").split(":", 2)
    if len(parts) < 3:
        return "", str(hit.key)
    return parts[1], parts[2].rsplit(":", 1)[-1]


def _value_hits(model: RepoModel, app: Application, loaded: dict[Any, Any]) -> list[Any]:
    """chart-values' judgement of every chart ``app`` deploys (reused by import, never duplicated)."""
    from ..checks.chart_values import judge_app

    return list(judge_app(model, app, loaded, 1000))
