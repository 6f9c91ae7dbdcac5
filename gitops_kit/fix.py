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
    new_text: str | None = None
    error: str | None = None
    created: bool = False  # a new file from the app blueprint


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


def _bundle_file_fix(model: RepoModel, finding: Finding, name: str) -> tuple[str, str] | str | None:
    """(path, text) of a blueprint file to add to the app's manifests bundle, or why it cannot be."""
    obj = _object_at(model, finding.path, finding.line)
    if obj is None or obj.kind != "Application" or not obj.name:
        return None
    app = next((a for a in model.applications if a.obj is obj), None)
    namespace = app.dest_namespace if app else None
    if app is None or not namespace:
        return None
    bundle = f"{model.config.manifests_dir}/{app.name}"
    if not any(model.is_this_repo(src.repo_url) and (src.path or "").strip("/") == bundle for src in app.sources):
        return f"app {app.name!r} has no source for {bundle}: add one, then run --fix again"
    target = f"{bundle}/{name}"
    if model.exists(target):
        return f"{target} exists: add the missing object to it by hand"
    from .generate import render

    values = {"repository": ".", "name": app.name, "namespace": namespace,
              "manifests_dir": model.config.manifests_dir, "namespace_file": False, "baseline": True}
    files = render.render(render.bundled("app-base"), values)
    rendered = files.get(target)
    if rendered is None:
        return None
    return target, rendered.data.decode("utf-8")


def _fix_network_policy(model: RepoModel, finding: Finding, params: dict[str, Any]):
    if "has no" in finding.message:
        yield ("create", _bundle_file_fix(model, finding, "network-policy.yaml"))


def _fix_resource_quota(model: RepoModel, finding: Finding, params: dict[str, Any]):
    if "has no" in finding.message:
        yield ("create", _bundle_file_fix(model, finding, "quota.yaml"))


FIXERS: dict[str, Callable[[RepoModel, Finding, dict[str, Any]], Iterator[Any]]] = {
    "network-policy": _fix_network_policy,
    "resource-quota": _fix_resource_quota,
    "automated-sync": _fix_automated_sync,
    "sync-wave": _fix_sync_wave,
    "retain-policy": _fix_retain_policy,
}


def plan(model: RepoModel, findings: list[Finding], params: Callable[[str], dict[str, Any]]) -> list[FileFix]:
    """The edits that would fix ``findings``, per file, verified but not written."""
    by_path: dict[str, FileFix] = {}
    created: dict[str, FileFix] = {}
    for finding in findings:
        fixer = FIXERS.get(finding.rule)
        if fixer is None:
            continue
        for edit in fixer(model, finding, params(finding.rule)):
            if edit[0] == "create":
                outcome = edit[1]
                if isinstance(outcome, tuple) and outcome[0] not in created:
                    created[outcome[0]] = FileFix(outcome[0], rules={finding.rule}, new_text=outcome[1],
                                                  created=True)
                elif isinstance(outcome, str):
                    created.setdefault(f"?{outcome}", FileFix(finding.path, rules={finding.rule}, error=outcome))
                continue
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
    return sorted([*by_path.values(), *created.values()], key=lambda f: f.path)


def _strip(data: Any, edits: list[Edit], index: int) -> Any:
    """The document with the edited keys removed, for comparing everything else."""
    data = yamlio.plain(data)  # new containers: safe to edit
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
        old = "" if ff.created else (model.files[ff.path].text or "")
        out.extend(difflib.unified_diff(old.splitlines(True), ff.new_text.splitlines(True),
                                        f"a/{ff.path}", f"b/{ff.path}"))
    return "".join(out)


def apply(model: RepoModel, fixes: list[FileFix]) -> list[str]:
    """Write every verified fix, all or nothing; returns the paths written."""
    files: dict[str, str] = {}
    originals: dict[str, bytes | None] = {}
    for ff in fixes:
        if ff.new_text is None:
            continue
        target = model.root / ff.path
        if ff.created:
            if target.exists():
                ff.error = "file appeared while gitops-kit ran: not written"
                continue
            files[str(target)] = ff.new_text
            originals[str(target)] = None
            continue
        current = target.read_bytes()
        if current.decode("utf-8", errors="replace") != (model.files[ff.path].text or ""):
            ff.error = "file changed while gitops-kit ran: not written"
            continue
        files[str(target)] = ff.new_text
        originals[str(target)] = current
    yamlio.write_all(files, originals)
    return [ff.path for ff in fixes if ff.new_text is not None and ff.error is None]
