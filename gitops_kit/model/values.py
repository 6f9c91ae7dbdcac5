"""The Helm values of an Application source, merged the way ArgoCD hands them to Helm.

The one place that resolves ``helm.valueFiles`` entries (``$ref/...`` included) and merges
``valueFiles``, ``values``, ``valuesObject``, ``parameters`` and ``fileParameters`` into one tree
that remembers where each leaf came from. Files come from the parsed model: nothing here reads
the disk, and a file the model does not hold (another repository, a chart package) is reported
as unresolved rather than guessed.

A check calls :func:`value_files` for "which files does this source name", :func:`helm_values`
for "what values does Helm get" and :meth:`Values.origin` for "where was this value set".
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import yamlio
from ..yamlio import YMap, YSeq
from .text import SourceLines, string_pos

if TYPE_CHECKING:
    from . import Application, AppSource, RepoModel

Pos = tuple[int, int]
Path = tuple  # a path into a values tree: keys (str) and list indexes (int)

# ArgoCD fills these in from the build environment before Helm runs ("$ARGOCD_APP_NAME/values.yaml").
_BUILD_ENV = re.compile(r"\{.*|ARGOCD_[A-Z0-9_]*|KUBE_VERSION|KUBE_API_VERSIONS")
_URL = re.compile(r"\A[a-zA-Z][a-zA-Z0-9+.\-]*://")
# Without helm_python, only names whose meaning needs no --set parser are accepted.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")


# --- which source reads this repository ------------------------------------------------------

def reads_this_repo(model: RepoModel, src: AppSource) -> bool:
    """Whether a git source reads this repository (a source or repository without a URL counts
    as this one: the files it names are then the files here, the best guess offline)."""
    url = src.repo_url
    return model.repo_url is None or url is None or model.is_this_repo(url)


def split_ref(raw: str) -> tuple[str, str] | None:
    """``$ref/path`` -> (ref, path relative to that repository's root, normalised); None for
    anything else (a plain path, ``$ref`` alone, a path that climbs out of the repository)."""
    if not raw.startswith("$"):
        return None
    name, sep, rest = raw[1:].partition("/")
    rel = _confined(rest) if sep else None
    return (name, rel) if rel else None


def ref_source(app: Application, raw: str) -> AppSource | None:
    """The source a ``$ref/...`` value file reads through (the one whose ``ref`` is ``ref``)."""
    if not raw.startswith("$"):
        return None
    name = raw[1:].partition("/")[0]
    return next((s for s in app.sources if s.ref == name), None)


def is_build_env(raw: str) -> bool:
    """Whether a ``$name/...`` value file names ArgoCD's build environment, not a source ``ref``."""
    return raw.startswith("$") and bool(_BUILD_ENV.fullmatch(raw[1:].partition("/")[0]))


# --- the values written in the Application ---------------------------------------------------

@dataclass(frozen=True)
class InlineValues:
    """The values an Application source writes inline, each as written (positions kept), for
    checks that judge what is written where rather than the merged tree (:func:`helm_values`)."""

    helm: YMap  # the source's ``helm`` block
    text: str | None  # ``helm.values``, a YAML string
    text_pos: Pos  # where that string starts (a block scalar's indicator)
    obj: YMap | YSeq | None  # ``helm.valuesObject``
    parameters: YSeq  # ``helm.parameters`` (empty when absent)


def inline_values(src: AppSource) -> InlineValues | None:
    """The ``helm`` block of a source as :class:`InlineValues`, or None without one."""
    helm = src.get("helm")
    if not isinstance(helm, YMap):
        return None
    text, obj, params = helm.get("values"), helm.get("valuesObject"), helm.get("parameters")
    return InlineValues(helm, text if isinstance(text, str) else None, helm.value_pos("values"),
                        obj if isinstance(obj, (YMap, YSeq)) else None,
                        params if isinstance(params, YSeq) else YSeq())


# --- value files -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ValueFile:
    """One ``helm.valueFiles`` entry and the repository file it names."""

    raw: str            # as written in helm.valueFiles
    rel: str | None     # repo-relative path when the file is in this repository, else None
    pos: Pos            # position of the entry in the Application file
    exists: bool        # rel is not None and the file exists
    remote: bool        # it names a file of another repository (or a URL): we cannot read it


def _confined(path: str) -> str | None:
    """``path`` normalised relative to the repository root, or None when it climbs out of it."""
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def value_file_path(model: RepoModel, app: Application, src: AppSource, raw: str) -> str | None:
    """THE one ``$ref`` resolver: the repo-relative file a value file names, else None.

    ``$ref/path`` is relative to the root of the repository of the source whose ``ref`` is
    ``ref`` (None when that source is not this repository or does not exist); a plain path is
    relative to the source's own ``path`` (ArgoCD), an absolute ``/x`` to the repository root;
    URLs, ArgoCD build-environment substitutions and paths that climb out of the repository
    give None."""
    return _resolve(model, app, src, raw)[0]


def _resolve(model: RepoModel, app: Application, src: AppSource, raw: str) -> tuple[str | None, bool]:
    """(repo-relative path or None, whether the file lives where we cannot read it)."""
    if _URL.match(raw):
        return None, True
    if raw.startswith("$"):
        target = ref_source(app, raw)
        if target is None or split_ref(raw) is None:
            return None, False  # unknown $ref or build environment: helm-pattern's finding
        if not reads_this_repo(model, target):
            return None, True
        rel = raw[1:].partition("/")[2]
    else:
        if src.chart is not None or src.path is None or not reads_this_repo(model, src):
            # a file inside a chart package or another repository
            return None, True
        rel = raw if raw.startswith("/") else posixpath.join(src.path, raw)
    if "$" in rel:
        return None, False  # ArgoCD substitutes build environment variables here
    return _confined(rel), False


def value_files(model: RepoModel, app: Application, src: AppSource) -> list[ValueFile]:
    """Every ``helm.valueFiles`` entry of ``src``, in order, resolved."""
    out = []
    for raw, pos in src.value_files():
        rel, remote = _resolve(model, app, src, raw)
        out.append(ValueFile(raw, rel, pos, rel is not None and rel in model.all_files, remote))
    return out


# --- the merged tree -------------------------------------------------------------------------

class _Origin:
    """Where a node of the values tree was set, and where its children were."""

    __slots__ = ("at", "kids")

    def __init__(self, at: tuple[str, Pos] | None) -> None:
        self.at = at
        self.kids: dict[Any, _Origin] = {}


@dataclass
class Values:
    """The values Helm gets from one source, merged in ArgoCD's order."""

    tree: dict[str, Any] = field(default_factory=dict)  # plain Python values
    problems: list[tuple[str, Pos, str]] = field(default_factory=list)  # (file, position, message)
    unresolved: list[ValueFile] = field(default_factory=list)  # value files we cannot read: the tree is partial
    # path -> where a null deleted it (the last null; a later layer may have set it again)
    nulled: dict[Path, tuple[str, Pos]] = field(default_factory=dict)
    _origins: _Origin = field(default_factory=lambda: _Origin(None), repr=False)

    def origin(self, path: Path) -> tuple[str, Pos] | None:
        """File and position of the leaf that set ``path``, else of its deepest ancestor that was set."""
        node, found = self._origins, self._origins.at
        for key in path:
            node = node.kids.get(key)
            if node is None:
                break
            if node.at is not None:
                found = node.at
        return found


def _plain(node: Any, file: str, where: Pos, locate: Any) -> tuple[Any, _Origin]:
    """A parsed YAML node as plain Python, nulls in mappings dropped (they delete keys), and the
    origin of each of its nodes. ``locate`` maps a position inside the parsed text to the file."""
    origin = _Origin((file, where))
    if isinstance(node, YMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            if value is None:
                continue
            collection = isinstance(value, (YMap, YSeq))
            at = locate(node.key_pos(key) if collection else node.value_pos(key))
            out[key], origin.kids[key] = _plain(value, file, at, locate)
        return out, origin
    if isinstance(node, YSeq):
        items = []
        for i, value in enumerate(node):
            item, origin.kids[i] = _plain(value, file, locate(node.item_pos(i)), locate)
            items.append(item)
        return items, origin
    if isinstance(node, dict):  # a --set tree: every node set by the one parameter
        out = {}
        for key, value in node.items():
            if value is not None:
                out[key], origin.kids[key] = _plain(value, file, where, locate)
        return out, origin
    if isinstance(node, list):
        items = []
        for i, value in enumerate(node):
            item, origin.kids[i] = _plain(value, file, where, locate)
            items.append(item)
        return items, origin
    return (str(node) if isinstance(node, str) else node), origin


def _merge(tree: dict, origins: _Origin, layer: dict, layer_origins: _Origin, *, by_index: bool = False,
           nulls: dict | None = None) -> None:
    """Helm's coalesce of ``layer`` over ``tree``: mappings merge deeply, anything else replaces.

    ``nulls`` (a tree of the keys the layer set to null) deletes them. ``by_index``: lists of a
    ``--set`` layer set items by index into the list already there (Helm's strvals), where
    the layer leaves an item unset (None) the old item stays."""
    for key, value in layer.items():
        old = tree.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            sub_nulls = nulls.get(key) if nulls else None
            _merge(old, origins.kids.setdefault(key, _Origin(None)), value, layer_origins.kids[key],
                   by_index=by_index, nulls=sub_nulls if isinstance(sub_nulls, dict) else None)
            origins.kids[key].at = layer_origins.kids[key].at
        elif by_index and isinstance(value, list) and isinstance(old, list):
            merged_origin = origins.kids.setdefault(key, _Origin(None))
            for i, item in enumerate(value):
                if item is None:
                    continue
                item_origin = layer_origins.kids[key].kids[i]
                while len(old) <= i:
                    old.append(None)
                if isinstance(item, dict) and isinstance(old[i], dict):
                    _merge(old[i], merged_origin.kids.setdefault(i, _Origin(None)), item, item_origin,
                           by_index=True)
                else:
                    old[i] = item
                    merged_origin.kids[i] = item_origin
            merged_origin.at = layer_origins.kids[key].at
        else:
            tree[key] = value
            origins.kids[key] = layer_origins.kids[key]
    for key, sub in (nulls or {}).items():
        if sub is None:
            tree.pop(key, None)
            origins.kids.pop(key, None)


def _nulls(node: Any) -> dict | None:
    """The keys a layer sets to null, as a tree (a null leaf: delete that key)."""
    if not isinstance(node, dict):
        return None
    out: dict[Any, Any] = {}
    for key, value in node.items():
        if value is None:
            out[key] = None
        elif isinstance(value, dict):
            sub = _nulls(value)
            if sub:
                out[key] = sub
    return out or None


class _Builder:
    """Accumulates the layers of one source's values."""

    def __init__(self) -> None:
        self.values = Values()

    def add(self, node: Any, file: str, where: Pos, locate: Any = None, *, by_index: bool = False) -> None:
        if not isinstance(node, dict):
            return
        locate = locate or (lambda p: p)
        plain, origin = _plain(node, file, where, locate)
        values = self.values
        _merge(values.tree, values._origins, plain, origin, by_index=by_index, nulls=_nulls(node))
        _record_nulls(values.nulled, node, (), file, where, locate)


def _record_nulls(out: dict, node: Any, path: Path, file: str, where: Pos, locate: Any) -> None:
    """Where each key set to null in ``node`` is (nulls delete keys: checks may still want the line)."""
    for key, value in node.items():
        at = locate(node.value_pos(key)) if isinstance(node, YMap) else where
        if value is None:
            out[(*path, key)] = (file, at)
        elif isinstance(value, dict):
            _record_nulls(out, value, (*path, key), file, at, locate)


def _block_locator(lines: SourceLines, value_pos: Pos, text: str) -> Any:
    """Maps (line, column) inside the ``values`` string to the Application file: exact for a
    literal block scalar, else the string's own position."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def locate(pos: Pos) -> Pos:
        line, col = pos
        if not 1 <= line <= len(starts):
            return value_pos
        return string_pos(lines, value_pos, text, starts[line - 1] + col - 1)
    return locate


def _set_parsers() -> tuple[Any, Any] | None:
    """helm_python's ``--set`` and ``--set-string`` parsers (the [render] extra), if installed."""
    try:
        from helm_python import parse_set_string, parse_set_string_values
    except ImportError:
        return None
    return parse_set_string, parse_set_string_values


def _argo_escape(value: str) -> str:
    """ArgoCD escapes commas in a parameter value unless it is a ``{a,b}`` list (cleanSetParameters)."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return re.sub(r"(?<!\\),", r"\\,", value)


def _typed(value: str) -> Any:
    """Helm's typing of a ``--set`` value (the part a plain value needs)."""
    if value in ("true", "false"):
        return value == "true"
    if value == "null":
        return None
    if _INT.fullmatch(value):
        return int(value)
    return value


def _set_tree(name: str, value: Any, force_string: bool) -> tuple[dict | None, str | None]:
    """The values tree of one ``name=value`` parameter, or a problem."""
    parsers = _set_parsers()
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    if parsers is not None:
        parse = parsers[1] if force_string else parsers[0]
        try:
            return parse(f"{_argo_escape(name)}={_argo_escape(text)}"), None
        except Exception as exc:  # helm_python's HelmValuesError, and anything else it raises
            return None, f"parameter {name!r}: Helm cannot parse it: {exc}"
    if not _PLAIN_NAME.fullmatch(name) or (text.startswith("{") and text.endswith("}")) or "\\" in text:
        return None, (f"parameter {name!r}: only plain dotted names and values can be read without "
                      "helm_python (install gitops-kit[render])")
    leaf: Any = text if force_string else _typed(text)
    keys = name.split(".")
    tree: dict = {keys[-1]: leaf}
    for key in reversed(keys[:-1]):
        tree = {key: tree}
    return tree, None


def _replace_leaf(tree: Any, marker: str, value: str) -> Any:
    if isinstance(tree, dict):
        return {k: _replace_leaf(v, marker, value) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_replace_leaf(v, marker, value) for v in tree]
    return value if tree == marker else tree


def helm_values(model: RepoModel, app: Application, src: AppSource) -> Values:
    """The values Helm gets from ``src``, in ArgoCD's order: each ``valueFiles`` entry, then the
    ``values`` string, then ``valuesObject``, then ``parameters`` and ``fileParameters``.
    Memoised per (Application, source) in ``model.memo``."""
    memo = model.memo.setdefault("helm_values", {})
    key = (id(app.obj.data), src.index)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _helm_values(model, app, src)
    return found


def _helm_values(model: RepoModel, app: Application, src: AppSource) -> Values:
    build = _Builder()
    out = build.values
    helm = src.get("helm")
    if not isinstance(helm, YMap):
        return out
    ignore_missing = helm.get("ignoreMissingValueFiles") is True
    for vf in value_files(model, app, src):
        if vf.rel is None:
            out.unresolved.append(vf)
            continue
        sf = model.files.get(vf.rel)
        if sf is None:
            if not vf.exists and not ignore_missing:
                out.problems.append((app.path, vf.pos, f"value file {vf.raw!r} does not exist ({vf.rel})"))
            elif vf.exists:
                out.problems.append((app.path, vf.pos, f"value file {vf.raw!r} was not read ({vf.rel})"))
            continue
        docs = [d for d in sf.documents if d.data is not None]
        if sf.text is None or any(p.fatal for p in sf.problems):
            out.problems.append((vf.rel, (1, 1), "values file cannot be parsed"))
        if not docs:
            continue
        data = docs[0].data
        if not isinstance(data, YMap):
            out.problems.append((vf.rel, docs[0].pos, f"values file is a {type(data).__name__}, not a mapping"))
            continue
        build.add(data, vf.rel, data.pos)
    _inline_values(build, app, helm)
    obj = helm.get("valuesObject")
    if isinstance(obj, YMap):
        build.add(obj, app.path, helm.key_pos("valuesObject"))
    elif obj is not None:
        out.problems.append((app.path, helm.value_pos("valuesObject"), "helm.valuesObject is not a mapping"))
    _parameters(build, model, app, src, helm)
    return out


def _inline_values(build: _Builder, app: Application, helm: YMap) -> None:
    """The ``values`` string (a block scalar in the Application file), parsed with positions."""
    out = build.values
    text = helm.get("values")
    if isinstance(text, YMap):  # written as a mapping: ArgoCD accepts it like valuesObject
        build.add(text, app.path, helm.key_pos("values"))
        return
    if not isinstance(text, str) or not text.strip():
        return
    value_pos = helm.value_pos("values")
    loaded = yamlio.load_text(text)
    locate = _block_locator(SourceLines(app.obj.file.text), value_pos, text)
    for problem in loaded.problems:
        out.problems.append((app.path, locate((problem.line, problem.column)),
                             f"helm.values: {problem.message}"))
    docs = [d for d in loaded.documents if d.data is not None]
    if not docs:
        return
    data = docs[0].data
    if not isinstance(data, YMap):
        out.problems.append((app.path, value_pos, f"helm.values is a {type(data).__name__}, not a mapping"))
        return
    build.add(data, app.path, value_pos, locate)


def _parameters(build: _Builder, model: RepoModel, app: Application, src: AppSource, helm: YMap) -> None:
    """``parameters`` (``--set``, ``--set-string`` when forceString) then ``fileParameters``
    (``--set-file``: the file's text, relative to the source path)."""
    out = build.values
    params = helm.get("parameters")
    if isinstance(params, YSeq):
        for i, param in enumerate(params):
            if not isinstance(param, YMap) or not isinstance(param.get("name"), str):
                continue
            where = param.value_pos("value") if "value" in param else params.item_pos(i)
            tree, problem = _set_tree(param["name"], param.get("value"), param.get("forceString") is True)
            if problem:
                out.problems.append((app.path, where, problem))
            elif tree:
                build.add(tree, app.path, where, by_index=True)
    files = helm.get("fileParameters")
    if not isinstance(files, YSeq):
        return
    for i, param in enumerate(files):
        if not isinstance(param, YMap) or not isinstance(param.get("name"), str):
            continue
        where = param.value_pos("path") if "path" in param else files.item_pos(i)
        path = param.get("path")
        rel = None
        if isinstance(path, str) and src.path is not None and src.chart is None and reads_this_repo(model, src):
            rel = _confined(path if path.startswith("/") else posixpath.join(src.path, path))
        sf = model.files.get(rel) if rel is not None else None
        if sf is None or sf.text is None:
            out.problems.append((app.path, where, f"fileParameters {param['name']!r}: file {path!r} was not read"))
            continue
        marker = "gitops-kit-set-file-marker-7f3a"  # a NUL does not survive the --set parser
        tree, problem = _set_tree(param["name"], marker, True)
        if problem:
            out.problems.append((app.path, where, problem))
        elif tree:
            build.add(_replace_leaf(tree, marker, sf.text), app.path, where, by_index=True)
