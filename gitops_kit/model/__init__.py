"""The repository model: built once from one walk and one parse per file; rules read only this.

Modules by concern: :mod:`.types` (the model's dataclasses), this module (reading and parsing
files, the parse cache, :func:`build`), :mod:`.assemble` (objects, Applications, layers and
bundles from parsed files), and the facts layer the checks call: :mod:`.values` (Helm values
in ArgoCD's merge order), :mod:`.delivery` (what each Application source delivers),
:mod:`.kustomize` (kustomizations, patches, effective namespace/labels), :mod:`.ownership`
(bundle and parent Applications), :mod:`.cmp` (config-management plugins), :mod:`.paths`
(ArgoCD's directory walk and glob), :mod:`.text` (positions inside string scalars).
"""

from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .. import discover, progress, yamlio
from ..config import Config
from ..errors import UsageError
from ..yamlio import YMap
from .types import (  # noqa: F401 - the public names of the model, importable from here as before
    IGNORE_ANNOTATION,
    KUSTOMIZATION_FILES,
    SYNC_WAVE,
    Application,
    AppSource,
    Bundle,
    K8sObject,
    Layer,
    Pos,
    RepoModel,
    SourceFile,
    _app_of_path,
    _norm,
    strip_credentials,
    url_key,
    is_kustomization,
)

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


def read_text(model: RepoModel, rel: str, limit: int) -> str | None:
    """The text of a walked file the model does not parse (a ``.gitignore``), or None when the
    walk did not see it, a link takes it outside the repository, it is over ``limit`` bytes or
    it cannot be read. The one way a fact reads a file besides the parse."""
    from ..safepaths import inside

    if rel not in model.all_files:
        return None
    path = os.path.join(model.root, rel)
    if not inside(model.root, path):
        return None
    try:
        return read_bytes(path, limit).decode("utf-8", "replace")
    except (OSError, TooBig):
        return None


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


# THE parallel threshold: below this many files (or cache entries) a second process costs more
# than it saves. The parse, the engine and the cache writer take their threshold from here.
PARALLEL_MIN_FILES = 1500
PARALLEL_PARSE_MIN_FILES = PARALLEL_MIN_FILES  # the parse's own name, so tests can lower it alone
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


from .assemble import assemble  # last: it imports the types above
