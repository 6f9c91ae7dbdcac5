"""Which schema covers an (apiVersion, kind), and its compiled validator, built once per run.

Modules by concern: :mod:`.versions` (the bundled Kubernetes versions), :mod:`.convert` (CRD
schema -> JSON Schema), this module (the sources of schemas, compiled validators, validation and
its messages), :mod:`.targets` (what the schema rules validate).

Three sources, in this order of precedence:

1. CustomResourceDefinitions found in the repository (and, once configured, in ``crds:``): the
   real schema of the user's cluster, converted from ``openAPIV3Schema`` to JSON Schema.
2. gitops-kit's own reduced schemas in ``schemas/crds/`` (ArgoCD, MetalLB, Calico, CloudNativePG,
   mariadb-operator, Traefik, Chart.yaml, kustomization.yaml). They are written in the same
   structural OpenAPI dialect as a CRD's ``openAPIV3Schema`` (plus ``$defs``/``$ref``), so one
   converter gives CRDs and our schemas the same semantics.
3. The strict Kubernetes schemas that kubernetes-validate ships, per Kubernetes minor version.
   Only its data files are used: its per-call API rebuilds a validator per object.

Validation uses jsonschema-rs (chosen by measurement, see benchmarks/schema_validators.py),
imported lazily so that ``gitops-kit --version`` does not pay for it. Compiled validators for
Kubernetes and gitops-kit schemas are cached for the process; CRD validators per run.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import weakref
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .. import data, yamlio
from ..yamlio import YMap, YSeq
from .convert import DEFS_URI, OBJECT_META_REF, convert_structural  # noqa: F401
from .versions import _core_dir, bundled_versions, core_root, parse_minor, resolve_version  # noqa: F401

_plain = partial(yamlio.plain, str_keys=True)  # YMap/YSeq -> JSON-like data

if TYPE_CHECKING:  # pragma: no cover
    from ..model import K8sObject, RepoModel

Pos = tuple[int, int]

OUR_BASE = "https://schemas.gitops-kit.invalid/"
CRD_API_VERSIONS = ("apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1")
# Files validated by name rather than by apiVersion/kind (kustomize does not require either).
_MASK = "<value>"


# ----------------------------------------------------------------------------------------------
# the sources of schemas

@dataclass
class Source:
    """A schema that covers some (apiVersion, kind) or file name."""

    label: str  # shown in messages: "Kubernetes 1.31", "gitops-kit", "CRD apps/x/crd.yaml:3"
    schema: dict | None  # JSON Schema 2020-12; None when it could not be built
    error: str | None = None
    origin: str | None = None  # repo-relative path of a CRD that defined it


@lru_cache(maxsize=1)
def _project_files() -> tuple[tuple[str, dict], ...]:
    folder = data.folder("schemas").joinpath("crds")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out.append((entry.name, json.loads(entry.read_text(encoding="utf-8"))))
    return tuple(out)


@lru_cache(maxsize=1)
def project_index() -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """(apiVersion, kind) -> schema file, and file name -> schema file, of gitops-kit's schemas."""
    by_gvk: dict[tuple[str, str], str] = {}
    by_name: dict[str, str] = {}
    for name, raw in _project_files():
        for gvk in raw.get("x-kubernetes-group-version-kind") or []:
            api = f"{gvk['group']}/{gvk['version']}" if gvk.get("group") else gvk["version"]
            by_gvk[(api, gvk["kind"])] = name
        for fname in raw.get("x-gitops-kit-files") or []:
            by_name[fname] = name
    return by_gvk, by_name


@lru_cache(maxsize=None)
def project_schema(name: str) -> dict:
    """One of gitops-kit's schemas, converted to JSON Schema."""
    raw = dict(_project_files())[name]
    is_object = bool(raw.get("x-kubernetes-group-version-kind")) and not raw.get("x-gitops-kit-files")
    return convert_structural(raw, object_root=is_object, schema_id=OUR_BASE + "crds/" + name)


@dataclass
class CRDVersion:
    """One served version of a CustomResourceDefinition found in the repository."""

    api_version: str
    kind: str
    schema: Any  # the raw openAPIV3Schema (YMap/dict) or None
    path: str
    pos: Pos
    served: bool = True


def crd_versions(objects: Iterable["K8sObject"]) -> Iterator[CRDVersion]:
    """Every (apiVersion, kind) that the CustomResourceDefinitions among ``objects`` define."""
    for obj in objects:
        if obj.kind != "CustomResourceDefinition" or obj.api_version not in CRD_API_VERSIONS:
            continue
        spec = obj.spec
        if spec is None:
            continue
        group = spec.get("group")
        names = spec.get("names")
        kind = names.get("kind") if isinstance(names, dict) else None
        if not isinstance(group, str) or not isinstance(kind, str):
            continue
        shared = None
        validation = spec.get("validation")  # v1beta1: one schema for every version
        if isinstance(validation, dict):
            shared = validation.get("openAPIV3Schema")
        versions = spec.get("versions")
        listed = False
        if isinstance(versions, list):
            for v in versions:
                if not isinstance(v, dict) or not isinstance(v.get("name"), str):
                    continue
                listed = True
                sch = v.get("schema")
                raw = sch.get("openAPIV3Schema") if isinstance(sch, dict) else None
                yield CRDVersion(f"{group}/{v['name']}", kind, raw if raw is not None else shared, obj.path, obj.pos,
                                 v.get("served") is not False)
        if not listed and isinstance(spec.get("version"), str):
            yield CRDVersion(f"{group}/{spec['version']}", kind, shared, obj.path, obj.pos)


def to_json(value: Any) -> Any:
    """Plain JSON data from YMap/YSeq/QStr (the validator takes exact builtin types only).
    Non-string keys become their text, as the Kubernetes YAML-to-JSON conversion does."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if isinstance(value, dict):  # the hot path: plain strings are passed through without a call
        return {(k if type(k) is str else _key_text(k)): (v if type(v) is str else to_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) is str else to_json(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        # .nan/.inf have no JSON form; a string is a type error where numbers belong
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (bool, int)):
        return value
    return str(value)


def _key_text(key: Any) -> str:
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    return str(key)




# ----------------------------------------------------------------------------------------------
# compiled validators

class _Core:
    """One Kubernetes version's strict schemas: a $ref registry built once, validators on demand."""

    def __init__(self, version: str, folder: Path) -> None:
        self.version = version
        self.folder = folder
        self._registry: Any = None
        self._defs: dict | None = None
        self._found: dict[tuple[str, str], dict | None] = {}

    @property
    def defs(self) -> dict:
        if self._defs is None:
            self._defs = json.loads((self.folder / "_definitions.json").read_text(encoding="utf-8"))
        return self._defs

    @property
    def registry(self) -> Any:
        if self._registry is None:
            import jsonschema_rs

            self._registry = jsonschema_rs.Registry([(DEFS_URI, self.defs)])
        return self._registry

    def schema(self, api_version: str, kind: str) -> dict | None:
        """The strict schema of (apiVersion, kind), or None. The file name is derived the way
        kubernetes-validate does; the group-version-kind inside is checked, so a CRD group
        that shares a first label with a core group (apps.example.com) is not mistaken for it."""
        key = (api_version, kind)
        if key in self._found:
            return self._found[key]
        group, _, version = api_version.rpartition("/")
        prefix = group.split(".", 1)[0]
        fname = f"{kind.lower()}-{prefix}-{version}.json" if group else f"{kind.lower()}-{version}.json"
        result = None
        if re.fullmatch(r"[a-z0-9.-]+\.json", fname):
            path = self.folder / fname
            if path.is_file():
                raw = json.loads(path.read_text(encoding="utf-8"))
                for gvk in raw.get("x-kubernetes-group-version-kind") or []:
                    if gvk.get("group", "") == group and gvk.get("version") == version and gvk.get("kind") == kind:
                        result = raw
                        break
        self._found[key] = result
        return result


@lru_cache(maxsize=None)
def _core(version: str) -> _Core | None:
    folder = _core_dir(version)
    return _Core(version, folder) if folder is not None else None


def _compile(schema: dict, registry: Any) -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema, registry=registry, mask=_MASK)


_PROJECT_VALIDATORS: dict[tuple[str, str], Any] = {}
_CORE_VALIDATORS: dict[tuple[str, str, str], Any] = {}


@dataclass
class Problem:
    """One schema violation, placed at the most specific node."""

    path: str  # rendered key path ("spec.ports[0].port")
    pos: Pos
    message: str
    key: str  # for fingerprints: the path and the kind of violation


@dataclass
class SchemaSet:
    """The schemas of one run: the configured Kubernetes version plus the repository's CRDs."""

    requested: str
    version: str | None
    note: str | None
    crds: dict[tuple[str, str], Source] = field(default_factory=dict)
    _crd_validators: dict[tuple[str, str], Any] = field(default_factory=dict)

    def source(self, api_version: str, kind: str) -> Source | None:
        """What covers (apiVersion, kind), or None."""
        crd = self.crds.get((api_version, kind))
        if crd is not None:
            return crd
        by_gvk, _ = project_index()
        name = by_gvk.get((api_version, kind))
        if name is not None:
            return Source(f"gitops-kit's schema {name}", None)
        core = _core(self.version) if self.version else None
        if core is not None and core.schema(api_version, kind) is not None:
            return Source(f"Kubernetes {self.version}", None)
        return None

    def covers(self, api_version: str, kind: str) -> bool:
        src = self.source(api_version, kind)
        return src is not None and src.error is None

    def file_schema(self, basename: str) -> str | None:
        """gitops-kit's schema for files of this name (Chart.yaml, kustomization.yaml)."""
        return project_index()[1].get(basename)

    def validator(self, api_version: str, kind: str) -> Any:
        """The compiled validator of (apiVersion, kind), or None (not covered, or broken CRD)."""
        key = (api_version, kind)
        crd = self.crds.get(key)
        if crd is not None:
            if crd.error is not None or crd.schema is None:
                return None
            if key not in self._crd_validators:
                try:
                    self._crd_validators[key] = _compile(crd.schema, self._registry())
                except Exception as exc:  # a user's CRD may hold any schema
                    crd.error = f"its schema cannot be compiled ({type(exc).__name__})"
                    self._crd_validators[key] = None
            return self._crd_validators[key]
        name = project_index()[0].get(key)
        if name is not None:
            return self.project_validator(name)
        if self.version is None:
            return None
        core = _core(self.version)
        if core is None:
            return None
        ckey = (self.version, api_version, kind)
        if ckey not in _CORE_VALIDATORS:
            schema = core.schema(api_version, kind)
            _CORE_VALIDATORS[ckey] = _compile(schema, core.registry) if schema is not None else None
        return _CORE_VALIDATORS[ckey]

    def compile(self, schema: dict) -> Any:
        """A validator for a converted schema, resolving ObjectMeta in this run's Kubernetes version."""
        return _compile(schema, self._registry())

    def project_validator(self, name: str) -> Any:
        key = (self.version or "", name)
        if key not in _PROJECT_VALIDATORS:
            _PROJECT_VALIDATORS[key] = _compile(project_schema(name), self._registry())
        return _PROJECT_VALIDATORS[key]

    def _registry(self) -> Any:
        core = _core(self.version) if self.version else None
        if core is not None:
            return core.registry
        import jsonschema_rs

        return jsonschema_rs.Registry([(DEFS_URI, {"$defs": {
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": ["object", "null"]}}})])

    def schema_document(self, uri: str) -> dict | None:
        """The JSON document at ``uri`` (for "did you mean" lookups)."""
        if uri == DEFS_URI:
            core = _core(self.version) if self.version else None
            return core.defs if core is not None else None
        if uri.startswith(OUR_BASE + "crds/"):
            name = uri[len(OUR_BASE + "crds/"):]
            return project_schema(name) if name in dict(_project_files()) else None
        for src in self.crds.values():
            if src.schema is not None and src.schema.get("$id") == uri:
                return src.schema
        if uri.startswith("https://kubernetes.io/api/") and self.version:
            core = _core(self.version)
            if core is not None:
                # core object schemas carry $id https://kubernetes.io/api/<kind>/<group>/<version>
                parts = uri[len("https://kubernetes.io/api/"):].split("/")
                fname = "-".join(parts) + ".json"
                path = core.folder / fname
                if re.fullmatch(r"[a-z0-9.-]+\.json", fname) and path.is_file():
                    return json.loads(path.read_text(encoding="utf-8"))
        return None


def build_set(requested: str, objects: Iterable["K8sObject"]) -> SchemaSet:
    """The schema set of a run: the Kubernetes version to use and the repository's CRDs."""
    version, note = resolve_version(requested)
    sset = SchemaSet(requested, version, note)
    for cv in crd_versions(objects):
        key = (cv.api_version, cv.kind)
        label = f"the CustomResourceDefinition in {cv.path}:{cv.pos[0]}"
        if key in sset.crds and sset.crds[key].error is None:
            continue  # the first definition wins; two CRDs for one kind is the API server's business
        if not cv.served:
            sset.crds[key] = Source(label, None, f"it does not serve {cv.api_version} (served: false)", cv.path)
            continue
        if not isinstance(cv.schema, dict):
            sset.crds[key] = Source(label, None, "it has no openAPIV3Schema", cv.path)
            continue
        sid = f"{OUR_BASE}repo-crd/{cv.api_version}/{cv.kind}"
        try:
            converted = convert_structural(_plain(cv.schema), schema_id=sid)
        except RecursionError:
            # one CRD's schema too deep to convert must not take schema checking away from the others
            sset.crds[key] = Source(label, None, f"its openAPIV3Schema nests {nesting_depth(cv.schema)} levels deep, "
                                    "more than gitops-kit can convert", cv.path)
            continue
        sset.crds[key] = Source(label, converted, None, cv.path)
    return sset


_SETS: dict[int, tuple[Any, SchemaSet]] = {}


def for_model(model: "RepoModel") -> SchemaSet:
    """The model's schema set, built on first use and shared by the schema rules of the run."""
    key = id(model)
    hit = _SETS.get(key)
    if hit is not None and hit[0]() is model:
        return hit[1]
    requested = str(model.config.data.get("kubernetes_version") or "")
    sset = build_set(requested, list(model.objects) + extra_crd_objects(model))
    _SETS[key] = (weakref.ref(model, lambda _r, k=key: _SETS.pop(k, None)), sset)
    return sset


def extra_crd_objects(model: "RepoModel") -> list["K8sObject"]:
    """CRDs listed in config ``crds:`` outside the repository, parsed once by the model."""
    return list(getattr(model, "external_crds", []))


# ----------------------------------------------------------------------------------------------
# running a validator and placing its errors

def validate(sset: SchemaSet, validator: Any, data: Any, pos: Pos) -> list[Problem]:
    """Schema problems of one document, each at the node it is about; never prints values."""
    try:
        doc = to_json(data)
        if validator.is_valid(doc):
            return []
        errors = list(validator.iter_errors(doc))
    except (ValueError, TypeError, RecursionError) as exc:
        # Deeper than Python's stack or the validator's limit (libyaml reads up to 1000 levels):
        # this document is reported, and the others are still validated. The exception's text
        # may quote the document, so it is only searched, never shown.
        if isinstance(exc, RecursionError) or "recursion" in str(exc).lower():
            return [Problem("", pos, f"cannot be validated: it nests mappings and lists {nesting_depth(data)} "
                            "levels deep, more than the validator can follow", "too-deep")]
        return [Problem("", pos, f"cannot be validated ({type(exc).__name__})", "unvalidatable")]
    problems: list[Problem] = []
    unknown: dict[tuple, set[str]] = {}
    for err in errors:
        if err.kind.__class__.__name__ == "AdditionalProperties":
            for name in err.kind.unexpected:
                unknown.setdefault(tuple(err.instance_path), set()).add(name)
    seen: set[tuple] = set()
    for err in errors:
        for problem in _explain(sset, err, data, pos, unknown):
            ident = (problem.pos, problem.key)
            if ident not in seen:
                seen.add(ident)
                problems.append(problem)
    problems.sort(key=lambda p: (p.pos, p.key))
    return problems


def nesting_depth(data: Any) -> int:
    """How many mappings and lists deep ``data`` goes (a scalar is 0); without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _explain(sset: SchemaSet, err: Any, data: Any, root_pos: Pos,
             unknown: dict[tuple, set[str]]) -> Iterator[Problem]:
    kind = err.kind
    kname = kind.__class__.__name__
    ipath = list(err.instance_path)
    where = render_path(ipath)
    prefix = f"{where}: " if where else ""
    node, pos, parent_key_pos = locate(data, ipath, root_pos)
    if kname == "AdditionalProperties":
        allowed = _allowed_properties(sset, err.absolute_keyword_location)
        for name in kind.unexpected:
            sub = ipath + [name]
            kpos = _key_pos(node, name) or pos
            hint = ""
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.75) if allowed else []
            if close:
                hint = f" (did you mean {close[0]!r}?)"
            yield Problem(render_path(sub), kpos, f"{render_path(sub)}: unknown field{hint}",
                          f"{render_path(sub)}:unknown")
        return
    if kname == "Required":
        prop = kind.property
        siblings = unknown.get(tuple(ipath), set())
        if any(difflib.get_close_matches(s, [prop], n=1, cutoff=0.75) for s in siblings):
            return  # the misspelt key is reported as unknown, with this name as the suggestion
        full = render_path(ipath + [prop])
        yield Problem(full, parent_key_pos, f"{full}: required field is missing", f"{full}:required")
        return
    if kname == "OneOfMultipleValid" and node is None:
        return  # null int-or-string: Kubernetes treats it as unset; the schema's oneOf cannot say so
    yield Problem(where, pos, prefix + describe(err, node), f"{where}:{kname}")


def describe(err: Any, node: Any) -> str:
    """What a validation error says is wrong with ``node`` (the value it is about), in words
    that never quote that value: it may be a secret (jsonschema_rs's own messages print it)."""
    kind = err.kind
    kname = kind.__class__.__name__
    if kname == "Type":
        types = [t for t in kind.types if t != "null"] or list(kind.types)
        msg = f"expected {_or(types)}, got {_json_type(node)}"
    elif kname in ("OneOfNotValid", "AnyOf"):
        types = _branch_types(err)
        msg = f"expected {_or(types)}, got {_json_type(node)}" if types else "matches none of the allowed forms"
    elif kname == "Enum":
        options = [o for o in kind.options if o is not None] if isinstance(kind.options, list) else []
        msg = f"must be one of {', '.join(_show(o) for o in options)}" if options else "is not an allowed value"
    elif kname == "Not" and node is None:
        msg = "must not be empty (null)"
    elif kname == "Constant":
        msg = f"must be {_show(kind.expected_value)}"
    elif kname == "Pattern":
        msg = f"does not match the pattern {kind.pattern}"
    elif kname in ("MinLength", "MaxLength"):
        msg = f"must be {'at least' if kname == 'MinLength' else 'at most'} {kind.limit} characters long"
    elif kname in ("MinItems", "MaxItems"):
        msg = f"must have {'at least' if kname == 'MinItems' else 'at most'} {kind.limit} item(s)"
    elif kname in ("MinProperties", "MaxProperties"):
        msg = f"must have {'at least' if kname == 'MinProperties' else 'at most'} {kind.limit} key(s)"
    elif kname in ("Minimum", "Maximum", "ExclusiveMinimum", "ExclusiveMaximum"):
        op = {"Minimum": ">=", "Maximum": "<=", "ExclusiveMinimum": ">", "ExclusiveMaximum": "<"}[kname]
        msg = f"must be {op} {kind.limit}"
    elif kname == "UniqueItems":
        msg = "items must be unique"
    elif kname == "Required":
        msg = f"the required key {kind.property!r} is missing"
    elif kname == "FalseSchema":
        msg = "is not allowed here"
    else:
        msg = f"is invalid ({kname})"
    return msg


_TYPE_WORDS = {"object": "mapping", "array": "list"}


def _or(types: list[str]) -> str:
    types = list(dict.fromkeys(_TYPE_WORDS.get(t, t) for t in types))
    return " or ".join(types) if types else "another type"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value) if value is None or isinstance(value, (bool, int, float)) else str(value)


def _branch_types(err: Any) -> list[str]:
    out: list[str] = []
    try:
        for branch in err.kind.context:
            for sub in branch:
                if sub.kind.__class__.__name__ == "Type":
                    out.extend(t for t in sub.kind.types if t != "null")
    except (AttributeError, TypeError):
        return []
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def _allowed_properties(sset: SchemaSet, location: str) -> list[str]:
    uri, _, pointer = str(location).partition("#")
    doc = sset.schema_document(uri)
    if doc is None:
        return []
    node: Any = doc
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    for part in parts[:-1]:  # the last part is the keyword "additionalProperties"
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return []
    props = node.get("properties") if isinstance(node, dict) else None
    return [p for p in props if isinstance(p, str)] if isinstance(props, dict) else []


def render_path(parts: list) -> str:
    """spec.ports[0].port; keys that are not plain names are quoted."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", str(part)):
            out += ("." if out else "") + str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _find_key(container: dict, name: Any) -> Any:
    if name in container:
        return name
    for k in container:
        if not isinstance(k, str) and _key_text(k) == name:
            return k
    return _MISSING


_MISSING = object()


def _key_pos(node: Any, name: Any) -> Pos | None:
    if isinstance(node, YMap):
        key = _find_key(node, name)
        if key is not _MISSING:
            return node.key_pos(key)
    return None


def locate(data: Any, path: list, root_pos: Pos) -> tuple[Any, Pos, Pos]:
    """(node, position of the node, position of the key that holds it) for a JSON path."""
    node: Any = data
    pos: Pos = getattr(data, "pos", root_pos)
    key_pos: Pos = pos
    for part in path:
        if isinstance(node, YMap):
            key = _find_key(node, part)
            if key is _MISSING:
                break
            key_pos = node.key_pos(key)
            pos = node.value_pos(key)
            node = node[key]
        elif isinstance(node, YSeq) and isinstance(part, int) and 0 <= part < len(node):
            key_pos = pos = node.item_pos(part)
            node = node[part]
        else:
            break
    if isinstance(node, (YMap, YSeq)) and not path:
        pos = node.pos
    return node, pos, key_pos


from .targets import Target, _basename, _join, _targets, kustomize_plugin_files, targets  # noqa: F401
