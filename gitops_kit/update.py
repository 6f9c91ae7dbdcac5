"""``check-update``: the check on a dependency-update merge request (Renovate's, or a person's).

It finds every version change between a base revision and the working tree (chart
``targetRevision`` in Applications, umbrella ``Chart.yaml`` dependencies, kustomize
``helmCharts``, image tags in values files and manifests), classifies each bump, applies the
update policy, attaches the data-safety checklist to apps that own stateful resources, and
lints the changed apps as usual. Helm rendering of both versions is optional and never claimed
when it was not done.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from . import yamlio
from .checks._secrets import MASK, find_secrets, is_reference_value, is_secret_key, mask
from .errors import UsageError
from .model import RepoModel
from .model.values import value_files
from .yamlio import YMap, YSeq

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
STATEFUL_CHECKLIST = (
    "take a fresh database dump immediately before the sync, kept off the resource being changed",
    "check every stateful CR the chart emits has a retain policy (cleanupPolicy: Skip, "
    "databaseReclaimPolicy: retain, PVC retention Retain)",
    "for the first sync, switch prune off as a recorded exception (automated-sync requires prune: true): "
    "in the Application's syncPolicy.automated, put `# gitops-kit: disable=automated-sync "
    "reason=\"first sync of the update: prune off until the sync result is checked\"` on the line above "
    "`prune: false`; check status.operationState.syncResult for pruned stateful resources, then remove "
    "both lines",
)

# Everything below comes from the repository under review, which is untrusted: a value that git or
# helm could read as an option, or that holds a credential, never reaches a subprocess or the output.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HEX_REV = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_URL_SCHEMES = ("http", "https", "oci")
# Image references: [domain[:port]/]path-component(/path-component)*[:tag][@digest] (the
# distribution/reference grammar). A string that does not match is not an image.
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_NAME = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_IMAGE_REF = re.compile(rf"(?P<name>{_IMAGE_NAME.pattern})(?::(?P<tag>{_TAG.pattern}))?(?:@{_DIGEST})?")
_IMAGE_MAX = 512
# Redaction of text helm (or git) writes: URL userinfo, then ``key: value`` pairs whose key names
# a credential, then any well-known token format.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s'\"<>]*@")
_KEY_VALUE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)[\"']?\s*[:=]\s*"
                        r"(?=(?P<value>\"[^\"]*\"?|'[^']*'?|[^\s,;'\"]+))")
_TOKEN_END = re.compile(r"[\s'\",;)\]}>]|$")


def _unsafe_arg(value: object) -> str | None:
    """Why ``value`` may not be passed to a subprocess, or None: empty, an option, blanks or controls."""
    if not isinstance(value, str) or not value:
        return "is empty"
    if value.startswith("-"):
        return "starts with '-' (it would be read as an option)"
    if any(c.isspace() for c in value) or _CONTROL.search(value):
        return "holds whitespace or control characters"
    if len(value) > 2048:
        return "is too long"
    return None


def repo_url_problem(url: object) -> str | None:
    """Why a chart repository URL may not be given to helm, or None for an http(s) or oci URL."""
    problem = _unsafe_arg(url)
    if problem:
        return problem
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "is not a URL"
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.netloc:
        return "is not an http(s) or oci URL"
    return None


def _escape_controls(text: str) -> str:
    """Control characters as escapes, so that no value can start a line or a terminal sequence."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def shown(value: object, escape: bool = True) -> str | None:
    """A value as check-update may print it: masked like the linter masks secrets, and with
    ``escape`` (text and markdown; JSON escapes by itself) control characters escaped."""
    if value is None:
        return None
    text = str(value)
    if find_secrets(text) or _USERINFO.search(text):
        return mask(text)
    return _escape_controls(text) if escape else text


def redact(text: str) -> str:
    """Text a subprocess wrote, safe for a report and a merge-request comment.

    URL userinfo is dropped; the value of every ``key: value`` / ``key=value`` whose key names a
    credential, and every well-known token or private key, is replaced by the mask.
    """
    text = _USERINFO.sub(lambda m: m.group(1), text)
    spans: list[tuple[int, int]] = []
    for m in _KEY_VALUE.finditer(text):
        value = m.group("value").strip("'\"")
        if is_secret_key(m.group("key")) and not is_reference_value(value):
            spans.append((m.start("value"), m.end("value")))
    for found in find_secrets(text):
        if "PRIVATE KEY" in found.kind:
            spans.append((found.offset, len(text)))
        else:
            end = _TOKEN_END.search(text, found.offset)
            spans.append((found.offset, end.start() if end else len(text)))
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + MASK + text[end:]
    return _escape_controls(text)


@dataclass(frozen=True)
class Change:
    """One version that differs between base and head."""

    kind: str  # "chart", "dependency", "helm-chart", "image", "application" (removed, no chart)
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
    """major, minor, patch, prerelease, digest, downgrade, added, removed or non-semver.

    An image version may carry a digest (``1.25.3@sha256:...``): the same tag with another
    digest is a ``digest`` bump (the image was rebuilt under its tag)."""
    if old is None:
        return "added"
    if new is None:
        return "removed"
    old_tag, _, old_digest = str(old).partition("@")
    new_tag, _, new_digest = str(new).partition("@")
    if old_tag == new_tag and old_digest != new_digest:
        return "digest"
    old, new = old_tag, new_tag
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


def _commit_id(out: str) -> str:
    rev = out.strip()
    if not _HEX_REV.fullmatch(rev):
        raise UsageError("git did not name a commit for the base revision")
    return rev


def resolve_base(root: Path, base: str | None, branch: str) -> str:
    """The base revision (a commit id): given, else the merge-base with the configured branch (remote first).

    Neither ``--base`` nor the configured branch is ever read by git as an option.
    """
    if base:
        if base.startswith("-") or _CONTROL.search(base):
            raise UsageError(f"--base {shown(base)!r} is not a revision")
        return _commit_id(git(root, "rev-parse", "--verify", "--end-of-options", f"{base}^{{commit}}"))
    for candidate in (f"origin/{branch}", branch):
        if _unsafe_arg(candidate):
            continue
        try:
            return _commit_id(git(root, "merge-base", "--end-of-options", "HEAD", candidate))
        except UsageError:
            continue
    raise UsageError(f"cannot find a merge-base with {shown(branch)!r} or 'origin/{shown(branch)}': "
                     "pass --base REF")


@dataclass(frozen=True)
class FileChange:
    """One YAML file that differs: its git status letter, its path at base (renames) and now."""

    status: str  # A, M, D, R, C, T
    old_path: str | None
    path: str


def changed_files(root: Path, base: str) -> list[FileChange]:
    """YAML files that differ between ``base`` and the working tree, below ``root``, relative to it.

    NUL-separated output, so names git would quote (non-ASCII, tabs) come through as they are;
    renames pair the old path with the new one, so the base version is read from the old path.
    """
    raw = _git_bytes(root, "diff", "-z", "--name-status", "--find-renames", "--relative", "--no-ext-diff",
                     "--no-textconv", "--end-of-options", base, "--", "*.yaml", "*.yml")
    fields = raw.split(b"\0")
    out: list[FileChange] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i].decode("ascii", errors="replace")[:1]
        if status in ("R", "C") and i + 2 < len(fields):
            old, new = os.fsdecode(fields[i + 1]), os.fsdecode(fields[i + 2])
            i += 3
            # a copy leaves its original in place: the new file is new
            out.append(FileChange(status, old if status == "R" else None, new))
            continue
        if i + 1 >= len(fields):
            break
        path = os.fsdecode(fields[i + 1])
        i += 2
        out.append(FileChange(status, None if status == "A" else path, path))
    return sorted(out, key=lambda c: c.path)


def _prefix(root: Path) -> str:
    """The path of ``root`` below the git top level (``""`` or ``"sub/dir/"``), for ``REV:path``."""
    return git(root, "rev-parse", "--show-prefix").rstrip("\n")


def _load(text: str | None) -> list[Any]:
    if text is None:
        return []
    return [d.data for d in yamlio.load_text(text).documents]


def _at(root: Path, rev: str, path: str, prefix: str = "") -> str | None:
    """The file's text at ``rev`` (``path`` relative to ``root``, ``prefix`` root's place below
    the git top level); None when it did not exist there."""
    if not _HEX_REV.fullmatch(rev):
        raise UsageError("the base revision is not a commit id")
    try:
        # cat-file, not show: the blob as stored, no textconv filter
        raw = _git_bytes(root, "cat-file", "blob", f"{rev}:{prefix}{path}")
    except UsageError:
        return None
    text, _ = yamlio.decode(raw)
    return text


def parse_image(ref: str) -> tuple[str, str | None] | None:
    """(name, version) of an image reference ``[registry/]repo[:tag][@digest]``: the version is the
    tag, ``tag@digest`` or ``@digest``; None when ``ref`` is not one (a connection string, a
    template, a sentence): such a value is never printed."""
    if not isinstance(ref, str) or len(ref) > _IMAGE_MAX:
        return None
    m = _IMAGE_REF.fullmatch(ref)
    if not m:
        return None
    digest = ref.partition("@")[2] if "@" in ref else ""
    tag = m.group("tag")
    if digest:
        return m.group("name"), f"{tag or ''}@{digest}"
    return m.group("name"), tag


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
                if len(name) <= _IMAGE_MAX and _IMAGE_NAME.fullmatch(name) and _TAG.fullmatch(str(tag)):
                    digest = value.get("digest")
                    version = f"{tag}@{digest}" if isinstance(digest, str) and re.fullmatch(_DIGEST, digest) else str(tag)
                    yield name, version, value.value_pos("tag")[0]
        elif key == "image" and isinstance(value, str) and isinstance(parent, YMap):
            parsed = parse_image(value)
            if parsed and parsed[1] is not None:
                yield parsed[0], parsed[1], parent.value_pos("image")[0]


# A version inside a remote kustomize resource: ``?ref=v8.2.0``, or a path segment such as
# ``/v2.13.2/`` (raw.githubusercontent.com/<org>/<repo>/<tag>/..., releases/download/<tag>/...).
_URL_REF = re.compile(r"[?&]ref=(?P<v>[^&#]+)")
_URL_SEGMENT = re.compile(r"/(?P<v>v?\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?)(?=/)")


def _remote_version(url: str) -> tuple[str, str] | None:
    """(identity with the version left out, version) of a remote kustomize resource URL."""
    if len(url) > 2048 or "://" not in url and not url.startswith(("github.com/", "gitlab.com/")):
        return None
    m = _URL_REF.search(url) or _URL_SEGMENT.search(url)
    if m is None:
        return None
    return url[: m.start("v")] + "{version}" + url[m.end("v"):], m.group("v")


def _kustomize_versions(doc: YMap) -> Iterator[tuple[str, str, str, int]]:
    """(kind, identity, version, line) in a kustomization: remote resources with a version,
    ``images:`` entries, and images inside inline patches (an ArgoCD self-upgrade bumps all three)."""
    if not (doc.get("kind") in (None, "Kustomization") and any(
            k in doc for k in ("resources", "bases", "components", "images", "patches"))):
        return
    for key in ("resources", "bases", "components"):
        items = doc.get(key)
        for i, item in enumerate(items if isinstance(items, YSeq) else ()):
            found = _remote_version(item) if isinstance(item, str) else None
            if found is not None:
                yield "remote-resource", found[0], found[1], items.item_pos(i)[0]
    images = doc.get("images")
    for entry in images if isinstance(images, YSeq) else ():
        if not isinstance(entry, YMap) or not isinstance(entry.get("name"), str):
            continue
        tag, digest = entry.get("newTag"), entry.get("digest")
        if tag is None and digest is None:
            continue
        version = f"{'' if tag is None else tag}@{digest}" if isinstance(digest, str) else str(tag)
        at = "newTag" if "newTag" in entry else "digest"
        yield "image", str(entry.get("newName") or entry["name"]), version, entry.value_pos(at)[0]
    patches = doc.get("patches")
    for entry in patches if isinstance(patches, YSeq) else ():
        text = entry.get("patch") if isinstance(entry, YMap) else None
        if not isinstance(text, str) or len(text) > 1_000_000:
            continue
        base = entry.value_pos("patch")[0]  # a block scalar: its text starts on the next line
        for patch_doc in _load(text):
            for image, version, line in _image_versions(patch_doc):
                yield "image", image, version, base + line


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
            charts = False
            for src in sources:
                if isinstance(src, YMap) and isinstance(src.get("chart"), str):
                    charts = True
                    rev = src.get("targetRevision")
                    out[("chart", f"{app}:{src['chart']}")] = (
                        "" if rev is None else str(rev), src.value_pos("targetRevision")[0], app)
                elif (isinstance(src, YMap) and isinstance(src.get("repoURL"), str) and "targetRevision" in src
                      and not model.is_this_repo(src["repoURL"]) and _semver(str(src.get("targetRevision")))):
                    # a git tag of another repository (Renovate's argocd manager bumps it)
                    where = src.get("path") if isinstance(src.get("path"), str) else ""
                    out[("source", f"{app}:{src['repoURL']}:{where}")] = (
                        str(src["targetRevision"]), src.value_pos("targetRevision")[0], app)
            if not charts and isinstance(app, str):
                # an Application without a chart has no version to compare, but its removal matters
                first = sources[0] if sources and isinstance(sources[0], YMap) else None
                rev = first.get("targetRevision") if first is not None else None
                out[("application", app)] = ("" if rev is None else str(rev), doc.pos[0], app)
            continue
        if name == "Chart.yaml" and isinstance(doc.get("dependencies"), YSeq):
            for dep in doc["dependencies"]:
                if isinstance(dep, YMap) and isinstance(dep.get("name"), str):
                    ver = dep.get("version")
                    out[("dependency", dep["name"])] = ("" if ver is None else str(ver),
                                                        dep.value_pos("version")[0], app_of_path)
            continue
        if name == ".pre-commit-config.yaml" and isinstance(doc.get("repos"), YSeq):
            for hook_repo in doc["repos"]:
                if isinstance(hook_repo, YMap) and isinstance(hook_repo.get("repo"), str) and "rev" in hook_repo:
                    out[("pre-commit", hook_repo["repo"])] = (str(hook_repo.get("rev")),
                                                              hook_repo.value_pos("rev")[0], None)
            continue
        for kind, ident, version, line in _kustomize_versions(doc):
            out[(kind, ident)] = (version, line, app_of_path)
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
    return _diff(root, base, model)[0]


def _diff(root: Path, base: str, model: RepoModel) -> tuple[list[Change], set[str]]:
    """Every version change, and the apps that owned stateful resources at ``base`` in changed files."""
    prefix = _prefix(root)
    changes: list[Change] = []
    stateful_before: set[str] = set()
    for fc in changed_files(root, base):
        path = fc.path
        old_text = _at(root, base, fc.old_path, prefix) if fc.old_path is not None else None
        old_docs = _load(old_text)
        stateful_before |= _stateful_in(fc.old_path or path, old_docs, old_text, model)
        old = _versions(fc.old_path or path, old_docs, model)
        head_file = model.files.get(path) if fc.status != "D" else None
        new_docs = [d.data for d in head_file.documents] if head_file else []
        new = _versions(path, new_docs, model)
        for key in sorted(set(old) | set(new)):
            o, n = old.get(key), new.get(key)
            if o and n and (o[0] == n[0] or key[0] == "application"):
                continue
            kind, ident = key
            cname = ident.split(":", 1)[1] if kind == "chart" else ident
            app = (n or o)[2]
            changes.append(Change(kind, cname, path, (n or o)[1] if n else 1, o[0] if o else None,
                                  n[0] if n else None, app, model.layer_of_app(app) if app else None))
    return _pair_moves(changes), stateful_before


def _pair_moves(changes: list[Change]) -> list[Change]:
    """Join a removal and an addition of the same thing in different files into one change.

    Catches a move git does not see as a rename (too many edits), so that its bump is still judged.
    """
    removed: dict[tuple, list[Change]] = {}
    added: dict[tuple, list[Change]] = {}
    for ch in changes:
        if ch.new is None:
            removed.setdefault((ch.kind, ch.name, ch.app), []).append(ch)
        elif ch.old is None:
            added.setdefault((ch.kind, ch.name, ch.app), []).append(ch)
    out: list[Change] = []
    for ch in changes:
        key = (ch.kind, ch.name, ch.app)
        pair = len(removed.get(key, ())) == 1 and len(added.get(key, ())) == 1
        if pair and ch.new is None:
            continue  # reported with its addition
        if pair and ch.old is None:
            gone = removed[key][0]
            if gone.old == ch.new or ch.kind == "application":
                continue  # moved, same version
            ch = Change(ch.kind, ch.name, ch.path, ch.line, gone.old, ch.new, ch.app, ch.layer)
        elif ch.kind == "application" and ch.new is not None:
            continue  # a new Application without a chart: no version to report
        out.append(ch)
    return out


def _is_stateful_object(doc: Any) -> bool:
    if not isinstance(doc, YMap) or not isinstance(doc.get("kind"), str):
        return False
    api = str(doc.get("apiVersion", ""))
    return (api.split("/")[0] if "/" in api else "", doc["kind"]) in STATEFUL_KINDS


_STATEFUL_VALUES = re.compile(r"(?m)^\s*(persistence|volumeClaimTemplates|primary|postgresql|mariadb|mysql)\s*:")


def _stateful_in(path: str, docs: list[Any], text: str | None, model: RepoModel) -> set[str]:
    """The app of ``path`` when the file (as it was at base) declares stateful resources."""
    app = model.app_of_path(path)
    if not app:
        return set()
    if any(_is_stateful_object(d) for d in docs):
        return {app}
    if path.endswith(("values.yaml", "values.yml")) and text and _STATEFUL_VALUES.search(text):
        return {app}
    return set()


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
            if rel.endswith(("values.yaml", "values.yml")) and sf.text and _STATEFUL_VALUES.search(sf.text):
                out.add(name)
    return out


def judge(changes: list[Change], model: RepoModel, allow_major: bool | list[str],
          stateful_before: set[str] | frozenset[str] = frozenset()) -> list[Verdict]:
    """Apply the update policy to each change (``stateful_before``: apps stateful at the base revision)."""
    from .checks._apps import is_exact_version

    stateful = stateful_apps(model) | set(stateful_before)
    verdicts = []
    for ch in changes:
        v = Verdict(ch, "ok")
        refused = _refused(ch, model)
        if refused:
            v.level = "error"
            v.reasons.append(refused)
        if ch.new is not None and ch.kind not in ("image", "application") and not is_exact_version(ch.new):
            v.level = "error"
            v.reasons.append(f"new version {shown(ch.new)!r} is not pinned to an exact version")
        if ch.kind == "image" and ch.new is not None and ch.new in ("latest", ""):
            v.level = "error"
            v.reasons.append(f"image tag {shown(ch.new)!r} is not pinned")
        if ch.bump == "major":
            allowed = allow_major is True or (isinstance(allow_major, list) and ch.app in allow_major)
            if not allowed and v.level != "error":
                v.level = "review"
            v.reasons.append("major version bump: read the upgrade notes; never auto-merged"
                             + (" (allowed by config)" if allowed else ""))
        if ch.bump == "downgrade":
            v.level = "review" if v.level == "ok" else v.level
            v.reasons.append("version goes down")
        if ch.new is None and ch.kind in ("chart", "application") and ch.app in stateful:
            v.level = "review" if v.level == "ok" else v.level
            v.reasons.append("the Application of an app that owns stateful resources is removed: its databases "
                             "and volumes may be deleted with it; never auto-merged")
        if ch.app in stateful:
            v.checklist = STATEFUL_CHECKLIST
        verdicts.append(v)
    return verdicts


def _refused(ch: Change, model: RepoModel) -> str | None:
    """Why a chart change carries a name, version or repository URL that could be read as an option."""
    if ch.kind not in ("chart", "dependency", "helm-chart"):
        return None
    problem = _unsafe_arg(ch.name)
    if problem:
        return f"chart name {shown(ch.name)!r} refused: it {problem}; never passed to helm"
    for label, version in (("new", ch.new), ("old", ch.old)):
        problem = _unsafe_arg(version) if version else None  # "" is a missing version, judged elsewhere
        if problem:
            return f"{label} version {shown(version)!r} refused: it {problem}; never passed to helm"
    ref = _chart_ref(model, ch) if ch.kind == "chart" else None
    problem = _unsafe_arg(ref[0]) if ref is not None else None
    if ref is not None and problem:
        return f"repository URL {shown(ref[0])!r} refused: it {problem}; never passed to helm"
    return None


STATEFUL_KINDS = {("postgresql.cnpg.io", "Cluster"), ("postgresql.cnpg.io", "Database"),
                  ("k8s.mariadb.com", "MariaDB"), ("k8s.mariadb.com", "Database"), ("k8s.mariadb.com", "User"),
                  ("k8s.mariadb.com", "Grant"), ("apps", "StatefulSet"), ("", "PersistentVolumeClaim"),
                  ("", "PersistentVolume")}


def _chart_ref(model: RepoModel, ch: Change) -> tuple[str, str, str | None] | None:
    """(repo URL, chart name, values file path) for a change helm can render."""
    for app in model.apps_by_name.get(ch.app or "", ()):
        for src in app.sources:
            if src.chart == ch.name and src.repo_url:
                values = next((vf.rel for vf in value_files(model, app, src) if vf.raw.startswith("$") and vf.rel),
                              None)
                return src.repo_url, ch.name, values
    return None


@dataclass
class UpdateReport:
    """Everything check-update found: the bumps and their verdicts, the affected apps (render diff
    and risks, :mod:`gitops_kit.upgrade`), the lint findings of the changed apps."""

    base: str
    verdicts: list[Verdict]
    analysis: Any  # gitops_kit.upgrade.analysis.Analysis, or None when the render diff was not asked for
    findings: list[Any]

    @property
    def apps(self) -> list[Any]:
        return self.analysis.apps if self.analysis is not None else []

    @property
    def risks(self) -> list[Any]:
        return [r for a in self.apps for r in a.risks]

    @property
    def exit_code(self) -> int:
        """1 when a change is refused or needs review (a major bump not allowed, a stateful app
        removed...), a risk is an error (the sync fails or data may go), or the lint of the changed
        apps has an error; else 0."""
        bad = any(v.level in ("error", "review") for v in self.verdicts)
        bad = bad or any(r.severity == "error" for r in self.risks)
        return 1 if bad or any(str(f.severity) == "error" for f in self.findings) else 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON report (schemas/check-update.schema.json); every value from the repository as
        :func:`shown` prints it."""
        from .upgrade.report import app_dict

        risks = self.risks
        return {"version": 2, "base": self.base, "exit_code": self.exit_code,
                "summary": {"changes": len(self.verdicts), "apps": len(self.apps),
                            "risks": sum(a.risk_count for a in self.apps),
                            "errors": sum(1 for r in risks if r.severity == "error"),
                            "rendered": self.analysis is not None},
                "changes": [{**_shown_change(v.change), "verdict": v.level, "reasons": v.reasons,
                             "checklist": list(v.checklist)} for v in self.verdicts],
                "apps": [app_dict(a) for a in self.apps],
                "notes": list(self.analysis.notes) if self.analysis is not None else [],
                "findings": [f.as_dict() for f in self.findings]}


def _shown_change(ch: Change) -> dict[str, Any]:
    out = ch.as_dict()
    for key in ("name", "path", "old", "new", "app", "layer"):
        out[key] = shown(out[key], escape=False)
    return out


def check(root: Path, base: str | None, lint_report: Any, *, render: bool = True, fetch: bool = False,
          config_file: str | None = None, renderer: str = "auto") -> UpdateReport:
    """Run the merge-request check on the repository at ``root`` (already linted)."""
    model = lint_report.model
    rev = resolve_base(root, base, model.config.branch)
    changes, stateful_before = _diff(root, rev, model)
    allow = (model.config.data.get("update") or {}).get("allow_major", False)
    verdicts = judge(changes, model, allow, stateful_before)
    analysis = None
    if render:
        from .upgrade.analysis import analyse

        analysis = analyse(root, rev, model, verdicts, config_file=config_file, fetch=fetch, renderer=renderer)
    apps = {c.app for c in changes if c.app} | {a.name for a in (analysis.apps if analysis else [])}
    paths = {c.path for c in changes}
    findings = [f for f in lint_report.findings if f.app in apps or f.path in paths]
    return UpdateReport(rev, verdicts, analysis, findings)


def _md(value: object) -> str:
    """A shown value inside a markdown table cell's code span: no backtick or pipe can end either."""
    return str(shown(value)).replace("`", "'").replace("|", "\\|")


def render_text(report: UpdateReport, markdown: bool = False) -> str:
    """Text or merge-request-comment markdown; every value from the repository as :func:`shown` prints it."""
    lines: list[str] = []
    if markdown:
        lines += ["### gitops-kit update check", "", f"Base: `{report.base[:12]}`", ""]
        if report.verdicts:
            lines += ["| app | layer | what | old | new | bump | verdict |", "|---|---|---|---|---|---|---|"]
    for v in report.verdicts:
        c = v.change
        reasons = (": " + "; ".join(v.reasons)) if v.reasons else ""
        if markdown:
            lines.append(f"| {_md(c.app or '-')} | {_md(c.layer or '-')} | {c.kind} `{_md(c.name)}` | `{_md(c.old)}` | "
                         f"`{_md(c.new)}` | {c.bump} | {v.level}{reasons.replace('|', chr(92) + '|')} |")
        else:
            what = (f"{shown(c.old)} -> {shown(c.new)} ({c.bump})" if c.old is not None and c.new is not None
                    else f"{shown(c.new if c.old is None else c.old)} {'added' if c.old is None else 'removed'}")
            lines.append(f"{shown(c.path)}:{c.line}: {v.level} [{c.kind}] {shown(c.name)} {what}, "
                         f"app {shown(c.app or '-')} ({shown(c.layer or '-')}){reasons}")
    if not report.verdicts:
        lines.append("no version changes found")
    stateful = [v for v in report.verdicts if v.checklist]
    for v in stateful:
        lines += ["", f"{'**' if markdown else ''}{shown(v.change.app)} owns stateful resources; before merging:"
                  f"{'**' if markdown else ''}"]
        lines += [f"- [ ] {item}" if markdown else f"  - {item}" for item in v.checklist]
    for a in report.apps:
        c = a.counts()
        lines += ["", f"{shown(a.name)}: {a.verdict}, {c['changed']} changed, {c['added']} added, {c['removed']} "
                  f"removed, {c['unchanged']} unchanged object(s); {a.risk_count} risk(s) ({'; '.join(a.why)})"]
        if a.noise.counts:
            lines.append("  ignored as noise: " + ", ".join(a.noise.lines()))
        for r in a.risks:
            lines.append(f"  {r.severity} [{r.rule}] {_escape_controls(r.message)}")
        for d in a.diffs:
            lines.append(f"  {d.status} {shown(d.label)}" + (f": {', '.join(shown(ch.where) or '' for ch in d.changes[:6])}"
                                                            f"{' ...' if len(d.changes) > 6 else ''}" if d.changes else ""))
    if report.analysis is None and report.verdicts:
        lines += ["", "render diff not done (--no-render)"]
    if report.findings:
        lines += ["", f"lint of the changed apps: {len(report.findings)} finding(s)"]
        for f in report.findings:
            lines.append(f"{'- ' if markdown else ''}{shown(f.path)}:{f.line}:{f.column}: {f.severity} [{f.rule}] "
                         f"{_escape_controls(str(f.message))}")
    return "\n".join(lines) + "\n"
