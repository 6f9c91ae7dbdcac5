"""``lint --fix``: repair the unambiguous findings in place, as comment-preserving edits.

Fixes are driven by the findings that survive suppressions, so a finding someone suppressed
with a reason is never "fixed" behind their back. Every edit is verified before it is
written: the file is parsed again and must differ from the original only at the edited keys.
Writes are atomic; ``--diff`` shows the change and writes nothing; a second run changes nothing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import yamlio
from .findings import Finding
from .model import SYNC_WAVE, K8sObject, RepoModel
from .yamlio import QStr, YMap

Edit = tuple[int, tuple, Any]  # (document index, key path, new value)


@dataclass
class FileFix:
    """The edits planned for one file, and the rules they fix."""

    path: str
    edits: list[Edit] = field(default_factory=list)
    rules: set[str] = field(default_factory=set)
    new_text: str | None = None  # for files created or appended to whole
    error: str | None = None


def _object_at(model: RepoModel, path: str, line: int) -> K8sObject | None:
    sf = model.files.get(path)
    if sf is None:
        return None
    for index, first, last in sf.doc_ranges():
        if first <= line <= last:
            for obj in model.objects:
                if obj.file is sf and obj.doc == index:
                    return obj
    return None


def _fix_automated_sync(model: RepoModel, finding: Finding, params: dict[str, Any]) -> Iterator[Edit]:
    obj = _object_at(model, finding.path, finding.line)
    if obj is None or obj.spec is None:
        return
    policy = obj.spec.get("syncPolicy")
    if policy is not None and not isinstance(policy, YMap):
        return  # an odd shape is for a person to look at
    automated = policy.get("automated") if isinstance(policy, YMap) else None
    if automated is not None and not isinstance(automated, YMap):
        return
    for key in params.get("require", ["prune", "selfHeal"]):
        if not (isinstance(automated, YMap) and automated.get(key) is True):
            yield obj.doc, ("spec", "syncPolicy", "automated", key), True


def _fix_sync_wave(model: RepoModel, finding: Finding, params: dict[str, Any]) -> Iterator[Edit]:
    obj = _object_at(model, finding.path, finding.line)
    if obj is None:
        return
    wave = obj.annotations().get(SYNC_WAVE)
    if isinstance(wave, int) and not isinstance(wave, bool):
        yield obj.doc, ("metadata", "annotations", SYNC_WAVE), QStr(str(wave))


def _fix_retain_policy(model: RepoModel, finding: Finding, params: dict[str, Any]) -> Iterator[Edit]:
    obj = _object_at(model, finding.path, finding.line)
    if obj is None or obj.spec is None:
        return
    if obj.group == "k8s.mariadb.com" and obj.kind in ("Database", "User", "Grant"):
        if obj.spec.get("cleanupPolicy") != "Skip":
            yield obj.doc, ("spec", "cleanupPolicy"), "Skip"


FIXERS: dict[str, Callable[[RepoModel, Finding, dict[str, Any]], Iterator[Edit]]] = {
    "automated-sync": _fix_automated_sync,
    "sync-wave": _fix_sync_wave,
    "retain-policy": _fix_retain_policy,
}


def plan(model: RepoModel, findings: list[Finding], params: Callable[[str], dict[str, Any]]) -> list[FileFix]:
    """The edits that would fix ``findings``, per file, verified but not written."""
    by_path: dict[str, FileFix] = {}
    for finding in findings:
        fixer = FIXERS.get(finding.rule)
        if fixer is None:
            continue
        for edit in fixer(model, finding, params(finding.rule)):
            ff = by_path.setdefault(finding.path, FileFix(finding.path))
            if edit not in ff.edits:
                ff.edits.append(edit)
                ff.rules.add(finding.rule)
    for ff in by_path.values():
        sf = model.files[ff.path]
        try:
            ff.new_text = yamlio.edit_text(sf.text or "", ff.edits)
            _verify(sf.text or "", ff.new_text, ff.edits)
        except yamlio.EditError as exc:
            ff.error = str(exc)
            ff.new_text = None
    return sorted(by_path.values(), key=lambda f: f.path)


def _strip(data: Any, edits: list[Edit], index: int) -> Any:
    """The document with the edited keys removed, for comparing everything else."""
    import copy

    data = copy.deepcopy(_plain(data))
    for doc, path, _ in edits:
        if doc != index:
            continue
        node = data
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(path[-1], None)
            # A mapping created by the edit counts as edited, too.
    return _prune_empty(data)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return str(v) if isinstance(v, str) else v


def _prune_empty(v: Any) -> Any:
    if isinstance(v, dict):
        out = {k: _prune_empty(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x != {} or k not in ("syncPolicy", "automated", "annotations")}
    if isinstance(v, list):
        return [_prune_empty(x) for x in v]
    return v


def _verify(old: str, new: str, edits: list[Edit]) -> None:
    a, b = yamlio.load_text(old), yamlio.load_text(new)
    if any(p.fatal for p in b.problems) or len(a.documents) != len(b.documents):
        raise yamlio.EditError("the edited file does not parse as the same documents")
    for da, db in zip(a.documents, b.documents):
        if _strip(da.data, edits, da.index) != _strip(db.data, edits, db.index):
            raise yamlio.EditError("the edit would change more than the fixed keys")
        for doc, path, value in edits:
            if doc != db.index:
                continue
            node = db.data
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if node != value:
                raise yamlio.EditError(f"the edit of {'.'.join(map(str, path))} did not take")


def diff(model: RepoModel, fixes: list[FileFix]) -> str:
    """A unified diff of every planned fix."""
    out = []
    for ff in fixes:
        if ff.new_text is None:
            continue
        old = model.files[ff.path].text or ""
        out.extend(difflib.unified_diff(old.splitlines(True), ff.new_text.splitlines(True),
                                        f"a/{ff.path}", f"b/{ff.path}"))
    return "".join(out)


def apply(model: RepoModel, fixes: list[FileFix]) -> list[str]:
    """Write every verified fix, all or nothing; returns the paths written."""
    files: dict[str, str] = {}
    originals: dict[str, bytes] = {}
    for ff in fixes:
        if ff.new_text is None:
            continue
        target = model.root / ff.path
        current = target.read_bytes()
        if current.decode("utf-8", errors="replace") != (model.files[ff.path].text or ""):
            ff.error = "file changed while gitops-kit ran: not written"
            continue
        files[str(target)] = ff.new_text
        originals[str(target)] = current
    yamlio.write_all(files, originals)
    return [ff.path for ff in fixes if ff.new_text is not None and ff.error is None]
