"""CRD ``openAPIV3Schema`` (structural OpenAPI) -> JSON Schema 2020-12: one converter gives
CRDs and gitops-kit's own schemas the same semantics."""

from __future__ import annotations

from typing import Any

DEFS_URI = "https://kubernetes.io/api/_definitions.json"
OBJECT_META_REF = DEFS_URI + "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


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
