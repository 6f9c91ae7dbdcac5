"""The repository model: built once from one walk and one parse per file; rules read only this."""

from __future__ import annotations

import errno
import os
import re
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from .. import discover, progress, yamlio
from ..config import Config
from ..errors import UsageError
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
    # The files whose findings are wanted (pre-commit: the committed files), or None for all.
    # Rules whose findings for a file depend on that file alone may skip the others; every
    # other rule still reads the whole repository.
    focus: frozenset[str] | None = None
    _focus_dirs: tuple | None = None
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
        return bool(url) and self.repo_url is not None and _norm_url(url) == _norm_url(self.repo_url)

    def app_of_path(self, path: str) -> str | None:
        """The app a file belongs to, by the bundle or Application layout."""
        return _app_of_path(self.config, path)

    def child_apps(self) -> Iterator[Application]:
        return (a for a in self.applications if not a.is_root)

    def in_focus(self, path: str) -> bool:
        """Whether findings in ``path`` are wanted in this run."""
        focus = self.focus
        if focus is None or path in focus:
            return True
        dirs = self._focus_dirs
        if dirs is None or dirs[0] is not focus:
            # entries that are not files are directories (or "."): their files are in focus
            dirs = self._focus_dirs = (focus, tuple(d + "/" for d in focus if d not in self.files))
        return bool(dirs[1]) and path.startswith(dirs[1])

    def kustomizations(self) -> list[tuple[str, YMap]]:
        """(path, document) of every Kustomization in the repository, in path order."""
        return [(path, doc.data) for path, sf in self.files.items() for doc in sf.documents
                if is_kustomization(path, doc.data)]

    def layer_of_app(self, name: str) -> str | None:
        for app in self.apps_by_name.get(name, ()):
            if not app.is_root:
                return app.layer
        return None


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


@lru_cache(maxsize=1024)
def _norm_url(url: str) -> str:
    url = url.strip().rstrip("/")
    url = re.sub(r"\.git$", "", url)
    url = re.sub(r"^[a-z+]+://", "", url)
    url = re.sub(r"^git@([^:]+):", r"\1/", url)
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


_MEMO: dict[str, tuple[tuple[int, int], SourceFile]] | None = None


@contextmanager
def reuse_parses() -> Iterator[None]:
    """Within this block, a file unchanged on disk (same size and mtime) is parsed only once,
    however many models are built (``new-app`` validates against the repository, then lints it)."""
    global _MEMO
    outer = _MEMO
    _MEMO = {} if outer is None else outer
    try:
        yield
    finally:
        _MEMO = outer


def load_file(root: Path, rel: str, limit: int | None = None) -> SourceFile | discover.Skipped:
    """Read and parse one file; problems are recorded, never raised. Over ``limit`` bytes it is
    not read: the answer is a Skipped entry (never without a limit)."""
    path = os.path.join(root, rel)  # a string: pathlib's joins cost 10 % of parsing 5000 small files
    memo_key = None
    if _MEMO is not None:
        try:
            st = os.stat(path)
            memo_key = (st.st_size, st.st_mtime_ns)
            hit = _MEMO.get(path)
            if hit is not None and hit[0] == memo_key:
                return hit[1]
        except OSError:
            memo_key = None
    sf = _read(path, rel, limit)[0]
    if memo_key is not None and _MEMO is not None:
        _MEMO[path] = (memo_key, sf)
    return sf


class TooBig(Exception):
    """Raised by :func:`read_bytes` for a file over its size limit."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


# Non-blocking: a FIFO named .yaml must not hang the open (it is then refused as not a regular file).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """A file's bytes (the one place the model reads a repository file).

    Only a regular file is read, and one over ``limit`` bytes is refused (TooBig) before it is
    read: the size comes from the open file, so the walk takes no stat of its own. The file is
    read in one call of its size (open, fstat, read, close: a third fewer system calls than
    ``open().read()``), and on to its end if it changed size meanwhile."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        size = st.st_size
        if limit is not None and size > limit:
            raise TooBig(size)
        data = os.read(fd, size + 1)
        if len(data) != size:  # it grew or shrank since fstat: read on to the end
            parts, total = [data], len(data)
            while chunk := os.read(fd, 1 << 20):
                parts.append(chunk)
                total += len(chunk)
                if limit is not None and total > limit:
                    raise TooBig(total)
            data = b"".join(parts)
        if limit is not None and len(data) > limit:
            raise TooBig(len(data))
        return data
    finally:
        os.close(fd)


def _read(path: str, rel: str, limit: int | None) -> tuple[SourceFile | discover.Skipped, bytes | None]:
    """One file read and parsed, and the bytes it was parsed from (None when it could not be read).
    A file over ``limit`` bytes is skipped, as the walk skips what it does not read."""
    try:
        raw = read_bytes(path, limit)
    except TooBig as big:
        return discover.Skipped(rel, f"file is {big.size} bytes, over the {limit}-byte limit (max_file_bytes): "
                                     "not read", True), None
    except OSError as exc:
        return SourceFile(rel, None, [], [yamlio.Problem(1, 1, f"cannot read file: {exc.strerror}", True)]), None
    return _parse_raw(rel, raw), raw


def build(root: Path, config: Config, use_cache: bool = False) -> RepoModel:
    """Walk, parse each YAML file once, and index what the rules need.

    With ``use_cache``, files whose bytes are unchanged since the last run come from the parse
    cache (see cache.py); ``model.digests`` then holds every file's content digest."""
    walked = discover.walk(root, config.exclude)
    limit = config.max_file_bytes
    digests: dict[str, bytes] | None = None
    stale: set[int] = set()
    fresh: set[str] = set()
    policy = ""
    if use_cache:
        from .. import cache, catalog

        # plaintext-secret's verdicts decide what may be cached; other parameters, other verdicts
        spec = catalog.load().get("plaintext-secret")
        policy = cache.policy(spec.params if spec else None, config.rule_settings("plaintext-secret").get("params"))
        files, digests, stale, fresh = _parse_cached(root, walked.yaml_files, limit, policy)
    else:
        files = _parse_all(root, walked.yaml_files, limit)
    for rel in [rel for rel, sf in files.items() if isinstance(sf, discover.Skipped)]:
        walked.skipped.append(files.pop(rel))  # over max_file_bytes: found out when opened
    model = assemble(root, config, files, walked)
    model.digests, model.cache_stale, model.cache_fresh, model.cache_policy = digests, stale, fresh, policy
    model.external_crds = _external_crds(root, config)
    return model


# Below this many files a second process costs more than it saves.
PARALLEL_PARSE_MIN_FILES = 1500
# Files per batch of the two-core parse: small enough that both cores finish within a few
# milliseconds of each other, large enough that each batch's pickle shares its repeated keys.
PARSE_BATCH = 32


def _parse_all(root: Path, rels: list[str], limit: int | None = None,
               digests: dict[str, bytes] | None = None) -> dict[str, SourceFile | discover.Skipped]:
    """Every file parsed once (refused over ``limit`` bytes); on two cores for large repositories
    (see parallel.share). Given ``digests``, the readers also fill in each readable file's
    content digest (for the parse cache), from the very bytes they parse."""
    from .. import parallel

    if digests is not None:
        from ..cache import digest

        def read_one(rel: str) -> tuple[SourceFile | discover.Skipped, bytes | None]:
            sf, raw = _read(os.path.join(root, rel), rel, limit)
            return sf, (digest(raw) if raw is not None else None)
    else:
        def read_one(rel: str) -> tuple[SourceFile | discover.Skipped, bytes | None]:
            return load_file(root, rel, limit), None

    def collect(pairs: list[tuple[SourceFile | discover.Skipped, bytes | None]]
                ) -> dict[str, SourceFile | discover.Skipped]:
        if digests is not None:
            digests.update((sf.path, key) for sf, key in pairs if key is not None)
        return {sf.path: sf for sf, _ in pairs}

    if len(rels) < PARALLEL_PARSE_MIN_FILES or not parallel.available() or _MEMO is not None:
        progress.phase("parsing files", len(rels))
        return collect([_ticked(read_one(rel), 1) for rel in rels])
    progress.phase("parsing files", len(rels))
    parsed = collect(parallel.share(rels, read_one, batch=PARSE_BATCH))
    return {rel: parsed[rel] for rel in rels}


def _ticked(value: Any, steps: float) -> Any:
    progress.tick(steps)
    return value


def _parse_cached(root: Path, rels: list[str], limit: int | None, policy: str
                  ) -> tuple[dict[str, SourceFile | discover.Skipped], dict[str, bytes], set[int], set[str]]:
    """Read and hash every file; parse only those the cache does not hold with the same bytes.
    Returns the files, their digests, the cache shards to rewrite and the files parsed now."""
    from .. import cache

    cached, unused = cache.load(root, policy)
    files: dict[str, SourceFile | discover.Skipped] = {}
    digests: dict[str, bytes] = {}
    if not cached:  # nothing to compare with: hash while parsing, on both cores
        files = _parse_all(root, rels, limit, digests)
        return files, digests, {cache.shard_of(rel) for rel in rels} | unused, set(rels)
    misses: list[str] = []
    raws: dict[str, bytes] = {}
    progress.phase("reading files", len(rels))
    for rel in rels:
        progress.tick()
        try:
            raw = read_bytes(os.path.join(root, rel), limit)
        except (OSError, TooBig):
            misses.append(rel)  # read again (and reported) the usual way
            continue
        key = cache.digest(raw)
        digests[rel] = key
        hit = cached.get(rel)
        if hit is not None and hit[0] == key:
            files[rel] = hit[1]
        else:
            misses.append(rel)
            raws[rel] = raw
    if len(misses) >= PARALLEL_PARSE_MIN_FILES:
        raws.clear()  # a cold cache: parse on both cores (the workers read the files again)
        for rel in misses:
            # A file saved between the two reads must not be cached under the first read's
            # digest: the workers hash the bytes they parse (an unreadable file gets none).
            digests.pop(rel, None)
        files.update(_parse_all(root, misses, limit, digests))
    else:
        for rel in misses:
            files[rel] = _parse_raw(rel, raws[rel]) if rel in raws else load_file(root, rel, limit)
    current = set(rels)
    stale = {cache.shard_of(rel) for rel in rels if cached.get(rel) is None or cached[rel][1] is not files[rel]}
    stale |= {cache.shard_of(rel) for rel in cached if rel not in current}
    stale |= unused  # rewritten, even if empty now: nothing vetted under other settings stays on disk
    return {rel: files[rel] for rel in rels}, digests, stale, set(misses)


def _parse_raw(rel: str, raw: bytes) -> SourceFile:
    text, problems = yamlio.decode(raw)
    if text is None:
        return SourceFile(rel, None, [], problems)
    loaded = yamlio.load_text(text)
    return SourceFile(rel, text, loaded.documents, problems + loaded.problems)


# A folder of CRDs holds tens of files; a walk past this many entries was pointed at the wrong place
# (``crds: ['/']`` would otherwise walk the whole file system).
MAX_CRD_ENTRIES = 10_000


def _external_crds(root: Path, config: Config) -> list[K8sObject]:
    """CRDs of config ``crds:`` entries outside the repository (inside it, they are objects already).

    Bounded like the repository's own files: regular files only, each at most ``max_file_bytes``,
    no symlinked folder followed, at most MAX_CRD_ENTRIES entries walked per entry. An entry that
    breaks a bound or cannot be read is a configuration error naming the entry's line, never a
    silent gap in the schemas."""
    out: list[K8sObject] = []
    real_root = root.resolve()
    limit = config.max_file_bytes
    for i, entry in enumerate(config.crds):
        where = (config.path, config.pos_of("crds", i))
        target = Path(entry) if Path(entry).is_absolute() else root / entry
        try:
            target.resolve().relative_to(real_root)
            continue
        except ValueError:
            pass
        for path in _crd_files(str(target), entry, where):
            sf, _ = _read(path, path, limit)
            if isinstance(sf, discover.Skipped):
                raise UsageError(f"crds: {entry!r}: {os.path.basename(path)}: {sf.reason}", *where)
            unreadable = [p for p in sf.problems if p.message.startswith("cannot read file")]
            if unreadable:
                raise UsageError(f"crds: {entry!r}: {path}: {unreadable[0].message}", *where)
            for doc in sf.documents:
                d = doc.data
                if isinstance(d, YMap) and d.get("kind") == "CustomResourceDefinition" and \
                        isinstance(d.get("apiVersion"), str):
                    out.append(K8sObject(sf, doc.index, d, d["apiVersion"], "CustomResourceDefinition", None, None))
    return out


def _crd_files(target: str, entry: str, where: tuple[str | None, int | None]) -> list[str]:
    """The YAML files of one ``crds:`` entry, sorted; bounded, links to folders not followed."""
    if not os.path.isdir(target):
        return [target]
    found: list[str] = []
    seen = 0

    def refuse(exc: OSError) -> None:
        raise UsageError(f"crds: {entry!r}: cannot read {exc.filename}: {exc.strerror}", *where)

    for folder, dirs, names in os.walk(target, onerror=refuse, followlinks=False):
        seen += len(dirs) + len(names)
        if seen > MAX_CRD_ENTRIES:
            raise UsageError(f"crds: {entry!r} holds more than {MAX_CRD_ENTRIES} files and folders: "
                             "name the folder that holds the CRDs", *where)
        dirs.sort()
        found.extend(os.path.join(folder, n) for n in names if n.endswith((".yaml", ".yml")))
    return sorted(found)


def assemble(root: Path, config: Config, files: dict[str, SourceFile], walked: discover.Walk) -> RepoModel:
    """Build the model from parsed files (split from ``build`` so parsing can be parallel or cached)."""
    objects: list[K8sObject] = []
    for sf in files.values():
        for doc in sf.documents:
            data = doc.data
            if not isinstance(data, YMap):
                continue
            api, kind = data.get("apiVersion"), data.get("kind")
            if not isinstance(api, str) or not isinstance(kind, str):
                continue
            meta = data.get("metadata")
            name = ns = None
            if isinstance(meta, YMap):
                name = meta.get("name") if isinstance(meta.get("name"), str) else None
                ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
            objects.append(K8sObject(sf, doc.index, data, api, kind, name, ns))

    by_kind: dict[str, list[K8sObject]] = {}
    for obj in objects:
        by_kind.setdefault(obj.kind, []).append(obj)

    roots = {spec.root: spec.name for spec in config.layers}
    layer_dirs = [(spec.dir + "/", spec.name) for spec in config.layers]
    applications: list[Application] = []
    for obj in by_kind.get("Application", []):
        if not obj.api_version.startswith("argoproj.io/"):
            continue
        spec = obj.spec
        sources: list[AppSource] = []
        if spec is not None:
            many = spec.get("sources")
            if isinstance(many, YSeq):
                sources = [AppSource(s, i) for i, s in enumerate(many) if isinstance(s, YMap)]
            elif isinstance(spec.get("source"), YMap):
                sources = [AppSource(spec["source"], -1)]
        if obj.path in roots:
            applications.append(Application(obj, roots[obj.path], True, sources))
            continue
        layer = None
        for prefix, name in layer_dirs:
            if obj.path.startswith(prefix):
                layer = name
                break
        applications.append(Application(obj, layer, False, sources))

    layers = {spec.name: Layer(spec.name, None) for spec in config.layers}
    for app in applications:
        if app.layer is None:
            continue
        if app.is_root:
            if layers[app.layer].root is None:
                layers[app.layer].root = app
        else:
            layers[app.layer].apps.append(app)

    repo_url = config.repo_url
    if not repo_url and config.layers:
        first_root = layers[config.layers[0].name].root
        if first_root is not None and first_root.sources:
            repo_url = first_root.sources[0].repo_url

    bundles: dict[str, Bundle] = {}

    def bundle_named(name: str) -> Bundle:
        bundle = bundles.get(name)
        if bundle is None:
            bundle = bundles[name] = Bundle(name)
        return bundle

    helm_prefix, man_prefix = config.helm_dir + "/", config.manifests_dir + "/"
    for d in walked.dirs:
        for prefix, attr in ((helm_prefix, "helm_dir"), (man_prefix, "manifests_dir")):
            if d.startswith(prefix) and "/" not in d[len(prefix):]:
                setattr(bundle_named(d[len(prefix):]), attr, d)
    for sf in files.values():
        for prefix in (helm_prefix, man_prefix):
            if sf.path.startswith(prefix):
                rest = sf.path[len(prefix):]
                if "/" not in rest:
                    continue
                name, inner = rest.split("/", 1)
                bundle = bundle_named(name)
                if prefix == helm_prefix:
                    bundle.helm_files[inner] = sf
    for obj in objects:
        if obj.path.startswith(man_prefix) and "/" in obj.path[len(man_prefix):]:
            bundle_named(obj.path[len(man_prefix):].split("/", 1)[0]).manifests.append(obj)

    apps_by_name: dict[str, list[Application]] = {}
    for app in applications:
        apps_by_name.setdefault(app.name, []).append(app)

    return RepoModel(root=root, config=config, files=files, objects=objects, applications=applications,
                     layers=layers, bundles=bundles, dirs=walked.dirs, all_files=walked.files,
                     skipped=walked.skipped, repo_url=repo_url, by_kind=by_kind, apps_by_name=apps_by_name)
