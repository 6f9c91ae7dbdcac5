"""Object-level and field-level diff of two renders of one Application, without the noise.

Objects are matched by (API group, kind, namespace, name): a custom resource whose ``apiVersion``
moves is one changed object, not a removal and an addition. Noise is left out of the comparison
and counted, so the report can say what it ignored:

- the labels ``helm.sh/chart``, ``chart`` and ``app.kubernetes.io/version`` (they carry the chart
  or app version and change with every bump) in any ``metadata.labels``; selectors are compared as
  they are (a selector change is never noise);
- ``checksum/*`` annotations (a hash of another rendered object, which is compared itself);
- values the chart generates at random (``randAlphaNum``, ``genCA``, ``uuidv4``, ``now``...): the
  fields that differ between two renders of the same head, given as ``random``.

A Secret's ``data`` and ``stringData`` values are never shown, in a field change or in a dump:
they read ``***``, and a changed one says so. A value under a key that names a credential, and a
string holding a well-known token format, are masked the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..checks._secrets import MASK, find_secrets, is_reference_value, is_secret_key

NOISE_LABELS = ("helm.sh/chart", "chart", "app.kubernetes.io/version")
NOISE_ANNOTATION_PREFIX = "checksum/"
CHANGED_SECRET = "*** (changed)"
_VALUE_MAX = 160

Key = tuple[str, str, str, str]  # group, kind, namespace, name
FieldPath = tuple  # keys (str), list indexes (int) and ("name", value) pairs for lists matched by name


def object_key(data: dict) -> Key:
    api = str(data.get("apiVersion") or "")
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return (api.split("/")[0] if "/" in api else "", str(data.get("kind") or ""),
            str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def key_label(key: Key) -> str:
    group, kind, namespace, name = key
    return f"{kind}{'.' + group if group else ''} {namespace + '/' if namespace else ''}{name}"


def is_secret(data: dict) -> bool:
    return data.get("kind") == "Secret" and str(data.get("apiVersion") or "") == "v1"


@dataclass
class Noise:
    """What the comparison left out, counted by description."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def merge(self, other: Noise) -> None:
        for what, n in other.counts.items():
            self.add(what, n)

    def lines(self) -> list[str]:
        return [f"{what} ({n}x)" for what, n in sorted(self.counts.items())]


def denoise(data: Any, noise: Noise) -> Any:
    """A copy of a plain object without the version labels and checksum annotations."""
    if isinstance(data, list):
        return [denoise(v, noise) for v in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for k, v in data.items():
        if k == "metadata" and isinstance(v, dict):
            meta = dict(v)
            labels = meta.get("labels")
            if isinstance(labels, dict):
                kept = {lk: lv for lk, lv in labels.items() if lk not in NOISE_LABELS}
                for lk in labels.keys() - kept.keys():
                    noise.add(f"label {lk}")
                meta["labels"] = kept
            notes = meta.get("annotations")
            if isinstance(notes, dict):
                kept = {ak: av for ak, av in notes.items() if not str(ak).startswith(NOISE_ANNOTATION_PREFIX)}
                if len(kept) != len(notes):
                    noise.add("annotation checksum/*", len(notes) - len(kept))
                meta["annotations"] = kept
            out[k] = {mk: denoise(mv, noise) if mk not in ("labels", "annotations") else mv
                      for mk, mv in meta.items()}
        else:
            out[k] = denoise(v, noise)
    return out


@dataclass(frozen=True)
class FieldChange:
    path: FieldPath
    op: str  # added, removed, changed
    old: Any = None
    new: Any = None

    @property
    def where(self) -> str:
        return path_text(self.path)


def path_text(path: FieldPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, tuple):
            out += f"[{part[0]}={part[1]}]"
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            out += (("." if out else "") + text) if "." not in text and "/" not in text else f"[{text}]"
    return out


def _by_name(items: list) -> dict[str, Any] | None:
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    names = {i["name"]: i for i in items}
    return names if len(names) == len(items) else None


def field_diff(old: Any, new: Any, path: FieldPath = ()) -> list[FieldChange]:
    """Leaf-level differences; lists of named items (containers, env, ports) are matched by name."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for k in list(old) + [k for k in new if k not in old]:
            if k not in new:
                out.append(FieldChange((*path, k), "removed", old[k], None))
            elif k not in old:
                out.append(FieldChange((*path, k), "added", None, new[k]))
            elif old[k] != new[k]:
                out.extend(field_diff(old[k], new[k], (*path, k)))
        return out
    if isinstance(old, list) and isinstance(new, list):
        a, b = _by_name(old), _by_name(new)
        out = []
        if a is not None and b is not None:
            for name in list(a) + [n for n in b if n not in a]:
                at = (*path, ("name", name))
                if name not in b:
                    out.append(FieldChange(at, "removed", a[name], None))
                elif name not in a:
                    out.append(FieldChange(at, "added", None, b[name]))
                elif a[name] != b[name]:
                    out.extend(field_diff(a[name], b[name], at))
            return out
        for i in range(max(len(old), len(new))):
            if i >= len(new):
                out.append(FieldChange((*path, i), "removed", old[i], None))
            elif i >= len(old):
                out.append(FieldChange((*path, i), "added", None, new[i]))
            elif old[i] != new[i]:
                out.extend(field_diff(old[i], new[i], (*path, i)))
        return out
    if old == new:
        return []
    return [FieldChange(path, "changed", old, new)]


def under(path: FieldPath, prefixes: Iterable[FieldPath]) -> bool:
    return any(path[:len(p)] == p for p in prefixes)


# --- what may be printed -------------------------------------------------------------------------

def _secret_path(path: FieldPath, secret: bool) -> bool:
    if secret and path and path[0] in ("data", "stringData"):
        return True
    return any(isinstance(p, str) and is_secret_key(p) for p in path[-1:])


def mask_value(value: Any) -> Any:
    """A value as a report may show it: credentials under secret-named keys and token formats masked."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and is_secret_key(k) and isinstance(v, (str, int, float)) and not (
                    isinstance(v, str) and (not v or is_reference_value(v))):
                out[k] = MASK
            else:
                out[k] = mask_value(v)
        if isinstance(out.get("name"), str) and is_secret_key(out["name"]) and isinstance(out.get("value"), str) \
                and out["value"] and not is_reference_value(out["value"]):
            out["value"] = MASK  # an env entry: {name: DB_PASSWORD, value: ...}
        return out
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, str) and find_secrets(value):
        return MASK
    return value


def masked_object(data: dict) -> dict:
    """The object for a dump: a Secret's values masked, then every credential-looking value."""
    if is_secret(data):
        data = dict(data)
        for key in ("data", "stringData"):
            if isinstance(data.get(key), dict):
                data[key] = {k: MASK for k in data[key]}
    return mask_value(data)


def shown_change(change: FieldChange, secret: bool) -> FieldChange:
    """The change as a report shows it: a secret value becomes ``***`` (and "changed" says it changed)."""
    if _secret_path(change.path, secret):
        return FieldChange(change.path, change.op, None if change.old is None else MASK,
                           None if change.new is None else (CHANGED_SECRET if change.op == "changed" else MASK))
    return FieldChange(change.path, change.op, mask_value(change.old), mask_value(change.new))


def short(value: Any) -> str:
    """One line for a value: JSON, cut to a readable length."""
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=False, default=str)
    text = " ".join(text.split()) if isinstance(value, str) else text
    return text if len(text) <= _VALUE_MAX else text[:_VALUE_MAX] + "..."
