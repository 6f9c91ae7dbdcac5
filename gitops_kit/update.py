"""``check-update``: the check on a dependency-update merge request (Renovate's, or a person's).

It finds every version change between a base revision and the working tree (chart
``targetRevision`` in Applications, umbrella ``Chart.yaml`` dependencies, kustomize
``helmCharts``, image tags in values files and manifests), classifies each bump, applies the
update policy, attaches the data-safety checklist to apps that own stateful resources, and
lints the changed apps as usual. Helm rendering of both versions is optional and never claimed
when it was not done.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from . import yamlio
from .errors import UsageError
from .model import RepoModel
from .yamlio import YMap, YSeq

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
STATEFUL_CHECKLIST = (
    "take a fresh database dump immediately before the sync, kept off the resource being changed",
    "check every stateful CR the chart emits has a retain policy (cleanupPolicy: Skip, "
    "databaseReclaimPolicy: retain, PVC retention Retain)",
    "set prune: false on the Application for the first sync; check status.operationState.syncResult "
    "for pruned stateful resources before re-enabling it",
)


@dataclass(frozen=True)
class Change:
    """One version that differs between base and head."""

    kind: str  # "chart", "dependency", "helm-chart", "image"
    name: str  # chart, dependency or image repository
    path: str
    line: int
    old: str | None
    new: str | None
    app: str | None
    layer: str | None

    @property
    def bump(self) -> str:
        return bump_kind(self.old, self.new)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "path": self.path, "line": self.line, "old": self.old,
                "new": self.new, "bump": self.bump, "app": self.app, "layer": self.layer}


@dataclass
class Verdict:
    """What the policy says of one change."""

    change: Change
    level: str  # "ok", "review", "error"
    reasons: list[str] = field(default_factory=list)
    checklist: tuple[str, ...] = ()


def _semver(value: str | None) -> tuple[int, int, int, str | None] | None:
    if value is None:
        return None
    m = _SEMVER.match(str(value).strip())
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)


def bump_kind(old: str | None, new: str | None) -> str:
    """major, minor, patch, prerelease, downgrade, added, removed or non-semver."""
    if old is None:
        return "added"
    if new is None:
        return "removed"
    a, b = _semver(old), _semver(new)
    if a is None or b is None:
        return "non-semver"
    if b[:3] < a[:3] or (b[:3] == a[:3] and a[3] is None and b[3] is not None):
        return "downgrade"
    if b[0] != a[0]:
        return "major"
    if b[1] != a[1]:
        return "minor"
    if b[2] != a[2]:
        return "patch"
    return "prerelease"


def _git_bytes(root: Path, *args: str) -> bytes:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"cannot run git: {exc}") from None
    if out.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed: {out.stderr.decode(errors='replace').strip()}")
    return out.stdout


def git(root: Path, *args: str) -> str:
    """Run git in ``root``; a failure is a usage error (no repository, unknown revision)."""
    return _git_bytes(root, *args).decode("utf-8", errors="replace")


def resolve_base(root: Path, base: str | None, branch: str) -> str:
    """The base revision: given, else the merge-base with the configured branch (remote first)."""
    if base:
        return git(root, "rev-parse", "--verify", f"{base}^{{commit}}").strip()
    for candidate in (f"origin/{branch}", branch):
        try:
            return git(root, "merge-base", "HEAD", candidate).strip()
        except UsageError:
            continue
    raise UsageError(f"cannot find a merge-base with {branch!r} or 'origin/{branch}': pass --base REF")


def changed_yaml(root: Path, base: str) -> list[str]:
    """Repo-relative YAML paths that differ between ``base`` and the working tree."""
    out = git(root, "diff", "--name-only", "--no-renames", base, "--", "*.yaml", "*.yml")
    return sorted({line.strip() for line in out.splitlines() if line.strip()})


def _load(text: str | None) -> list[Any]:
    if text is None:
        return []
    return [d.data for d in yamlio.load_text(text).documents]


def _at(root: Path, rev: str, path: str) -> str | None:
    """The file's text at ``rev``; None when it did not exist there."""
    try:
        raw = _git_bytes(root, "show", f"{rev}:{path}")
    except UsageError:
        return None
    text, _ = yamlio.decode(raw)
    return text


def _image_versions(data: Any) -> Iterator[tuple[str, str, int]]:
    """(image name, tag, line) of images in values (repository/tag maps) and manifests (image strings)."""
    for key_path, parent, value in yamlio.walk(data):
        if not key_path:
            continue
        key = key_path[-1]
        if isinstance(value, YMap) and "tag" in value and ("repository" in value or "image" in value):
            repo = value.get("repository") or value.get("image")
            tag = value.get("tag")
            if isinstance(repo, str) and isinstance(tag, (str, int, float)) and not isinstance(tag, bool):
                registry = value.get("registry")
                name = f"{registry}/{repo}" if isinstance(registry, str) and registry else repo
                yield name, str(tag), value.value_pos("tag")[0]
        elif key == "image" and isinstance(value, str) and isinstance(parent, YMap):
            ref = value.split("@", 1)[0]
            name, sep, tag = ref.rpartition(":")
            if sep and "/" not in tag:
                yield name, tag, parent.value_pos("image")[0]


def _versions(path: str, docs: list[Any], model: RepoModel) -> dict[tuple[str, str], tuple[str, int, str | None]]:
    """(kind, identity) -> (version, line, app) of every version in one file."""
    out: dict[tuple[str, str], tuple[str, int, str | None]] = {}
    app_of_path = model.app_of_path(path)
    name = path.rsplit("/", 1)[-1]
    for doc in docs:
        if not isinstance(doc, YMap):
            continue
        if doc.get("kind") == "Application" and str(doc.get("apiVersion", "")).startswith("argoproj.io/"):
            spec = doc.get("spec")
            meta = doc.get("metadata")
            app = meta.get("name") if isinstance(meta, YMap) and isinstance(meta.get("name"), str) else app_of_path
            sources: list[Any] = []
            if isinstance(spec, YMap):
                if isinstance(spec.get("sources"), YSeq):
                    sources = list(spec["sources"])
                elif isinstance(spec.get("source"), YMap):
                    sources = [spec["source"]]
            for src in sources:
                if isinstance(src, YMap) and isinstance(src.get("chart"), str):
                    rev = src.get("targetRevision")
                    out[("chart", f"{app}:{src['chart']}")] = (
                        "" if rev is None else str(rev), src.value_pos("targetRevision")[0], app)
            continue
        if name == "Chart.yaml" and isinstance(doc.get("dependencies"), YSeq):
            for dep in doc["dependencies"]:
                if isinstance(dep, YMap) and isinstance(dep.get("name"), str):
                    ver = dep.get("version")
                    out[("dependency", dep["name"])] = ("" if ver is None else str(ver),
                                                        dep.value_pos("version")[0], app_of_path)
            continue
        if isinstance(doc.get("helmCharts"), YSeq):
            for chart in doc["helmCharts"]:
                if isinstance(chart, YMap) and isinstance(chart.get("name"), str):
                    ver = chart.get("version")
                    out[("helm-chart", chart["name"])] = ("" if ver is None else str(ver),
                                                          chart.value_pos("version")[0], app_of_path)
        for image, tag, line in _image_versions(doc):
            out[("image", image)] = (tag, line, app_of_path)
    return out


def find_changes(root: Path, base: str, model: RepoModel) -> list[Change]:
    """Every version change between ``base`` and the working tree."""
    changes: list[Change] = []
    for path in changed_yaml(root, base):
        old = _versions(path, _load(_at(root, base, path)), model)
        head_file = model.files.get(path)
        new_docs = [d.data for d in head_file.documents] if head_file else []
        new = _versions(path, new_docs, model)
        for key in sorted(set(old) | set(new)):
            o, n = old.get(key), new.get(key)
            if o and n and o[0] == n[0]:
                continue
            kind, ident = key
            cname = ident.split(":", 1)[1] if kind == "chart" else ident
            app = (n or o)[2]
            changes.append(Change(kind, cname, path, (n or o)[1] if n else 1, o[0] if o else None,
                                  n[0] if n else None, app, model.layer_of_app(app) if app else None))
    return changes


def stateful_apps(model: RepoModel) -> set[str]:
    """Apps that own stateful resources (operator databases, clusters, StatefulSets with claims, PVCs)."""
    out = set()
    for obj in model.objects:
        stateful = obj.group in ("postgresql.cnpg.io", "k8s.mariadb.com") and obj.kind in (
            "Cluster", "Database", "MariaDB", "User", "Grant") or obj.kind == "PersistentVolumeClaim"
        if obj.kind == "StatefulSet" and obj.spec and obj.spec.get("volumeClaimTemplates"):
            stateful = True
        if stateful:
            app = model.app_of_path(obj.path)
            if app:
                out.add(app)
    for name, bundle in model.bundles.items():
        for rel, sf in bundle.helm_files.items():
            if rel.endswith(("values.yaml", "values.yml")) and sf.text and re.search(
                    r"(?m)^\s*(persistence|volumeClaimTemplates|primary|postgresql|mariadb|mysql)\s*:", sf.text):
                out.add(name)
    return out


def judge(changes: list[Change], model: RepoModel, allow_major: bool | list[str]) -> list[Verdict]:
    """Apply the update policy to each change."""
    from .checks._apps import is_exact_version

    stateful = stateful_apps(model)
    verdicts = []
    for ch in changes:
        v = Verdict(ch, "ok")
        if ch.new is not None and ch.kind != "image" and not is_exact_version(ch.new):
            v.level = "error"
            v.reasons.append(f"new version {ch.new!r} is not pinned to an exact version")
        if ch.kind == "image" and ch.new is not None and ch.new in ("latest", ""):
            v.level = "error"
            v.reasons.append(f"image tag {ch.new!r} is not pinned")
        if ch.bump == "major":
            allowed = allow_major is True or (isinstance(allow_major, list) and ch.app in allow_major)
            if not allowed and v.level != "error":
                v.level = "review"
            v.reasons.append("major version bump: read the upgrade notes; never auto-merged"
                             + (" (allowed by config)" if allowed else ""))
        if ch.bump == "downgrade":
            v.level = "review" if v.level == "ok" else v.level
            v.reasons.append("version goes down")
        if ch.app in stateful:
            v.checklist = STATEFUL_CHECKLIST
        verdicts.append(v)
    return verdicts


STATEFUL_KINDS = {("postgresql.cnpg.io", "Cluster"), ("postgresql.cnpg.io", "Database"),
                  ("k8s.mariadb.com", "MariaDB"), ("k8s.mariadb.com", "Database"), ("k8s.mariadb.com", "User"),
                  ("k8s.mariadb.com", "Grant"), ("apps", "StatefulSet"), ("", "PersistentVolumeClaim"),
                  ("", "PersistentVolume")}


@dataclass
class RenderResult:
    """Outcome of rendering one change's old and new chart versions."""

    change: Change
    done: bool
    note: str
    missing: list[str] = field(default_factory=list)  # stateful resources present before, gone after


def _chart_ref(model: RepoModel, ch: Change) -> tuple[str, str, str | None] | None:
    """(repo URL, chart name, values file path) for a change helm can render."""
    for app in model.apps_by_name.get(ch.app or "", ()):
        for src in app.sources:
            if src.chart == ch.name and src.repo_url:
                values = next((v.split("/", 1)[1] for v, _ in src.value_files() if v.startswith("$")), None)
                return src.repo_url, ch.name, values
    return None


def _render(helm: str, repo: str, chart: str, version: str, values: Path | None, release: str) -> list[tuple[str, str]]:
    args = [helm, "template", release, chart, "--repo", repo, "--version", version]
    if values is not None:
        args += ["-f", str(values)]
    out = subprocess.run(args, capture_output=True, timeout=300, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["helm failed"])
    text, _ = yamlio.decode(out.stdout)
    found = []
    for doc in _load(text):
        if isinstance(doc, YMap) and isinstance(doc.get("kind"), str):
            api = str(doc.get("apiVersion", ""))
            group = api.split("/")[0] if "/" in api else ""
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), YMap) else YMap()
            if (group, doc["kind"]) in STATEFUL_KINDS:
                found.append((f"{doc['kind']}/{meta.get('namespace') or ''}/{meta.get('name')}", doc["kind"]))
    return found


def helm_render_diff(changes: list[Change], model: RepoModel) -> list[RenderResult]:
    """Render old and new versions of chart changes with helm, when helm is on PATH.

    Never claims a render that did not happen: each result says whether it was done and why not.
    """
    helm = shutil.which("helm")
    results = []
    for ch in changes:
        if ch.kind != "chart" or ch.old is None or ch.new is None:
            continue
        if helm is None:
            results.append(RenderResult(ch, False, "render diff not done: no helm binary on PATH"))
            continue
        ref = _chart_ref(model, ch)
        if ref is None:
            results.append(RenderResult(ch, False, "render diff not done: chart source not found"))
            continue
        repo, chart, values = ref
        values_path = model.root / values if values and model.exists(values) else None
        try:
            before = dict(_render(helm, repo, chart, ch.old, values_path, ch.app or chart))
            after = dict(_render(helm, repo, chart, ch.new, values_path, ch.app or chart))
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            results.append(RenderResult(ch, False, f"render diff not done: helm failed: {exc}"))
            continue
        missing = sorted(k for k in before if k not in after)
        note = f"rendered {ch.old} and {ch.new} with helm: {len(before)} stateful resource(s) before, {len(after)} after"
        results.append(RenderResult(ch, True, note, missing))
    return results


@dataclass
class UpdateReport:
    """Everything check-update found."""

    base: str
    verdicts: list[Verdict]
    renders: list[RenderResult]
    findings: list[Any]

    @property
    def exit_code(self) -> int:
        bad = any(v.level in ("error", "review") for v in self.verdicts)
        bad = bad or any(r.missing for r in self.renders)
        return 1 if bad or any(str(f.severity) == "error" for f in self.findings) else 0

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, "base": self.base,
                "changes": [{**v.change.as_dict(), "verdict": v.level, "reasons": v.reasons,
                             "checklist": list(v.checklist)} for v in self.verdicts],
                "render": [{"app": r.change.app, "chart": r.change.name, "done": r.done, "note": r.note,
                            "would_be_pruned": r.missing} for r in self.renders],
                "findings": [f.as_dict() for f in self.findings]}


def check(root: Path, base: str | None, lint_report: Any) -> UpdateReport:
    """Run the merge-request check on the repository at ``root`` (already linted)."""
    model = lint_report.model
    rev = resolve_base(root, base, model.config.branch)
    changes = find_changes(root, rev, model)
    allow = (model.config.data.get("update") or {}).get("allow_major", False)
    verdicts = judge(changes, model, allow)
    renders = helm_render_diff(changes, model)
    apps = {c.app for c in changes if c.app}
    paths = {c.path for c in changes}
    findings = [f for f in lint_report.findings if f.app in apps or f.path in paths]
    return UpdateReport(rev, verdicts, renders, findings)


def render_text(report: UpdateReport, markdown: bool = False) -> str:
    """Text or merge-request-comment markdown."""
    lines: list[str] = []
    if markdown:
        lines += ["### gitops-kit update check", "", f"Base: `{report.base[:12]}`", ""]
        if report.verdicts:
            lines += ["| app | layer | what | old | new | bump | verdict |", "|---|---|---|---|---|---|---|"]
    for v in report.verdicts:
        c = v.change
        if markdown:
            lines.append(f"| {c.app or '-'} | {c.layer or '-'} | {c.kind} `{c.name}` | `{c.old}` | `{c.new}` | "
                         f"{c.bump} | {v.level}{': ' + '; '.join(v.reasons) if v.reasons else ''} |")
        else:
            lines.append(f"{c.path}:{c.line}: {v.level} [{c.kind}] {c.name} {c.old} -> {c.new} ({c.bump}), "
                         f"app {c.app or '-'} ({c.layer or '-'})" + (": " + "; ".join(v.reasons) if v.reasons else ""))
    if not report.verdicts:
        lines.append("no version changes found")
    stateful = [v for v in report.verdicts if v.checklist]
    for v in stateful:
        lines += ["", f"{'**' if markdown else ''}{v.change.app} owns stateful resources; before merging:"
                  f"{'**' if markdown else ''}"]
        lines += [f"- [ ] {item}" if markdown else f"  - {item}" for item in v.checklist]
    if report.renders:
        lines.append("")
        for r in report.renders:
            lines.append(f"{'- ' if markdown else ''}{r.change.app}: {r.note}")
            for res in r.missing:
                lines.append(f"{'  - ' if markdown else '  '}error: {res} would be pruned")
    elif report.verdicts:
        lines += ["", "render diff not done: no chart version change to render"]
    if report.findings:
        lines += ["", f"lint of the changed apps: {len(report.findings)} finding(s)"]
        for f in report.findings:
            lines.append(f"{'- ' if markdown else ''}{f.path}:{f.line}:{f.column}: {f.severity} [{f.rule}] {f.message}")
    return "\n".join(lines) + "\n"
