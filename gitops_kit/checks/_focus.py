"""Focused (pre-commit) runs: which bundles the focused paths touch, and the directories of a bundle.

A rule whose finding stands at an Application but is about its bundle (a missing NetworkPolicy or
ResourceQuota) judges that Application when a file of its bundle is focused, a staged deletion
included, and names the bundle directories as the finding's related locations.
"""

from __future__ import annotations

from ..model import RepoModel


def bundle_dirs(model: RepoModel, bundle: str | None) -> tuple[str, ...]:
    """The directories of ``bundle`` (apps/helm/<b>, apps/manifests/<b>) that exist in the tree."""
    if not bundle:
        return ()
    dirs = (f"{model.config.helm_dir}/{bundle}", f"{model.config.manifests_dir}/{bundle}")
    return tuple(d for d in dirs if model.exists(d))


def bundle_in_focus(model: RepoModel, bundle: str | None) -> bool:
    """Whether a focused path lies in ``bundle``'s directories (always, in an unfocused run)."""
    focus = model.focus
    if focus is None:
        return True
    if not bundle:
        return False
    touched = model.memo.get("focused_bundles")
    if touched is None:
        touched = model.memo["focused_bundles"] = _touched(model, focus)
    return touched is True or bundle in touched


def _touched(model: RepoModel, focus: frozenset[str]) -> set[str] | bool:
    """The bundles below the focused paths, or True when a focused directory holds every bundle."""
    out: set[str] = set()
    for base in (model.config.helm_dir, model.config.manifests_dir):
        prefix = base + "/"
        for path in focus:
            if path.startswith(prefix):
                out.add(path[len(prefix):].split("/", 1)[0])
            elif path in (".", "") or base == path or base.startswith(path + "/"):
                return True
    return out
