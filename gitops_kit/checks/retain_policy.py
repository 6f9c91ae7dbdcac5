"""retain-policy: stateful resources whose deletion (a prune after a partial render) destroys data.

Objects: mariadb-operator ``Database``/``User``/``Grant`` with ``cleanupPolicy: Delete`` or unset
(the operator's default is Delete); CloudNativePG ``Database`` with ``databaseReclaimPolicy:
delete``; a StatefulSet whose ``persistentVolumeClaimRetentionPolicy.whenDeleted`` is Delete; a
PersistentVolume with ``persistentVolumeReclaimPolicy: Delete``; a StorageClass for stateful data
whose ``reclaimPolicy`` is Delete or unset. Also values files and inline Helm values that pass a
deleting policy to a chart, and kustomize patches (read line by line) that set one.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..findings import Hit, show
from ..model import K8sObject, RepoModel
from ..model.values import inline_values
from ..yamlio import YMap, YSeq
from . import _secrets as s

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 23

MARIADB_GROUP = "k8s.mariadb.com"
MARIADB_KINDS = {"Database": "database", "User": "user", "Grant": "grant"}
CNPG_GROUP = "postgresql.cnpg.io"

# Fields of the Kubernetes and operator APIs that take a deleting value, with the safe value.
FIELDS: dict[str, tuple[str, str]] = {
    "cleanupPolicy": ("Delete", "Skip"),
    "databaseReclaimPolicy": ("delete", "retain"),
    "whenDeleted": ("Delete", "Retain"),
    "persistentVolumeReclaimPolicy": ("Delete", "Retain"),
    "reclaimPolicy": ("Delete", "Retain"),
}
_FIELD_VALUE = re.compile(
    r"""(?<![\w.\-/])["']?(?P<field>cleanupPolicy|databaseReclaimPolicy|whenDeleted|persistentVolumeReclaimPolicy|"""
    r"""reclaimPolicy)["']?[ \t]*:[ \t]*["']?(?P<value>[A-Za-z]+)["']?(?![\w\-])""")
_OP = re.compile(r"""(?<![\w\-])["']?op["']?[ \t]*:""")
_OP_PATH = re.compile(r"""(?<![\w\-])["']?path["']?[ \t]*:[ \t]*["']?(?P<path>/[^\s"',}]*)""")
_OP_VALUE = re.compile(r"""(?<![\w\-])["']?value["']?[ \t]*:[ \t]*["']?(?P<value>[A-Za-z]+)["']?(?![\w\-])""")
_NAME = re.compile(r"""^[ \t]*["']?name["']?[ \t]*:[ \t]*["']?(?P<name>[A-Za-z0-9.\-]+)""", re.MULTILINE)


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    storage_classes = {str(n) for n in params.get("storage_classes") or ()}
    values_keys = {str(k): {str(v) for v in (vals if isinstance(vals, list) else [vals])}
                   for k, vals in (params.get("values_keys") or {}).items()}
    kustomizations = _kustomizations(model)
    # every finding stands in the file it is about: a focused run looks at those files only
    for obj in model.objects:
        if model.relevant(obj.path):
            yield from _object(obj, obj.patch, storage_classes)  # a kustomize patch is partial by design
    helm_prefix = model.config.helm_dir + "/"
    kustomization_docs = {id(data) for _, data in kustomizations}
    deleting_values = {v for vals in values_keys.values() for v in vals}
    for path, sf in model.files.items():
        if not path.startswith(helm_prefix) or not model.relevant(path):
            continue
        text = sf.text or ""
        if "\\" not in text and not any(v in text for v in deleting_values):
            continue  # no deleting value anywhere in the file (escapes are the one way to hide one)
        for doc in sf.documents:
            data = doc.data
            if id(data) in kustomization_docs:
                continue  # judged below: patches and helmCharts[].valuesInline
            if isinstance(data, YMap) and isinstance(data.get("kind"), str) and isinstance(data.get("apiVersion"), str):
                continue  # an object, judged above
            if isinstance(data, (YMap, YSeq)):
                yield from _values(path, data, values_keys, "values", f"{path}#{doc.index}")
    lines_of: dict[str, s.SourceLines] = {}
    for path, data in kustomizations:
        if not model.relevant(path):
            continue
        lines = lines_of.setdefault(path, s.SourceLines(model.files[path].text))
        yield from _kustomization_patches(path, data, lines, storage_classes)
        charts = data.get("helmCharts")
        for i, chart in enumerate(charts if isinstance(charts, YSeq) else []):
            if isinstance(chart, YMap) and isinstance(chart.get("valuesInline"), (YMap, YSeq)):
                yield from _values(path, chart["valuesInline"], values_keys, f"helmCharts[{i}].valuesInline",
                                   f"{path}:helmCharts[{i}]")
    for app in model.applications:
        if not model.relevant(app.path):
            continue
        lines = lines_of.setdefault(app.path, s.SourceLines(app.obj.file.text))
        yield from _application(app.path, app.name, app.sources, lines, values_keys, storage_classes)


# --- objects -------------------------------------------------------------------------------------

def _name(obj: K8sObject) -> str:
    return repr(obj.name) if obj.name else "(unnamed)"


def _object(obj: K8sObject, partial: bool, storage_classes: set[str]) -> Iterator[Hit]:
    data, kind, group = obj.data, obj.kind, obj.group
    ident = obj.identity()
    spec = data.get("spec")
    if group == MARIADB_GROUP and kind in MARIADB_KINDS:
        what = MARIADB_KINDS[kind]
        if "spec" in data and not isinstance(spec, YMap) and spec is not None:
            return  # a spec that is a list or a string: the schema rule's business
        if isinstance(spec, YMap) and "cleanupPolicy" in spec:
            value = spec["cleanupPolicy"]
            if value == "Delete":
                yield Hit(obj.path, spec.value_pos("cleanupPolicy"),
                          f"{kind} {_name(obj)} ({group}) has cleanupPolicy: Delete: when it is pruned or deleted, "
                          f"mariadb-operator drops the real {what} in MariaDB; set cleanupPolicy: Skip",
                          key=f"{ident}:cleanupPolicy")
            elif value is None and not partial:
                yield Hit(obj.path, spec.value_pos("cleanupPolicy"),
                          f"{kind} {_name(obj)} ({group}) has cleanupPolicy: null, so mariadb-operator uses its "
                          f"default, Delete, and drops the real {what} when the object is pruned; set "
                          "cleanupPolicy: Skip", key=f"{ident}:cleanupPolicy")
            return
        if partial:
            return  # a patch file only carries the fields it changes
        pos = data.key_pos("spec") if "spec" in data else data.key_pos("kind")
        yield Hit(obj.path, pos, f"{kind} {_name(obj)} ({group}) sets no spec.cleanupPolicy, so mariadb-operator "
                  f"uses its default, Delete, and drops the real {what} in MariaDB when the object is pruned; set "
                  "cleanupPolicy: Skip", key=f"{ident}:cleanupPolicy")
        return
    if group == CNPG_GROUP and kind == "Database":
        yield from _explicit(obj, spec, ("databaseReclaimPolicy",), "the PostgreSQL database is dropped",
                             "databaseReclaimPolicy: retain (the default)")
        return
    if group == "apps" and kind == "StatefulSet":
        policy = spec.get("persistentVolumeClaimRetentionPolicy") if isinstance(spec, YMap) else None
        yield from _explicit(obj, policy, ("whenDeleted",), "its PersistentVolumeClaims and their data are deleted",
                             "whenDeleted: Retain", "spec.persistentVolumeClaimRetentionPolicy.")
        return
    if group == "" and kind == "PersistentVolume":
        yield from _explicit(obj, spec, ("persistentVolumeReclaimPolicy",),
                             "releasing its claim deletes the volume and its data",
                             "persistentVolumeReclaimPolicy: Retain")
        return
    if group == "storage.k8s.io" and kind == "StorageClass":
        if storage_classes and obj.name not in storage_classes:
            return
        if "reclaimPolicy" in data and data["reclaimPolicy"] is not None:
            yield from _explicit(obj, data, ("reclaimPolicy",), "volumes it provisions are deleted with their claims",
                                 "reclaimPolicy: Retain")
        elif not partial:
            yield Hit(obj.path, data.key_pos("reclaimPolicy") if "reclaimPolicy" in data else data.key_pos("kind"),
                      f"StorageClass {_name(obj)} sets no reclaimPolicy, so Kubernetes uses Delete: volumes it "
                      "provisions are deleted with their claims; set reclaimPolicy: Retain",
                      key=f"{ident}:reclaimPolicy")


def _explicit(obj: K8sObject, holder: Any, fields: tuple[str, ...], effect: str, fix: str,
              prefix: str = "spec.") -> Iterator[Hit]:
    if not isinstance(holder, YMap):
        return
    if holder is obj.data:
        prefix = ""
    for field in fields:
        deleting, _safe = FIELDS[field]
        if holder.get(field) == deleting:
            yield Hit(obj.path, holder.value_pos(field),
                      f"{obj.kind} {_name(obj)} has {prefix}{field}: {deleting}: when it is pruned or deleted, "
                      f"{effect}; set {fix}", key=f"{obj.identity()}:{field}")


# --- values ---------------------------------------------------------------------------------------

def _values(path: str, root: Any, keys: dict[str, set[str]], where: str, ident: str) -> Iterator[Hit]:
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, dotted = stack.pop()
        if isinstance(node, YMap):
            for key, value in node.items():
                sub = f"{dotted}.{key}" if dotted else str(key)
                if isinstance(value, str) and key in keys and value in keys[key]:
                    safe = FIELDS.get(str(key), ("", "a retaining value"))[1]
                    yield Hit(path, node.value_pos(key),
                              f"{where}: {sub} is {show(value)}: the chart passes it to the resource, and a prune "
                              f"then deletes the data; set {key}: {safe}", key=f"{ident}:{sub}")
                elif isinstance(value, (YMap, YSeq)):
                    stack.append((value, sub))
        elif isinstance(node, YSeq):
            for i, value in enumerate(node):
                if isinstance(value, (YMap, YSeq)):
                    stack.append((value, f"{dotted}[{i}]"))


def _values_text(path: str, text: str, pos: tuple[int, int], lines: s.SourceLines, keys: dict[str, set[str]],
                 where: str, ident: str) -> Iterator[Hit]:
    for entry in s.scan_lines(text):
        if entry.value is not None and entry.key in keys and entry.value in keys[entry.key]:
            safe = FIELDS.get(entry.key, ("", "a retaining value"))[1]
            dotted = ".".join(entry.path)
            yield Hit(path, s.block_line(lines, pos, entry.line, entry.value),
                      f"{where}: {dotted} is {show(entry.value)}: the chart passes it to the resource, and a prune "
                      f"then deletes the data; set {entry.key}: {safe}", key=f"{ident}:{where}:{dotted}")


def _application(path: str, name: str, sources: list, lines: s.SourceLines, keys: dict[str, set[str]],
                 storage_classes: set[str]) -> Iterator[Hit]:
    for src in sources:
        where = f"Application {name!r} " + ("source" if src.index < 0 else f"sources[{src.index}]")
        inline = inline_values(src)
        if inline is not None:
            if inline.text is not None:
                yield from _values_text(path, inline.text, inline.text_pos, lines, keys,
                                        f"{where}.helm.values", f"{path}:{name}")
            if inline.obj is not None:
                yield from _values(path, inline.obj, keys, f"{where}.helm.valuesObject", f"{path}:{name}")
            for i, param in enumerate(inline.parameters):
                if not isinstance(param, YMap) or not isinstance(param.get("name"), str):
                    continue
                field, value = param["name"].rsplit(".", 1)[-1], param.get("value")
                if isinstance(value, str) and field in keys and value in keys[field]:
                    yield Hit(path, param.value_pos("value"),
                              f"{where}.helm.parameters[{i}]: {param['name']} is {show(value)}: the chart passes it "
                              f"to the resource, and a prune then deletes the data; set {field}: "
                              f"{FIELDS.get(field, ('', 'a retaining value'))[1]}",
                              key=f"{path}:{name}:{where}:parameters:{param['name']}")
        kustomize = src.get("kustomize")
        patches = kustomize.get("patches") if isinstance(kustomize, YMap) else None
        if isinstance(patches, YSeq):
            yield from _patch_list(path, patches, lines, storage_classes, f"{where}.kustomize.patches")


# --- kustomize patches ------------------------------------------------------------------------------

def _kustomizations(model: RepoModel) -> list[tuple[str, YMap]]:
    return model.kustomizations()


def _kustomization_patches(path: str, data: YMap, lines: s.SourceLines, storage_classes: set[str]) -> Iterator[Hit]:
    for field in ("patches", "patchesJson6902"):
        patches = data.get(field)
        if isinstance(patches, YSeq):
            yield from _patch_list(path, patches, lines, storage_classes, field)
    merges = data.get("patchesStrategicMerge")
    if isinstance(merges, YSeq):
        for i, item in enumerate(merges):
            if isinstance(item, str) and "\n" in item:
                yield from _patch_text(path, item, merges.item_pos(i), lines, None, storage_classes,
                                       f"patchesStrategicMerge[{i}]")


def _patch_list(path: str, patches: YSeq, lines: s.SourceLines, storage_classes: set[str],
                where: str) -> Iterator[Hit]:
    for i, patch in enumerate(patches):
        if isinstance(patch, YMap) and isinstance(patch.get("patch"), str):
            target = patch.get("target")
            yield from _patch_text(path, patch["patch"], patch.value_pos("patch"), lines,
                                   target if isinstance(target, YMap) else None, storage_classes, f"{where}[{i}].patch")


def _patch_text(path: str, text: str, pos: tuple[int, int], lines: s.SourceLines, target: YMap | None,
                storage_classes: set[str], where: str) -> Iterator[Hit]:
    seen: set[int] = set()
    judged: dict[str, bool] = {}  # field -> _storage_class_ok, the same for every match in this text

    def storage_class_ok(field: str) -> bool:
        # once per field: it reads the whole text, and a patch may hold thousands of matches
        if field not in judged:
            judged[field] = _storage_class_ok(field, text, target, storage_classes)
        return judged[field]

    for m in _FIELD_VALUE.finditer(text):
        field, value = m.group("field"), m.group("value")
        if value != FIELDS[field][0] or not storage_class_ok(field):
            continue
        seen.add(m.start("value"))
        yield _patch_hit(path, text, pos, lines, m.start("field"), field, value, where, len(seen))
    # JSON 6902 operations ({op, path, value} in any order, YAML or JSON): split at each "op".
    starts = [m.start() for m in _OP.finditer(text)]
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        op_path = _OP_PATH.search(text, start, end)
        found = _OP_VALUE.search(text, start, end)
        if op_path is None or found is None:
            continue
        field = op_path.group("path").rstrip("/").rsplit("/", 1)[-1]
        if field not in FIELDS or found.group("value") != FIELDS[field][0] or found.start("value") in seen:
            continue
        if not storage_class_ok(field):
            continue
        seen.add(found.start("value"))
        yield _patch_hit(path, text, pos, lines, found.start(), field, found.group("value"), where, len(seen))


def _storage_class_ok(field: str, text: str, target: YMap | None, storage_classes: set[str]) -> bool:
    """Whether a reclaimPolicy in a patch concerns a StorageClass this rule watches."""
    if field != "reclaimPolicy" or not storage_classes:
        return True
    names = set()
    if target is not None and isinstance(target.get("name"), str):
        names.add(target["name"])
    names.update(m.group("name") for m in _NAME.finditer(text))
    return not names or bool(names & storage_classes)


def _patch_hit(path: str, text: str, pos: tuple[int, int], lines: s.SourceLines, offset: int, field: str,
               value: str, where: str, nth: int) -> Hit:
    return Hit(path, s.string_pos(lines, pos, text, offset),
               f"{where}: the patch sets {field}: {value}, so pruning or deleting the patched resource deletes its "
               f"data; patch it to {FIELDS[field][1]} instead", key=f"{path}:{where}:{field}#{nth}")


def _seq(value: Any) -> list:
    return list(value) if isinstance(value, YSeq) else []
