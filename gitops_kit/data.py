"""Where shipped data lives: rules/ and schemas/ are top-level folders of the repository that
the wheel installs as gitops_kit.rules and gitops_kit.schemas. Running from a source checkout
without installing, they are found next to the package instead."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.abc import Traversable

_HERE = os.path.dirname(os.path.realpath(__file__))  # a linked package: its data lie beside the real folder


def folder(name: str) -> "Traversable":
    """The shipped ``rules`` or ``schemas`` folder."""
    # Installed, it is a folder in the package; in a source checkout, one beside it. Both are
    # found without importlib.resources (and the tempfile, shutil and zipfile it imports: a
    # tenth of lint's start-up), which remains for a package that is not plain files.
    for candidate in (os.path.join(_HERE, name), os.path.join(os.path.dirname(_HERE), name)):
        if os.path.isdir(candidate):
            return Path(candidate)
    from importlib import resources

    try:
        return resources.files(f"gitops_kit.{name}")
    except ModuleNotFoundError:
        return Path(_HERE).parent / name  # (missing: the error names this path when it is read)


def read_text(name: str, file: str) -> str:
    """A shipped data file's text."""
    return folder(name).joinpath(file).read_text(encoding="utf-8")


def package_text(name: str) -> str:
    """The text of a data file shipped inside the package itself (defaults.yaml)."""
    path = os.path.join(_HERE, name)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    from importlib import resources

    return resources.files("gitops_kit").joinpath(name).read_text(encoding="utf-8")
