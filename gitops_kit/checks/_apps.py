"""Helpers shared by the Application rules (layout, sync-wave, helm-pattern, namespace-suffix,
one-app-per-namespace) and reused by the blueprint generator to validate its inputs.

Public: :func:`is_exact_version`, :func:`version_problem`, :func:`is_dns1123_label`,
:func:`namespace_problem`, :func:`argo_glob`, :func:`source_includes`.
"""

from __future__ import annotations

import re
from typing import Any

from ..config import LayerSpec
from ..findings import show
from ..model import Application, RepoModel
# ArgoCD's directory walk and glob are facts of the model; re-exported for the checks and tests.
from ..model.paths import ArgoGlob, argo_glob, directory_opts, glob_match, norm_path, source_includes  # noqa: F401
from ..yamlio import YMap

Pos = tuple[int, int]

# semver.org 2.0.0, with the leading "v" Helm and most chart repositories accept.
_NUM = r"(?:0|[1-9][0-9]*)"
_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_EXACT = re.compile(rf"v?{_NUM}\.{_NUM}\.{_NUM}(?:-{_IDENT}(?:\.{_IDENT})*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
_RANGE_MARKS = ("^", "~", ">", "<", "=", "!", "||", " - ", ",")
_WILDCARD = re.compile(r"(?:^|\.)(?:[xX*])(?:\.|$)")
_DNS1123 = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")


def version_problem(value: Any) -> str | None:
    """Why ``value`` is not an exact chart version, or None when it is one.

    Exact means semver ``MAJOR.MINOR.PATCH`` with an optional leading ``v``, optional
    ``-prerelease`` and ``+build``. The text names the kind of problem (a range, a wildcard,
    ``latest``...), for messages.
    """
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        # YAML reads 1.2 as a float and 1 as an int: neither is MAJOR.MINOR.PATCH.
        return "a YAML number, not MAJOR.MINOR.PATCH"
    if not isinstance(value, str):
        return "not a string"
    text = value.strip()
    if not text:
        return "empty"
    if _EXACT.fullmatch(text):
        return None if text == value else "surrounded by spaces"
    if text.lower() in ("latest", "head", "stable", "main", "master"):
        return "a moving target"
    if text == "*" or _WILDCARD.search(text):
        return "a wildcard"
    if any(mark in text for mark in _RANGE_MARKS):
        return "a range"
    return "not MAJOR.MINOR.PATCH"


def is_exact_version(value: Any) -> bool:
    """True when ``value`` pins one exact chart version.

    Semver ``MAJOR.MINOR.PATCH`` with an optional leading ``v``, optional ``-prerelease`` and
    ``+build`` (``1.2.3``, ``v39.0.1``, ``1.0.0-rc.1+build.5``). Ranges (``^1.2``, ``~1.2``,
    ``>=1``, ``1.x``, ``1.2.*``, ``1.2 - 1.4``, ``a || b``), ``*``, ``latest``, ``HEAD``, empty
    or missing values and non-strings (YAML reads ``1.2`` as a float) are not exact.
    """
    return version_problem(value) is None


def is_dns1123_label(name: Any) -> bool:
    """True when ``name`` is a valid Kubernetes namespace name (an RFC 1123 label).

    Lowercase alphanumerics and ``-``, starting and ending alphanumeric, at most 63 characters.
    """
    return isinstance(name, str) and len(name) <= 63 and _DNS1123.fullmatch(name) is not None


def namespace_problem(namespace: Any, layer_spec: LayerSpec) -> str | None:
    """Why ``namespace`` is wrong for an Application of ``layer_spec``, or None when fine.

    The namespace must be a DNS-1123 label; unless it is in the layer's ``allow`` list it must
    not end in a ``forbid_suffixes`` entry and, when ``suffixes`` is not empty, must end in one
    of them. The message does not name the Application (callers add that).
    """
    if not isinstance(namespace, str):
        return f"namespace {show(namespace)} is not a string"
    if not is_dns1123_label(namespace):
        why = "longer than 63 characters" if len(namespace) > 63 else \
            "lowercase letters, digits and '-' only, starting and ending with a letter or digit"
        return f"namespace {namespace!r} is not a valid namespace name (DNS-1123 label: {why})"
    if namespace in layer_spec.allow:
        return None
    for suffix in layer_spec.forbid_suffixes:
        if namespace.endswith(suffix):
            return (f"namespace {namespace!r} ends in {suffix!r}, which layer {layer_spec.name!r} must not use "
                    f"(that suffix marks another tier)")
    if layer_spec.suffixes and not any(namespace.endswith(s) for s in layer_spec.suffixes):
        allowed = " or ".join(repr(s) for s in layer_spec.suffixes)
        extra = f" (or be one of {', '.join(layer_spec.allow)})" if layer_spec.allow else ""
        return f"namespace {namespace!r} must end in {allowed} in layer {layer_spec.name!r}{extra}"
    return None


# --- small accessors ---------------------------------------------------------------------------

def name_pos(app: Application) -> Pos:
    """Position of ``metadata.name``, else of ``metadata``, else of the object."""
    meta = app.obj.data.get("metadata")
    if isinstance(meta, YMap):
        return meta.value_pos("name") if "name" in meta else app.obj.data.key_pos("metadata")
    return app.obj.pos


def layer_index(model: RepoModel) -> dict[str, int]:
    """Layer name -> position in the configured deployment order."""
    return {spec.name: i for i, spec in enumerate(model.config.layers)}
