"""The model's types: parsed files, Kubernetes objects, Applications and their sources, app
bundles, layers, and the RepoModel that holds them (built by :func:`gitops_kit.model.build`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from .. import discover, yamlio
from ..config import Config
from ..yamlio import YMap, YSeq

Pos = tuple[int, int]
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def is_kustomization(path: str, data: Any) -> bool:
    """A kustomize Kustomization: by kind and apiVersion, or by file name when it has no kind."""
    if not isinstance(data, YMap):
        return False
    kind, api = data.get("kind"), data.get("apiVersion")
    if kind == "Kustomization" and isinstance(api, str) and api.startswith("kustomize.config.k8s.io/"):
        return True
    return path.rsplit("/", 1)[-1] in KUSTOMIZATION_FILES and kind in (None, "Kustomization")
IGNORE_ANNOTATION = "gitops-kit.io/ignore"


@dataclass
class SourceFile:
    """One YAML file, read and parsed once."""

    path: str
    text: str | None
    documents: list[yamlio.Document]
    problems: list[yamlio.Problem]

    def doc_ranges(self) -> list[tuple[int, int, int]]:
        """(index, first line, last line) of each document, for object-scoped suppressions."""
        out = []
        starts = [d.pos[0] for d in self.documents]
        for i, doc in enumerate(self.documents):
            end = starts[i + 1] - 1 if i + 1 < len(starts) else 10**9
            out.append((doc.index, 1 if i == 0 else starts[i], end))
        return out


@dataclass
class K8sObject:
    """A document with a string apiVersion and kind."""

    file: SourceFile
    doc: int
    data: YMap
    api_version: str
    kind: str
    name: str | None
    namespace: str | None
    # its file's path, copied once: rules read it for every object (a property cost 5 % of them)
    path: str = field(init=False, repr=False, compare=False)
    # a kustomization names its file as a patch: a partial object, not one to judge whole
    patch: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.path = self.file.path

    @property
    def pos(self) -> Pos:
        return self.data.pos

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0] if "/" in self.api_version else ""

    @property
    def metadata(self) -> YMap:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, YMap) else YMap()

    @property
    def spec(self) -> YMap | None:
        spec = self.data.get("spec")
        return spec if isinstance(spec, YMap) else None

    def annotations(self) -> YMap:
        ann = self.metadata.get("annotations")
        return ann if isinstance(ann, YMap) else YMap()

    def labels(self) -> YMap:
        lab = self.metadata.get("labels")
        return lab if isinstance(lab, YMap) else YMap()

    def identity(self) -> str:
        """apiVersion/kind/namespace/name: stable across line shifts (for fingerprints)."""
        return f"{self.kind}/{self.namespace or ''}/{self.name or ''}#{self.doc if self.name is None else ''}"


@dataclass
class AppSource:
    """One entry of an Application's ``source`` or ``sources``."""

    data: YMap
    index: int  # -1 for a single ``spec.source``

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None

    @property
    def repo_url(self) -> str | None:
        return self.text("repoURL")

    @property
    def chart(self) -> str | None:
        return self.text("chart")

    @property
    def target_revision(self) -> Any:
        return self.data.get("targetRevision")

    @property
    def path(self) -> str | None:
        return self.text("path")

    @property
    def ref(self) -> str | None:
        return self.text("ref")

    @property
    def plugin(self) -> str | None:
        plugin = self.data.get("plugin")
        if isinstance(plugin, dict):
            name = plugin.get("name")
            return str(name) if name is not None else ""
        return None

    def value_files(self) -> list[tuple[str, Pos]]:
        helm = self.data.get("helm")
        files = helm.get("valueFiles") if isinstance(helm, YMap) else None
        if not isinstance(files, YSeq):
            return []
        return [(str(v), files.item_pos(i)) for i, v in enumerate(files) if isinstance(v, str)]

    def pos(self, key: str | None = None) -> Pos:
        return self.data.value_pos(key) if key else self.data.pos


@dataclass
class Application:
    """An ArgoCD Application and where it sits in the layer tree."""

    obj: K8sObject
    layer: str | None  # the layer whose directory holds it (roots: the layer they are root of)
    is_root: bool
    sources: list[AppSource]

    @property
    def name(self) -> str:
        return self.obj.name or ""

    @property
    def path(self) -> str:
        return self.obj.path

    @property
    def label(self) -> str:
        """How messages name it: its quoted name, or "in <file>" when it has none."""
        return repr(self.name) if self.name else f"in {self.path}"

    @property
    def spec(self) -> YMap:
        return self.obj.spec or YMap()

    @property
    def wave(self) -> Any:
        return self.obj.annotations().get(SYNC_WAVE)

    def wave_pos(self) -> Pos:
        """Where the sync-wave is, or where it belongs (annotations, else metadata, else the object)."""
        meta = self.obj.data.get("metadata")
        if isinstance(meta, YMap):
            ann = meta.get("annotations")
            if isinstance(ann, YMap):
                return ann.value_pos(SYNC_WAVE) if SYNC_WAVE in ann else meta.key_pos("annotations")
            if "annotations" in meta:
                return meta.key_pos("annotations")
        return self.obj.data.key_pos("metadata") if "metadata" in self.obj.data else self.obj.pos

    @property
    def destination(self) -> YMap:
        dest = self.spec.get("destination")
        return dest if isinstance(dest, YMap) else YMap()

    @property
    def dest_namespace(self) -> str | None:
        ns = self.destination.get("namespace")
        return str(ns) if isinstance(ns, str) else None

    @property
    def sync_policy(self) -> YMap | None:
        policy = self.spec.get("syncPolicy")
        return policy if isinstance(policy, YMap) else None

    @property
    def multi_source(self) -> bool:
        return isinstance(self.spec.get("sources"), YSeq)


@dataclass
class Bundle:
    """An app's files under apps/helm/<app>/ and apps/manifests/<app>/."""

    name: str
    helm_dir: str | None = None
    manifests_dir: str | None = None
    helm_files: dict[str, SourceFile] = field(default_factory=dict)  # relative name -> file
    manifests: list[K8sObject] = field(default_factory=list)

    def helm_file(self, name: str) -> SourceFile | None:
        return self.helm_files.get(name)


@dataclass
class Layer:
    """A configured layer and what the repository holds for it."""

    name: str
    root: Application | None
    apps: list[Application] = field(default_factory=list)


@dataclass
class RepoModel:
    """Everything the rules may look at."""

    root: Path
    config: Config
    files: dict[str, SourceFile]
    objects: list[K8sObject]
    applications: list[Application]
    layers: dict[str, Layer]
    bundles: dict[str, Bundle]
    dirs: set[str]
    all_files: set[str]
    skipped: list[discover.Skipped]
    repo_url: str | None
    by_kind: dict[str, list[K8sObject]] = field(default_factory=dict)
    apps_by_name: dict[str, list[Application]] = field(default_factory=dict)
    # CustomResourceDefinitions from config ``crds:`` entries outside the repository.
    external_crds: list[K8sObject] = field(default_factory=list)
    # Content digest of each file, when the parse cache was used, and its shards to write back.
    digests: dict[str, bytes] | None = None
    cache_stale: set[int] = field(default_factory=set)
    cache_fresh: set[str] = field(default_factory=set)  # files the cache did not hold: parsed in this run
    cache_policy: str = ""  # cache.policy of the plaintext-secret settings of this run
    # The paths whose findings are wanted (pre-commit: the committed files, staged deletions
    # included; a directory stands for every file below it), or None for all. The engine decides
    # which findings a focused run reports (engine.in_scope); the checks still read the whole
    # repository, and may skip only what :meth:`relevant` says cannot be reported.
    focus: frozenset[str] | None = None
    _focus_dirs: tuple | None = None  # (focus, its directory prefixes, its ancestors): see relevant
    # Indexes derived from the model that several checks share (built once, by the first to ask).
    memo: dict[str, Any] = field(default_factory=dict)

    def exists(self, rel: str) -> bool:
        """Whether a repo-relative path (file or directory) exists in the walked tree."""
        rel = _norm(rel)
        return rel == "" or rel in self.dirs or rel in self.all_files

    def kind(self, *kinds: str) -> Iterator[K8sObject]:
        for kind in kinds:
            yield from self.by_kind.get(kind, ())

    def is_this_repo(self, url: str | None) -> bool:
        return bool(url) and self.repo_url is not None and url_key(url) == url_key(self.repo_url)

    def app_of_path(self, path: str) -> str | None:
        """The app a file belongs to, by the bundle or Application layout."""
        return _app_of_path(self.config, path)

    def child_apps(self) -> Iterator[Application]:
        return (a for a in self.applications if not a.is_root)

    def relevant(self, *paths: str) -> bool:
        """Whether a finding standing at, or related to, one of ``paths`` can be reported in this
        run: always in an unfocused run; in a focused one when a path is focused, lies in a
        focused directory, or is a directory that holds a focused path (a staged deletion
        included). THE one question a check asks before skipping work in a focused (pre-commit)
        run; what is reported is the engine's decision (:func:`gitops_kit.engine.in_scope`)."""
        focus = self.focus
        if focus is None:
            return True
        index = self._focus_dirs
        if index is None or index[0] is not focus:
            index = self._focus_dirs = _focus_index(focus, self.files)
        _, prefixes, holders = index
        for path in paths:
            if path in focus or path in holders or (prefixes and path.startswith(prefixes)):
                return True
        return False

    def in_focus(self, path: str) -> bool:
        """:meth:`relevant` for one path (the name modules outside the checks use)."""
        return self.relevant(path)

    def kustomizations(self) -> list[tuple[str, YMap]]:
        """(path, document) of every Kustomization in the repository, in path order."""
        return [(path, doc.data) for path, sf in self.files.items() for doc in sf.documents
                if is_kustomization(path, doc.data)]

    def layer_of_app(self, name: str) -> str | None:
        for app in self.apps_by_name.get(name, ()):
            if not app.is_root:
                return app.layer
        return None


def _focus_index(focus: frozenset[str], files: dict) -> tuple:
    """(focus, the prefixes of its directories, every directory above a focused path): entries
    that are not files are directories ("." or "" the whole repository)."""
    if "" in focus or "." in focus:
        return focus, ("",), frozenset()
    prefixes = tuple(d + "/" for d in focus if d not in files)
    holders = set()
    for path in focus:
        parts = path.split("/")
        holders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return focus, prefixes, frozenset(holders)


def _norm(rel: str) -> str:
    parts = []
    for part in rel.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            else:
                return "\x00outside"
            continue
        parts.append(part)
    return "/".join(parts)


def strip_credentials(url: str) -> str:
    """``url`` without a ``user:token@`` part (it may be printed or committed)."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@", r"\1", url.strip())


@lru_cache(maxsize=1024)
def url_key(url: str) -> str:
    """A repository URL compared loosely: no scheme, user, ``.git`` or trailing slash; scp-style
    ``git@host:path`` as ``host/path``; lower case. THE comparison of repository URLs."""
    url = strip_credentials(url).rstrip("/")
    url = re.sub(r"\.git$", "", url)
    url = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", url)
    url = re.sub(r"^[^@/]+@([^:/]+):", r"\1/", url)
    return url.lower()




def _app_of_path(config: Config, path: str) -> str | None:
    for base in (config.helm_dir, config.manifests_dir):
        prefix = base + "/"
        if path.startswith(prefix):
            rest = path[len(prefix):]
            return rest.split("/", 1)[0] if "/" in rest else None
    for spec in config.layers:
        prefix = spec.dir + "/"
        if path.startswith(prefix) and path.endswith(("-app.yaml", "-app.yml")):
            name = path.rsplit("/", 1)[-1]
            return name.rsplit("-app.", 1)[0]
    return None
