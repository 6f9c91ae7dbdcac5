"""Secret ``data`` values that are not valid base64 (issue 19, part 2; wired into the schema rule).

The OpenAPI schema gives ``Secret.data`` values ``format: byte``: the API server decodes each with
Go's standard base64 (padding required, the 64-character alphabet, line breaks ignored) and
rejects the whole object when one does not decode, so the sync fails. Values that a plugin fills
in before the object reaches the API server (AVP ``<path:...>`` and ``<key>`` placeholders, Helm
and envsubst templates, SOPS ``ENC[...]`` values of a SOPS-encrypted document, which KSOPS
decrypts to the base64 text) are not judged. A finding never shows the value.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Iterator

from ..findings import Hit
from ..model import RepoModel
from ..yamlio import YMap
from ._secrets import is_ciphertext, sops_metadata

_FILLED_LATER = ("<path:", "%3cpath%3a", "{{", "${", "$(")
# AVP's annotation form: the whole value is ``<key>`` and the path is in avp.kubernetes.io/path.
_ANGLE_PLACEHOLDER = re.compile(r"<[^<>\n]+>")
_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")  # a valid Secret data key (safe to print)


def valid_base64(value: str) -> bool:
    """Whether the API server decodes ``value`` (Go's StdEncoding, which skips \\r and \\n)."""
    compact = value.replace("\r", "").replace("\n", "")
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


AVP_PATH_ANNOTATION = "avp.kubernetes.io/path"


def filled_later(value: str, avp_annotated: bool = False) -> bool:
    """A placeholder or template that a plugin replaces before the API server sees it. A bare
    ``<key>`` is AVP's only on an object carrying the ``avp.kubernetes.io/path`` annotation;
    elsewhere (``password: <base64-encoded-password>``, copied from a README) it reaches the API
    server as written, and is rejected."""
    lower = value.lower()
    if any(mark in lower for mark in _FILLED_LATER):
        return True
    return avp_annotated and _ANGLE_PLACEHOLDER.fullmatch(value.strip()) is not None


def invalid_base64(model: RepoModel) -> Iterator[Hit]:
    """Every string value of a v1 Secret's ``data`` that the API server would reject."""
    for obj in model.kind("Secret"):
        if obj.api_version != "v1":
            continue
        data = obj.data.get("data")
        if not isinstance(data, YMap):
            continue  # a list or a string: the schema's business
        name = repr(obj.name) if obj.name else "(unnamed)"
        meta = obj.data.get("metadata")
        notes = meta.get("annotations") if isinstance(meta, YMap) else None
        annotated = isinstance(notes, YMap) and AVP_PATH_ANNOTATION in notes
        encrypted = sops_metadata(obj.data) is not None
        for key, value in data.items():
            if not isinstance(value, str) or filled_later(value, annotated) or valid_base64(value):
                continue  # null and numbers are type errors the schema reports
            if encrypted and is_ciphertext(value):
                continue
            shown = f"data.{key}" if isinstance(key, str) and _KEY.fullmatch(key) else "data (a key that is not valid)"
            yield Hit(obj.path, data.value_pos(key),
                      f"Secret {name} {shown} is not valid base64: the API server rejects it; put plain text under "
                      "stringData", key=f"{obj.identity()}:data.{key}")
