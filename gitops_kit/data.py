"""Where shipped data lives: rules/ and schemas/ are top-level folders of the repository that
the wheel installs as gitops_kit.rules and gitops_kit.schemas. Running from a source checkout
without installing, they are found next to the package instead."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path


def folder(name: str) -> Traversable:
    """The shipped ``rules`` or ``schemas`` folder."""
    try:
        return resources.files(f"gitops_kit.{name}")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / name


def read_text(name: str, file: str) -> str:
    """A shipped data file's text."""
    return folder(name).joinpath(file).read_text(encoding="utf-8")
