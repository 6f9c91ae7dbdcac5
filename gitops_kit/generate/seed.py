"""The seed platform: the 25 apps of the write-up's three layer tables, from one data file.

``blueprints/seed-platform.yaml`` holds each app's chart source, version, namespace, pattern,
wave, tier, dependencies and namespace bundle; it is read once, through yamlio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

from .. import data, yamlio

_plain = partial(yamlio.plain, str_keys=True)  # YMap/YSeq -> JSON-like data

SEED_FILE = "seed-platform.yaml"


@dataclass(frozen=True)
class SeedApp:
    """One app of the seed platform (see the comment at the top of the data file)."""

    name: str
    layer: str
    pattern: str
    namespace: str
    wave: int
    chart: str | None = None
    chart_repo: str | None = None
    chart_version: str | None = None
    description: str | None = None
    core: bool = False
    tier: str | None = None
    daemonset: bool = False
    after: tuple[str, ...] = ()
    config_comment: str | None = None
    tier_note: str | None = None
    namespace_file: bool = False
    pod_security: str = "baseline"
    namespace_labels: dict[str, str] = field(default_factory=dict)
    baseline: bool = False
    quota: dict[str, str] | None = None
    server_side_apply: bool = False


def parse(text: str) -> tuple[SeedApp, ...]:
    """The apps of a seed data file's text."""
    loaded = yamlio.load_text(text)
    bad = [p for p in loaded.problems if p.fatal or "duplicate key" in p.message]
    if bad or not loaded.documents:
        raise ValueError(f"{SEED_FILE}: {bad[0].message if bad else 'empty'}")
    apps = []
    for item in loaded.documents[0].data["apps"]:
        raw: dict[str, Any] = {str(k): _plain(v) for k, v in item.items()}
        raw["after"] = tuple(raw.get("after") or ())
        apps.append(SeedApp(**raw))
    return tuple(apps)


@lru_cache(maxsize=1)
def load() -> tuple[SeedApp, ...]:
    """The shipped seed platform, in the order of the write-up's tables."""
    return parse(data.read_text("blueprints", SEED_FILE))


