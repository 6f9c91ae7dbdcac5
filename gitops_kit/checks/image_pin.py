"""image-pin: container images that float (``latest``, no tag, a moving tag such as ``stable``).

Where images are read:

* containers, init containers and ephemeral containers of every pod-bearing object (Pod,
  PodTemplate, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, the
  job template of a CronJob, argoproj ``Rollout``), including objects in kustomize patch files;
* Helm values: the values files of Helm bundles (apps/helm/<app>/, not Chart.yaml or a
  kustomization), ``helmCharts[].valuesInline`` of a kustomization, and the inline
  ``helm.values`` / ``helm.valuesObject`` / ``helm.parameters`` of Applications. Shapes: a
  string under a key whose last word is ``image`` (``image: repo:tag``, ``initImage: ...``), a
  mapping under such a key (``{registry, repository, tag, digest}``, ``name`` for
  ``repository``), and any mapping holding both ``repository`` and ``tag``;
* kustomize ``images:`` entries (``newTag``/``digest``) and an Application's
  ``kustomize.images`` strings.

What is not reported, on purpose (a finding must be trustworthy):

* a values mapping whose ``tag`` is absent, null or ``""``: charts fill it from their
  ``appVersion``, which the pinned chart version pins (Renovate bumps the chart instead);
* a kustomize ``images:`` entry without ``newTag``/``digest`` (kustomize keeps the tag of the
  resource, judged where the resource is), and a manifest or values image whose name a
  kustomize ``images:`` entry of the repository retags (judged at that entry);
* values that are templated (``{{ ... }}``, ``${VAR}``, ``$(VAR)``, ``<path:...>``) or that
  do not parse as an image reference (``registry:5000/app`` is a registry port, not a tag);
* custom resources that take an image (operators' ``spec.image``): their shapes vary.

A message quotes only a tag, and only one that matches the tag grammar; never the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from .. import yamlio
from ..findings import Hit
from ..model import KUSTOMIZATION_FILES, Application, K8sObject, RepoModel
from ..model.values import inline_values
from ..yamlio import YMap, YSeq
from . import _secrets as s

Pos = tuple[int, int]

# Where each pod-bearing kind keeps its pod spec (argoproj Rollout: like a Deployment).
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Rollout": ("spec", "template", "spec"),
}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
HELM_META = frozenset({"Chart.yaml", "Chart.yml", "Chart.lock", *KUSTOMIZATION_FILES})

# The reference grammar of distribution/reference, loosened where that cannot mistake a
# non-image for one; every pattern is linear (adjacent classes are disjoint).
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}")
_COMPONENT = re.compile(r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?|\[[0-9A-Fa-f:.]+\](?::[0-9]+)?")
_LETTERS = re.compile(r"[A-Za-z]+")
MAX_REFERENCE = 1024  # longer than any real reference (name 255 + tag 128 + digest)
_TEMPLATED = ("{{", "${", "$(", "<path:", "%3cpath%3a")
_WHY = ("what runs changes without a commit, Renovate cannot propose the update and rolling back a commit "
        "does not roll the image back; pin an exact version tag or a digest")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference: ``name`` (registry and path), ``tag`` ("" when written empty,
    None when absent) and ``digest``."""

    name: str
    tag: str | None
    digest: str | None


@dataclass(frozen=True)
class Params:
    """The rule's parameters, checked once."""

    moving_tags: frozenset[str]
    exempt: tuple[str, ...]  # the patterns, then the same fully qualified
    require_digest: bool

    @classmethod
    def of(cls, params: dict[str, Any]) -> "Params":
        patterns = [str(p) for p in params.get("exempt") or () if p is not None]
        return cls(frozenset(str(t).lower() for t in params.get("moving_tags") or () if t is not None),
                   tuple(patterns) + tuple(canonical(p) for p in patterns), params.get("require_digest") is True)


def templated(value: str) -> bool:
    """A value that a template engine or plugin fills in later: not judged."""
    lower = value.lower()
    return any(mark in lower for mark in _TEMPLATED)


def parse_image(text: str) -> ImageRef | None:
    """``text`` as an image reference, or None when it is not one.

    ``registry:5000/app`` has a registry port and no tag; ``app@sha256:...`` has a digest;
    ``app:`` has an empty tag. A connection string, a sentence or a template is not a reference.
    """
    if not text or len(text) > MAX_REFERENCE or any(c.isspace() for c in text):
        return None
    rest, at, digest = text.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        return None
    slash = rest.rfind("/")
    head, last = rest[:slash + 1], rest[slash + 1:]
    tag = None
    if ":" in last:
        last, _, tag = last.partition(":")
        if tag and not TAG.fullmatch(tag):
            return None
    parts = (head + last).split("/")
    path = parts
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _DOMAIN.fullmatch(first):
            return None
        path = parts[1:]
    if not all(_COMPONENT.fullmatch(p) for p in path):
        return None
    return ImageRef(head + last, tag, digest if at else None)


def canonical(name: str) -> str:
    """The fully qualified name: ``nginx`` -> ``docker.io/library/nginx``."""
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if first == "index.docker.io":
            return "docker.io/" + "/".join(parts[1:])
        return name
    return "docker.io/" + ("library/" if len(parts) == 1 else "") + name


def glob_match(pattern: str, text: str) -> bool:
    """``*`` (any run, ``/`` included) and ``?`` globs, matched without a regex: the one-star
    backtracking walk takes at most len(pattern) * len(text) steps, whatever the input."""
    p = t = 0
    star = mark = -1
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif star != -1:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def is_moving(tag: str, moving: frozenset[str]) -> bool:
    """A tag that names a channel, not a release: ``latest``, ``stable``, and flavours of one
    (``stable-alpine``, ``lts-slim``: words without digits after the channel)."""
    lower = tag.lower()
    if lower in moving:
        return True
    head, _, rest = lower.partition("-")
    return bool(rest) and head in moving and all(_LETTERS.fullmatch(w) for w in rest.split("-"))


def quoted_tag(tag: Any) -> str:
    """A tag for a message: quoted when it matches the tag grammar, else not shown at all."""
    return f'"{tag}"' if isinstance(tag, str) and TAG.fullmatch(tag) else "(not shown)"


# --- positions ------------------------------------------------------------------------------------

class _Locator:
    """File positions for a tree: a file's own, or those of YAML text held in a string scalar
    (inline ``helm.values``), where a literal block maps line by line and anything else gives
    the scalar's position."""

    def __init__(self, lines: s.SourceLines, outer: tuple[Pos, str] | None = None) -> None:
        self.lines = lines
        self.outer = outer
        self.inner = s.SourceLines(outer[1]) if outer else None
        self._starts: list[int] | None = None

    def value(self, node: YMap, key: Any) -> Pos:
        return self._map(node.value_pos(key))

    def item(self, seq: YSeq, index: int) -> Pos:
        return self._map(seq.item_pos(index))

    def fragment(self, node: YMap, key: Any, offset: int, fragment: str) -> Pos:
        """Where ``value[offset:]`` (``fragment``) stands, when it can be found; else the value."""
        pos = node.value_pos(key)
        lines = self.inner if self.inner is not None else self.lines
        col = pos[1] + (1 if lines.char_at(pos) in ('"', "'") else 0) + offset
        line = lines.line(pos[0]) or ""
        if fragment and line[col - 1:col - 1 + len(fragment)] == fragment:
            pos = (pos[0], col)
        return self._map(pos)

    def _map(self, pos: Pos) -> Pos:
        if self.outer is None:
            return pos
        outer_pos, text = self.outer
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer("\n", text)]
        line = min(max(pos[0], 1), len(self._starts))
        return s.string_pos(self.lines, outer_pos, text, self._starts[line - 1] + pos[1] - 1)


# --- the check --------------------------------------------------------------------------------------

@dataclass
class _Run:
    """One run of the check: parameters, the names kustomize retags, and the findings' wording."""

    model: RepoModel
    params: Params
    retagged: set[str]

    def exempt(self, name: str) -> bool:
        """Whether a pattern, as written or fully qualified, matches the name as written or fully
        qualified (``busybox`` exempts ``docker.io/library/busybox`` too)."""
        full = canonical(name) if name else ""  # unknown (a values tag alone): only ``*`` matches
        return any(glob_match(p, name) or glob_match(p, full) for p in self.params.exempt)

    def overridden(self, name: str) -> bool:
        return bool(name) and (name in self.retagged or canonical(name) in self.retagged)

    def problem(self, tag: str | None, digest: str | None, absent_ok: bool = False) -> str | None:
        """What is wrong with a tag/digest pair, or None. ``absent_ok``: a missing or empty tag is
        the chart's default (values mappings)."""
        if digest:
            return None
        if tag is None or tag == "":
            if absent_ok:
                return "has no digest and takes the chart's default tag, and require_digest is on" \
                    if self.params.require_digest else None
            return "has no tag, so it pulls \"latest\"" if tag is None else "has an empty tag"
        if is_moving(tag, self.params.moving_tags):
            return f"has the moving tag {quoted_tag(tag)}"
        if self.params.require_digest:
            return f"has the tag {quoted_tag(tag)} but no digest, and require_digest is on"
        return None

    def string_image(self, path: str, loc: _Locator, node: YMap, key: Any, subject: str,
                     ident: str) -> Iterator[Hit]:
        """A whole reference held in one string (``image: repo:tag``)."""
        value = node.get(key)
        if not isinstance(value, str) or templated(value):
            return
        ref = parse_image(value)
        if ref is None or self.exempt(ref.name) or self.overridden(ref.name):
            return
        why = self.problem(ref.tag, ref.digest)
        if why is None:
            return
        if ref.tag:
            pos = loc.fragment(node, key, len(ref.name) + 1, ref.tag)
        else:
            pos = loc.value(node, key)
        yield Hit(path, pos, f"{subject} {why}: {_WHY}", key=ident)


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    run = _Run(model, Params.of(params), set())
    kustomizations = model.kustomizations()
    for _path, data in kustomizations:
        run.retagged.update(_retagged_by_kustomization(data))
    for app in model.applications:
        for src in app.sources:
            run.retagged.update(_retagged_by_app_source(src.get("kustomize")))
    for kind in POD_SPEC_PATHS:
        for obj in model.kind(kind):
            if model.relevant(obj.path):
                yield from _object(run, obj)
    yield from _values_files(run, {id(data) for _, data in kustomizations})
    lines_of: dict[str, s.SourceLines] = {}
    for path, data in kustomizations:
        if model.relevant(path):
            lines = lines_of.setdefault(path, s.SourceLines(model.files[path].text))
            yield from _kustomization(run, path, data, lines)
    for app in model.applications:
        if model.relevant(app.path):
            lines = lines_of.setdefault(app.path, s.SourceLines(app.obj.file.text))
            yield from _application(run, app, lines)


# --- objects --------------------------------------------------------------------------------------

def _pod_spec(obj: K8sObject) -> YMap | None:
    node: Any = obj.data
    for key in POD_SPEC_PATHS[obj.kind]:
        node = node.get(key) if isinstance(node, YMap) else None
    return node if isinstance(node, YMap) else None


def _object(run: _Run, obj: K8sObject) -> Iterator[Hit]:
    if obj.kind == "Rollout" and obj.group != "argoproj.io":
        return
    spec = _pod_spec(obj)
    if spec is None:
        return
    lines = s.SourceLines(obj.file.text)
    loc = _Locator(lines)
    label = f"{obj.kind} {obj.name!r}" if obj.name else obj.kind
    for field in CONTAINER_LISTS:
        containers = spec.get(field)
        if not isinstance(containers, YSeq):
            continue
        for i, container in enumerate(containers):
            if not isinstance(container, YMap) or "image" not in container:
                continue
            cname = container.get("name")
            which = f"container {cname!r}" if isinstance(cname, str) and _DNS_LABEL.fullmatch(cname) \
                else f"{field}[{i}]"
            if field != "containers" and which.startswith("container "):
                which = f"{'init' if field == 'initContainers' else 'ephemeral'} {which}"
            yield from run.string_image(obj.path, loc, container, "image", f"{label} {which}: the image",
                                        f"{obj.identity()}:{field}[{i}].image")


# --- values -----------------------------------------------------------------------------------------

def _image_key(key: Any) -> bool:
    """A key whose last word is ``image`` (``image``, ``initImage``, ``kubectl_image``)."""
    return isinstance(key, str) and key.lower().endswith("image")


def _values_files(run: _Run, kustomization_docs: set[int]) -> Iterator[Hit]:
    model = run.model
    helm_prefix = model.config.helm_dir + "/"
    for path, sf in model.files.items():
        if not path.startswith(helm_prefix) or path.rsplit("/", 1)[-1] in HELM_META or not model.relevant(path):
            continue
        text = sf.text or ""
        if "\\" not in text and "mage" not in text and "tag" not in text:
            continue  # no image key and no tag anywhere (escapes are the one way to hide one)
        loc = _Locator(s.SourceLines(text))
        for doc in sf.documents:
            data = doc.data
            if id(data) in kustomization_docs or (isinstance(data, YMap) and isinstance(data.get("kind"), str)
                                                  and isinstance(data.get("apiVersion"), str)):
                continue  # objects and kustomizations are judged as such
            if isinstance(data, (YMap, YSeq)):
                yield from _values(run, path, loc, data, "values", f"{path}#{doc.index}")


def _values(run: _Run, path: str, loc: _Locator, root: Any, where: str, ident: str) -> Iterator[Hit]:
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, dotted = stack.pop()
        if isinstance(node, YSeq):
            for i, value in enumerate(node):
                if isinstance(value, (YMap, YSeq)):
                    stack.append((value, f"{dotted}[{i}]"))
            continue
        if not isinstance(node, YMap):
            continue
        for key, value in node.items():
            sub = f"{dotted}.{key}" if dotted else str(key)
            if isinstance(value, str) and _image_key(key):
                yield from _values_string(run, path, loc, node, key, f"{where}: {sub}", f"{ident}:{sub}")
            elif isinstance(value, (YMap, YSeq)):
                if isinstance(value, YMap) and (_image_key(key) or ("repository" in value and "tag" in value)):
                    yield from _values_mapping(run, path, loc, value, f"{where}: {sub}", f"{ident}:{sub}")
                stack.append((value, sub))


def _values_string(run: _Run, path: str, loc: _Locator, node: YMap, key: Any, subject: str,
                   ident: str) -> Iterator[Hit]:
    """``image: repo[:tag]``; a chart that splits name and tag keeps the tag in a sibling key."""
    value = node[key]
    ref = parse_image(value) if not templated(value) else None
    if ref is None:
        return
    if str(key).lower() != "image" and ref.tag is None and ref.digest is None:
        return  # ``headerImage: images/logo.png``: only ``image`` itself is surely an image without a tag
    if ref.tag is None and ref.digest is None:
        for sibling in ("tag", "imageTag", f"{key}Tag"):
            if sibling in node:
                yield from _values_tag(run, path, loc, node, sibling, ref.name, ref.digest,
                                       f"{subject} (tag in {sibling})", ident)
                return
    yield from run.string_image(path, loc, node, key, subject, ident)


def _values_mapping(run: _Run, path: str, loc: _Locator, image: YMap, subject: str, ident: str) -> Iterator[Hit]:
    """``{registry, repository, tag, digest}``: an absent or empty tag is the chart's appVersion."""
    repo = image.get("repository", image.get("name"))
    registry = image.get("registry")
    digest = image.get("digest")
    parts = [v for v in (registry, repo) if v is not None]
    if not all(isinstance(v, str) for v in parts) or any(templated(v) for v in parts):
        return
    name = "/".join(v.strip("/") for v in parts if v)
    ref = parse_image(name) if name else None
    if name and ref is None:
        return  # not an image reference: not judged, and never shown
    if ref is not None:
        name = ref.name
        if ref.tag or ref.digest:  # ``repository: app:1.2`` carries its own tag
            if "tag" not in image and "digest" not in image:
                key = "repository" if "repository" in image else "name"
                yield from run.string_image(path, loc, image, key, subject, ident)
                return
    if digest is not None and not isinstance(digest, str):
        return
    if isinstance(digest, str) and (templated(digest) or (digest and not _DIGEST.fullmatch(digest))):
        return
    if "tag" in image:
        yield from _values_tag(run, path, loc, image, "tag", name, digest or None, f"{subject}.tag", ident)
    elif (not digest and run.params.require_digest and name and not run.exempt(name)
          and not run.overridden(name)):  # a mapping without repository only overrides pullPolicy and the like
        why = run.problem(None, None, absent_ok=True)
        key = "repository" if "repository" in image else "name" if "name" in image else "registry"
        yield Hit(path, loc.value(image, key), f"{subject} {why}: {_WHY}", key=ident)


def _values_tag(run: _Run, path: str, loc: _Locator, node: YMap, key: str, name: str, digest: str | None,
                subject: str, ident: str) -> Iterator[Hit]:
    """A tag in its own key: null or "" is the chart's default; numbers are exact versions."""
    tag = node.get(key)
    if isinstance(tag, bool) or isinstance(tag, (YMap, YSeq)):
        return
    if isinstance(tag, (int, float)):
        tag = str(tag)
    if isinstance(tag, str) and (templated(tag) or (tag and not TAG.fullmatch(tag))):
        return
    if run.exempt(name) or run.overridden(name):
        return
    why = run.problem(tag or None, digest, absent_ok=True)
    if why is not None:
        yield Hit(path, loc.value(node, key), f"{subject} {why}: {_WHY}", key=ident)


# --- kustomize and Applications -----------------------------------------------------------------------

def _retagged_by_kustomization(data: YMap) -> Iterator[str]:
    images = data.get("images")
    for entry in images if isinstance(images, YSeq) else ():
        if isinstance(entry, YMap) and isinstance(entry.get("name"), str) and (entry.get("newTag") or
                                                                             entry.get("digest")):
            yield entry["name"]
            yield canonical(entry["name"])


def _retagged_by_app_source(kustomize: Any) -> Iterator[str]:
    images = kustomize.get("images") if isinstance(kustomize, YMap) else None
    for entry in images if isinstance(images, YSeq) else ():
        if not isinstance(entry, str) or templated(entry):
            continue
        old, eq, new = entry.partition("=")
        ref = parse_image(new if eq else old)
        if ref is not None and (ref.tag or ref.digest):
            name = old if eq else ref.name
            yield name
            yield canonical(name)


def _kustomization(run: _Run, path: str, data: YMap, lines: s.SourceLines) -> Iterator[Hit]:
    loc = _Locator(lines)
    images = data.get("images")
    for i, entry in enumerate(images if isinstance(images, YSeq) else ()):
        if not isinstance(entry, YMap):
            continue
        name = entry.get("newName") if isinstance(entry.get("newName"), str) else entry.get("name")
        if not isinstance(name, str) or templated(name) or run.exempt(name):
            continue
        digest = entry.get("digest")
        tag = entry.get("newTag")
        if isinstance(tag, (int, float)) and not isinstance(tag, bool):
            tag = str(tag)
        if not isinstance(tag, str) or tag == "" or templated(tag) or not TAG.fullmatch(tag):
            tag = None
        if isinstance(digest, str) and digest:
            continue
        if tag is None:
            continue  # kustomize keeps the resource's own tag, judged where the resource is
        why = run.problem(tag, None)
        if why is not None:
            yield Hit(path, loc.value(entry, "newTag"), f"kustomization images[{i}] (newTag) {why}: {_WHY}",
                      key=f"{path}:images[{i}]")
    charts = data.get("helmCharts")
    for i, chart in enumerate(charts if isinstance(charts, YSeq) else ()):
        if isinstance(chart, YMap) and isinstance(chart.get("valuesInline"), (YMap, YSeq)):
            yield from _values(run, path, loc, chart["valuesInline"], f"helmCharts[{i}].valuesInline",
                               f"{path}:helmCharts[{i}]")


def _application(run: _Run, app: Application, lines: s.SourceLines) -> Iterator[Hit]:
    path = app.path
    loc = _Locator(lines)
    for src in app.sources:
        where = f"Application {app.label} " + ("source" if src.index < 0 else f"sources[{src.index}]")
        ident = f"{app.obj.identity()}:{src.index}"
        inline = inline_values(src)
        if inline is not None:
            text = inline.text
            if text is not None and ("mage" in text or "tag" in text):
                docs = yamlio.load_text(text).documents
                inner = _Locator(lines, (inline.text_pos, text))
                for doc in docs:
                    if isinstance(doc.data, (YMap, YSeq)):
                        yield from _values(run, path, inner, doc.data, f"{where}.helm.values",
                                           f"{ident}:values#{doc.index}")
            if inline.obj is not None:
                yield from _values(run, path, loc, inline.obj, f"{where}.helm.valuesObject", f"{ident}:valuesObject")
            yield from _parameters(run, path, loc, inline.parameters, f"{where}.helm.parameters", ident)
        kustomize = src.get("kustomize")
        images = kustomize.get("images") if isinstance(kustomize, YMap) else None
        for i, entry in enumerate(images if isinstance(images, YSeq) else ()):
            if not isinstance(entry, str) or templated(entry):
                continue
            old, eq, new = entry.partition("=")
            ref = parse_image(new if eq else old)
            if ref is None or ref.tag is None and ref.digest is None:
                continue  # no new tag: the resource keeps its own
            if run.exempt(ref.name) or (eq and run.exempt(old)):
                continue
            why = run.problem(ref.tag, ref.digest)
            if why is not None:
                yield Hit(path, loc.item(images, i), f"{where}.kustomize.images[{i}] {why}: {_WHY}",
                          key=f"{ident}:kustomize.images[{i}]")


def _parameters(run: _Run, path: str, loc: _Locator, params: Any, where: str, ident: str) -> Iterator[Hit]:
    """``helm.parameters``: ``{name: image.tag, value: latest}`` or ``{name: image, value: repo:tag}``."""
    for i, param in enumerate(params if isinstance(params, YSeq) else ()):
        if not isinstance(param, YMap) or not isinstance(param.get("name"), str) or "value" not in param:
            continue
        parts = param["name"].split(".")
        subject = f"{where}[{i}] ({_safe_name(param['name'])})"
        if _image_key(parts[-1]):
            value = param.get("value")
            ref = parse_image(value) if isinstance(value, str) and not templated(value) else None
            if ref is not None and (parts[-1].lower() == "image" or ref.tag is not None or ref.digest):
                yield from run.string_image(path, loc, param, "value", subject, f"{ident}:parameters[{i}]")
        elif parts[-1] == "tag" and len(parts) > 1 and _image_key(parts[-2]):
            yield from _values_tag(run, path, loc, param, "value", "", None, subject, f"{ident}:parameters[{i}]")


_PARAM_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,200}")


def _safe_name(name: str) -> str:
    return name if _PARAM_NAME.fullmatch(name) else "parameter"
