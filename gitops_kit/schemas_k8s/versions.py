"""The Kubernetes versions whose strict schemas kubernetes-validate bundles, and which one a
configured ``kubernetes_version`` resolves to."""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

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
