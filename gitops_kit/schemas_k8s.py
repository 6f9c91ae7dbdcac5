"""Which schema covers an (apiVersion, kind), and its compiled validator, built once per run.

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
import importlib.util
import json
import math
import re
import weakref
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from . import data, yamlio
from .model import KUSTOMIZATION_FILES
from .yamlio import YMap, YSeq

_plain = partial(yamlio.plain, str_keys=True)  # YMap/YSeq -> JSON-like data

if TYPE_CHECKING:  # pragma: no cover
    from .model import K8sObject, RepoModel

Pos = tuple[int, int]

DEFS_URI = "https://kubernetes.io/api/_definitions.json"
OBJECT_META_REF = DEFS_URI + "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
OUR_BASE = "https://schemas.gitops-kit.invalid/"
CRD_API_VERSIONS = ("apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1")
# Files validated by name rather than by apiVersion/kind (kustomize does not require either).
_MASK = "<value>"


# ----------------------------------------------------------------------------------------------
# Kubernetes versions bundled with kubernetes-validate

@lru_cache(maxsize=1)
def core_root() -> Path | None:
    """kubernetes-validate's schema folder, found without importing the package (it imports
    jsonschema and PyYAML at import time)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "kubernetes-json-schema"
        if folder.is_dir():
            return folder
    return None


@lru_cache(maxsize=1)
def bundled_versions() -> tuple[str, ...]:
    """Kubernetes minor versions with strict schemas, oldest first ("1.25", ...)."""
    root = core_root()
    if root is None:
        return ()
    found = []
    for entry in root.iterdir():
        m = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", entry.name)
        if m and entry.is_dir():
            found.append((int(m.group(1)), int(m.group(2))))
    return tuple(f"{a}.{b}" for a, b in sorted(set(found)))


def parse_minor(version: str) -> tuple[int, int] | None:
    """(1, 31) from "1.31", "v1.31" or "1.31.2"; None when it is not a version."""
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", str(version).strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def resolve_version(requested: str) -> tuple[str | None, str | None]:
    """(bundled version to use, a note when it is not the one requested)."""
    versions = bundled_versions()
    if not versions:
        return None, "kubernetes-validate is not installed: core Kubernetes kinds cannot be validated"
    want = parse_minor(requested)
    if want is None:
        return versions[-1], (f"kubernetes_version {requested!r} is not a Kubernetes minor version; "
                              f"validating against {versions[-1]}")
    if f"{want[0]}.{want[1]}" in versions:
        return f"{want[0]}.{want[1]}", None
    nearest = min(versions, key=lambda v: (abs(parse_minor(v)[1] - want[1]) if parse_minor(v)[0] == want[0]
                                            else 1000, v))
    return nearest, (f"no bundled schemas for Kubernetes {want[0]}.{want[1]} (kubernetes-validate has "
                     f"{versions[0]}..{versions[-1]}); validating against the nearest, {nearest}")


def _core_dir(version: str) -> Path | None:
    root = core_root()
    if root is None:
        return None
    for entry in root.iterdir():
        if entry.name.startswith(f"v{version}.") and entry.name.endswith("-local-strict"):
            return entry
    return None


# ----------------------------------------------------------------------------------------------
# structural (CRD openAPIV3Schema) -> JSON Schema 2020-12

_COPY = ("pattern", "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum", "multipleOf",
         "uniqueItems", "minProperties", "maxProperties", "const")


def convert_structural(schema: Any, *, object_root: bool = True, schema_id: str | None = None) -> dict:
    """A CRD's ``openAPIV3Schema`` as a JSON Schema with the API server's semantics.

    - unknown fields are errors (the server prunes them, strict field validation rejects them)
      unless ``x-kubernetes-preserve-unknown-fields`` is set or ``additionalProperties`` says so;
    - ``x-kubernetes-int-or-string`` accepts an integer or a string;
    - null is accepted for optional fields (the server drops nulls of non-nullable fields) and
      rejected for required ones, unless ``nullable: true``;
    - the root accepts apiVersion, kind and a metadata that is a Kubernetes ObjectMeta.
    CEL rules (``x-kubernetes-validations``), defaults and formats are not checked.
    """
    out = _convert(schema, nullable=False, root=object_root)
    if not isinstance(schema, dict):
        return out
    if isinstance(schema.get("$defs"), dict):
        out["$defs"] = {name: _convert(node, nullable=True, root=False) for name, node in schema["$defs"].items()}
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    if schema_id:
        out["$id"] = schema_id
    return out


def _convert(node: Any, *, nullable: bool, root: bool = False) -> dict:
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {}
    if isinstance(node.get("$ref"), str):
        out["$ref"] = node["$ref"]
        if not nullable:
            out["not"] = {"type": "null"}
        return out
    nullable = nullable or node.get("nullable") is True
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    types: list[str] | None = None
    if node.get("x-kubernetes-int-or-string") is True:
        types = ["integer", "string"]
    elif isinstance(node.get("type"), str):
        types = [node["type"]]
    if types is not None:
        if nullable:
            types = types + ["null"]
        out["type"] = types if len(types) > 1 else types[0]
    enum = node.get("enum")
    if isinstance(enum, list):
        out["enum"] = list(enum) + ([None] if nullable and None not in enum else [])
    for key in _COPY:
        if key in node:
            out[key] = node[key]
    for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        # OpenAPI 3.0 writes exclusiveness as a flag on minimum/maximum.
        if node.get(key) is True and bound in out:
            out[key] = out.pop(bound)
        elif isinstance(node.get(key), (int, float)) and not isinstance(node.get(key), bool):
            out[key] = node[key]
    props = node.get("properties")
    embedded = node.get("x-kubernetes-embedded-resource") is True
    if isinstance(props, dict) or root or embedded:
        raw_required = node.get("required")
        required = [r for r in raw_required if isinstance(r, str)] if isinstance(raw_required, list) else []
        converted = {}
        for name, sub in (props if isinstance(props, dict) else {}).items():
            if not isinstance(name, str):
                continue
            if name == "metadata" and (root or embedded):
                meta = _convert(sub, nullable=name not in required)
                for drop in ("type", "additionalProperties", "properties", "required"):
                    meta.pop(drop, None)
                converted[name] = {"$ref": OBJECT_META_REF, **meta}
                if root and isinstance(sub, dict) and isinstance(sub.get("properties"), dict):
                    # a CRD may constrain metadata.name (length, pattern): keep those constraints
                    converted[name]["properties"] = {k: _convert(v, nullable=True)
                                                     for k, v in sub["properties"].items() if isinstance(k, str)}
                continue
            converted[name] = _convert(sub, nullable=name not in required)
        if root or embedded:
            converted.setdefault("apiVersion", {"type": ["string", "null"]} if not root else {"type": "string"})
            converted.setdefault("kind", {"type": ["string", "null"]} if not root else {"type": "string"})
            converted.setdefault("metadata", {"$ref": OBJECT_META_REF})
        out["properties"] = converted
        if required:
            out["required"] = required
    addl = node.get("additionalProperties")
    if isinstance(addl, dict):
        out["additionalProperties"] = _convert(addl, nullable=False)
    elif isinstance(addl, bool):
        out["additionalProperties"] = addl
    elif not preserve and (types is None or "object" in types) and ("properties" in out or (
            types is not None and "object" in types)):
        # structural semantics: an object lists its fields; anything else is pruned (strict: error)
        out["additionalProperties"] = False
    items = node.get("items")
    if isinstance(items, dict):
        out["items"] = _convert(items, nullable=False)
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            out[key] = [_convert(x, nullable=True) for x in node[key]]
    if isinstance(node.get("not"), dict):
        out["not"] = _convert(node["not"], nullable=True)
    if preserve and "type" not in out and not out.get("properties"):
        out.pop("additionalProperties", None)
    return out


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
                except Exception as exc:  # noqa: BLE001 - a user's CRD may hold any schema
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


# ----------------------------------------------------------------------------------------------
# what the schema rules look at

@dataclass
class Target:
    """A document to validate: a Kubernetes object, or a file validated by its name."""

    path: str
    data: Any
    pos: Pos
    api_version: str | None
    kind: str | None
    label: str  # "NetworkPolicy 'default-deny'", "Chart.yaml"
    identity: str
    file_schema: str | None = None  # gitops-kit schema chosen by file name
    obj: "K8sObject | None" = None


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def targets(model: "RepoModel", skip_files: Iterable[str]) -> list[Target]:
    """Every Kubernetes object and every Chart.yaml / kustomization.yaml, minus skipped files
    (Helm values files by default: they are chart input, not objects); built once per model and
    list of skips (schema and schema-unknown share it)."""
    skips = tuple(s for s in skip_files if isinstance(s, str))
    key = ("schema_targets", skips)
    found = model.memo.get(key)
    if found is None:
        found = model.memo[key] = list(_targets(model, skips))
    return found


def _targets(model: "RepoModel", skips: tuple[str, ...]) -> Iterator[Target]:
    import fnmatch
    import re

    by_name = project_index()[1]
    # one regex for all patterns, and one answer per file (a file holds many objects)
    skip_rx = re.compile("|".join(f"(?:{fnmatch.translate(pat)})" for pat in skips)) if skips else None
    skip_of: dict[str, bool] = {}

    def skipped(path: str) -> bool:
        if skip_rx is None:
            return False
        hit = skip_of.get(path)
        if hit is None:
            hit = skip_of[path] = bool(skip_rx.match(_basename(path)) or skip_rx.match(path))
        return hit

    patch_files = kustomize_patch_files(model) | kustomize_plugin_files(model)
    named: set[tuple[str, int]] = set()
    in_focus = model.in_focus
    for sf in model.files.values():
        if not in_focus(sf.path):
            continue  # a focused (pre-commit) run: validation findings are per file
        base = _basename(sf.path)
        schema_name = by_name.get(base)
        if schema_name is None or skipped(sf.path):
            continue
        for doc in sf.documents:
            if doc.data is None:
                continue
            api = doc.data.get("apiVersion") if isinstance(doc.data, dict) else None
            if base in KUSTOMIZATION_FILES and isinstance(api, str) and \
                    not api.startswith("kustomize.config.k8s.io/"):
                continue  # e.g. a Flux Kustomization kept in a file of that name: an ordinary object
            named.add((sf.path, doc.index))
            yield Target(sf.path, doc.data, getattr(doc.data, "pos", doc.pos), api if isinstance(api, str) else None,
                         None, base, f"{sf.path}#{doc.index}", file_schema=schema_name)
    for obj in model.objects:
        if not in_focus(obj.path) or (obj.path, obj.doc) in named or obj.path in patch_files or skipped(obj.path):
            continue
        label = f"{obj.kind} {obj.name!r}" if obj.name else obj.kind
        yield Target(obj.path, obj.data, obj.pos, obj.api_version, obj.kind, label, obj.identity(), obj=obj)


def kustomize_patch_files(model: "RepoModel") -> set[str]:
    """Repository paths that a kustomization uses as patches: partial objects, not manifests."""
    out: set[str] = set()
    for sf in model.files.values():
        if _basename(sf.path) not in KUSTOMIZATION_FILES or not sf.documents:
            continue
        data = sf.documents[0].data
        if not isinstance(data, dict):
            continue
        base = sf.path.rsplit("/", 1)[0] if "/" in sf.path else ""
        refs: list[Any] = []
        for key in ("patches", "patchesJson6902"):
            items = data.get(key)
            if isinstance(items, list):
                refs.extend(item.get("path") for item in items if isinstance(item, dict))
        items = data.get("patchesStrategicMerge")
        if isinstance(items, list):
            refs.extend(items)
        for ref in refs:
            if isinstance(ref, str) and ref and "\n" not in ref and "://" not in ref:
                out.add(_join(base, ref))
    return out


def kustomize_plugin_files(model: "RepoModel") -> set[str]:
    """Repository files a kustomization names under ``generators``, ``transformers`` or
    ``validators``: the configuration of a kustomize plugin (a KSOPS ``ksops`` generator, a
    builtin transformer), which kustomize reads and never sends to the cluster."""
    out: set[str] = set()
    for sf in model.files.values():
        if _basename(sf.path) not in KUSTOMIZATION_FILES or not sf.documents:
            continue
        data = sf.documents[0].data
        if not isinstance(data, dict):
            continue
        base = sf.path.rsplit("/", 1)[0] if "/" in sf.path else ""
        for key in ("generators", "transformers", "validators"):
            items = data.get(key)
            for ref in items if isinstance(items, list) else ():
                if isinstance(ref, str) and ref and "\n" not in ref and "://" not in ref:
                    path = _join(base, ref)
                    if path in model.files:
                        out.add(path)
    return out


def _join(base: str, rel: str) -> str:
    parts = [p for p in base.split("/") if p] if not rel.startswith("/") else []
    for part in rel.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)
