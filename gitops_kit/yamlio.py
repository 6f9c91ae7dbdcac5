"""The only module that imports a YAML library.

Reading uses libyaml through PyYAML's C parser, which composes a node graph carrying
line/column marks in C; we convert that graph once into plain Python containers that
remember positions (:class:`YMap`, :class:`YSeq`). Nothing is ever constructed from a
custom tag: unknown tags become their scalar text, so ``!!python/object`` is inert.
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import yaml

try:  # libyaml is the reason this tool is fast; the pure-Python parser is a fallback only.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Pos = tuple[int, int]  # 1-based (line, column)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"

# Alias expansion may produce at most this many nodes beyond one per character of text: an
# honest document never has more nodes than characters, a "billion laughs" one does.
NODE_SLACK = 10_000
# Deeper flow nesting than this is refused before it reaches libyaml's recursive composer,
# which crashes the process somewhere past 20,000 levels.
MAX_DEPTH = 1000


# Positions are packed into one int per key (key line, key column, value line, value column) and
# per sequence item (line, column): a 5000-app repository has millions of them, and tuples in two
# dicts per mapping cost a third of the model's memory. Lines up to 16M and columns up to 65535.
_L, _C = 0xFFFFFF, 0xFFFF


class YMap(dict):
    """A mapping that remembers where it, its keys and its values stand."""

    __slots__ = ("pos", "_p", "tag")

    def __init__(self) -> None:
        super().__init__()
        self.pos: Pos = (1, 1)
        self._p: dict[Any, int] = {}
        self.tag: str = _MAP

    def __reduce__(self) -> tuple:
        # pickle (the parse cache, the forked parse): one call and the items, not the generic
        # slots protocol, which builds a state dict per mapping (measured: dumps 25 % faster)
        return _ymap, (self.pos, self._p, self.tag), None, None, iter(self.items())

    def key_pos(self, key: Any) -> Pos:
        """Position of ``key``, or of this mapping when the key is absent."""
        p = self._p.get(key)
        return self.pos if p is None else (p >> 56, (p >> 40) & _C)

    def value_pos(self, key: Any) -> Pos:
        """Position of the value under ``key``, or of this mapping when absent."""
        p = self._p.get(key)
        return self.pos if p is None else ((p >> 16) & _L, p & _C)


class YSeq(list):
    """A sequence that remembers where it and its items stand."""

    __slots__ = ("pos", "_ip")

    def __init__(self) -> None:
        super().__init__()
        self.pos: Pos = (1, 1)
        self._ip: list[int] = []

    def __reduce__(self) -> tuple:
        return _yseq, (self.pos, self._ip), None, iter(self)

    def item_pos(self, index: int) -> Pos:
        """Position of item ``index``, or of this sequence when out of range."""
        if 0 <= index < len(self._ip):
            p = self._ip[index]
            return (p >> 16, p & _C)
        return self.pos


def _ymap(pos: Pos, positions: dict, tag: str) -> YMap:
    m = YMap.__new__(YMap)
    m.pos, m._p, m.tag = pos, positions, tag
    return m


def _yseq(pos: Pos, item_positions: list[int]) -> YSeq:
    q = YSeq.__new__(YSeq)
    q.pos, q._ip = pos, item_positions
    return q


class QStr(str):
    """A string scalar that was written quoted (``"0"``), so it is a string on purpose."""

    __slots__ = ()


@dataclass(frozen=True)
class Problem:
    """Something wrong with a file's text or syntax, found while loading."""

    line: int
    column: int
    message: str
    fatal: bool = False  # the document (or file) could not be read


@dataclass
class Document:
    """One YAML document of a file."""

    index: int
    data: Any
    pos: Pos


@dataclass
class Loaded:
    """The result of loading one file's text."""

    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def decode(raw: bytes) -> tuple[str | None, list[Problem]]:
    """Decode file bytes as YAML text; report anything that is not plain UTF-8."""
    problems: list[Problem] = []
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            return None, [Problem(1, 1, "file has a UTF-16 byte-order mark but is not valid UTF-16", True)]
        problems.append(Problem(1, 1, "file is UTF-16, not UTF-8; ArgoCD and most tools expect UTF-8"))
        return text, problems
    if b"\x00" in raw:
        return None, [Problem(1, 1, "file contains NUL bytes: binary data, not YAML", True)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Problem(line, col, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x}): not a text file", True)]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, problems


def _depth_guard(text: str) -> Problem | None:
    # libyaml's composer recurses in C; refuse pathological flow nesting before it does.
    opens = text.count("[") + text.count("{")
    if opens < MAX_DEPTH:
        return None
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in "]}":
            depth = max(0, depth - 1)
    if deepest > MAX_DEPTH:
        return Problem(1, 1, f"flow collections nested {deepest} deep (limit {MAX_DEPTH}): refused", True)
    return None


def _tab_problems(text: str) -> list[Problem]:
    if "\t" not in text:
        return []
    out = []
    for no, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            out.append(Problem(no, len(line) - len(stripped) + 1, "tab character in indentation"))
    return out


_IMPLICIT = _Loader.yaml_implicit_resolvers
_SCALAR_BUILDERS: dict[str, Any] = {}
_EV = yaml.events


def _builders() -> dict[str, Any]:
    if not _SCALAR_BUILDERS:
        c = yaml.constructor.SafeConstructor()
        _SCALAR_BUILDERS.update({_INT: c.construct_yaml_int, _FLOAT: c.construct_yaml_float,
                                 _BOOL: c.construct_yaml_bool, _NULL: c.construct_yaml_null})
    return _SCALAR_BUILDERS


class _TooBig(Exception):
    pass


class _Recursive(Exception):
    pass


class _Undefined(Exception):
    def __init__(self, anchor: str, line: int, column: int) -> None:
        super().__init__(anchor)
        self.anchor, self.line, self.column = anchor, line, column


_NO_KEY = object()


class _Builder:
    """Builds YMap/YSeq/scalars straight from libyaml's events, once, with limits.

    Building from events (not composed nodes) skips a node graph and PyYAML's per-node Python
    resolver: plain scalars are resolved with the same YAML 1.1 rules, quoted ones are strings.
    Aliases share the anchored object; their expanded size counts against a budget, so an alias
    bomb is refused in time proportional to the file, not to its expansion.
    """

    def __init__(self, loader: Any, budget: int) -> None:
        self.loader = loader
        self.budget = budget
        self.problems: list[Problem] = []

    def document(self) -> tuple[Any, Pos]:
        """Consume one document's events (after DocumentStart) and return its root."""
        # This loop runs once per YAML event (640k for 1000 apps): the open container, its
        # pending key and that key's packed position live in locals, not in a frame list, and
        # positions are packed straight from the marks, without a tuple per event.
        get = self.loader.get_event
        builders = _builders()
        implicit = _IMPLICIT
        plain = _PLAIN
        new_map, new_seq = YMap.__new__, YSeq.__new__
        anchors: dict[str, tuple[Any, int]] = {}
        open_anchors: set[str] = set()
        # saved frames of the enclosing containers: (container, is_map, key, key pos, anchor,
        # start budget, merged keys)
        stack: list[tuple[Any, bool, Any, int, Any, int, Any]] = []
        cur: Any = None  # the open container (None: at the document's root)
        is_map = False
        key: Any = _NO_KEY
        kp = 0  # the pending key's packed position
        merged: set | None = None
        anchor: Any = None
        start_used = 0
        root: Any = None
        root_pos: Pos = (1, 1)
        used = 0
        limit = self.budget
        problems = self.problems
        MappingStart, SequenceStart, Scalar, Alias = (_EV.MappingStartEvent, _EV.SequenceStartEvent,
                                                      _EV.ScalarEvent, _EV.AliasEvent)
        MappingEnd, SequenceEnd = _EV.MappingEndEvent, _EV.SequenceEndEvent
        while True:
            ev = get()
            cls = type(ev)
            used += 1  # checked against the budget only at aliases: nothing else outgrows the text
            if cls is Scalar:
                value = ev.value
                tag = ev.tag
                if tag is None and ev.implicit[0]:  # plain: YAML 1.1 implicit resolution
                    hit = plain.get(value, _NO_KEY)
                    if hit is not _NO_KEY:
                        value = hit  # also shares one string object between the many equal keys
                    else:
                        text = value
                        resolvers = implicit.get(value[:1])
                        if resolvers is not None:
                            for rtag, regexp in resolvers:
                                if regexp.match(value):
                                    value = self._typed(rtag, value, builders)
                                    break
                        if len(plain) < _PLAIN_CACHE_MAX and len(text) <= 64:
                            plain[text] = value
                elif tag is None or tag == _STR:
                    if ev.style in _QUOTES:
                        value = QStr(value)
                else:
                    value = self._scalar(ev, builders, implicit)
                if ev.anchor:
                    anchors[ev.anchor] = (value, 1)
                mark = ev.start_mark
                line, col = mark.line + 1, mark.column + 1
            elif cls is MappingStart or cls is SequenceStart:
                mark = ev.start_mark
                # __new__ and the slots set here: no Python-level __init__ frame per container
                if cls is MappingStart:
                    new: Any = new_map(YMap)
                    new._p = {}
                    new.tag = ev.tag if ev.tag and ev.tag != "!" else _MAP
                else:
                    new = new_seq(YSeq)
                    new._ip = []
                new.pos = (mark.line + 1, mark.column + 1)
                if ev.anchor:
                    open_anchors.add(ev.anchor)
                stack.append((cur, is_map, key, kp, anchor, start_used, merged))
                cur, is_map, key, kp, anchor, start_used, merged = (new, cls is MappingStart, _NO_KEY, 0,
                                                                     ev.anchor, used, None)
                continue
            elif cls is MappingEnd or cls is SequenceEnd:
                value = cur
                if anchor:
                    open_anchors.discard(anchor)
                    anchors[anchor] = (value, used - start_used)
                cur, is_map, key, kp, anchor, start_used, merged = stack.pop()
                line, col = value.pos
            elif cls is Alias:
                if ev.anchor in open_anchors:
                    self._drain()
                    raise _Recursive
                target = anchors.get(ev.anchor)
                if target is None:  # libyaml's parser lets it through; PyYAML's composer refuses it
                    mark = ev.start_mark
                    self._drain()
                    raise _Undefined(ev.anchor, mark.line + 1, mark.column + 1)
                value, size = target
                used += size
                if used > limit:
                    self._drain()
                    raise _TooBig
                mark = ev.start_mark
                line, col = mark.line + 1, mark.column + 1
            else:  # DocumentEnd (an empty document has a null scalar before it)
                return root, root_pos
            # place the value (a scalar, an alias or a finished container) in its container
            if cur is None:
                root, root_pos = value, (line, col)
                continue
            p = ((line if line <= _L else _L) << 16) | (col if col <= _C else _C)
            if not is_map:
                cur.append(value)
                cur._ip.append(p)
            elif key is _NO_KEY:
                if cls is Scalar:
                    if value == "<<" and ev.implicit[0]:
                        value = _MERGE_KEY
                elif isinstance(value, (YMap, YSeq)):  # a container (or an alias of one) as a key
                    value = f"<{'mapping' if type(value) is YMap else 'sequence'} key at line {line}>"
                key = value
                kp = p
            else:
                k = key
                key = _NO_KEY
                if k is _MERGE_KEY:
                    merged = self._merge(cur, merged, value)
                    continue
                positions = cur._p
                if k in positions:
                    self._duplicate(positions, k, kp, merged, problems)
                cur[k] = value
                positions[k] = (kp << 40) | p
            continue

    @staticmethod
    def _duplicate(positions: dict, key: Any, kp: int, merged: set | None, problems: list[Problem]) -> None:
        if merged and key in merged:
            merged.discard(key)  # an explicit key overrides one merged in by '<<'
        else:
            first = positions[key] >> 56
            problems.append(Problem(kp >> 16, kp & _C, f"duplicate key {str(key)!r} (first at line {first})"))

    @staticmethod
    def _merge(out: YMap, merged: set | None, value: Any) -> set:
        sources = value if isinstance(value, YSeq) else [value]
        if merged is None:
            merged = set()
        for src in sources:
            if isinstance(src, YMap):
                for k, v in src.items():
                    if k not in out:
                        out[k] = v
                        out._p[k] = src._p[k]
                        merged.add(k)
        return merged

    def _drain(self) -> None:
        """Skip to the end of the current document after a refusal."""
        get = self.loader.get_event
        while type(get()) not in (_EV.DocumentEndEvent, _EV.StreamEndEvent):
            pass

    @staticmethod
    def _typed(tag: str, value: str, builders: dict) -> Any:
        """A plain scalar that YAML 1.1 resolves to ``tag``: the SafeLoader's value, or the text."""
        if tag == _INT and value.isdigit() and (value[0] != "0" or len(value) == 1):
            return int(value)  # the common case, without a node and a regex in the constructor
        build = builders.get(tag)
        if build is None:
            return value  # timestamps, '<<' and '=' stay text
        try:
            return build(yaml.ScalarNode(tag, value))
        except (ValueError, yaml.YAMLError):
            return value

    @staticmethod
    def _scalar(ev: Any, builders: dict, implicit: dict) -> Any:
        tag = ev.tag
        value = ev.value
        if tag is None or tag == "!":
            if ev.implicit[0]:  # plain: YAML 1.1 implicit resolution, as PyYAML's SafeLoader does it
                for rtag, regexp in implicit.get(value[0] if value else "", ()):
                    if regexp.match(value):
                        tag = rtag
                        break
                else:
                    return value
            else:
                return QStr(value) if ev.style in ("'", '"') else value
        if tag == _STR:
            return QStr(value) if ev.style in ("'", '"') else value
        build = builders.get(tag)
        if build is not None:
            try:
                return build(yaml.ScalarNode(tag, value))
            except (ValueError, yaml.YAMLError):
                return value
        return value  # timestamps, binary, merge-less '<<' and custom tags stay text: never constructed


_MERGE_KEY = QStr("<<merge>>")
# Plain scalars resolved before (keys above all: "name", "metadata", "image"...): the same text
# always resolves to the same immutable value, so it is looked up instead of regex-matched.
_PLAIN: dict[str, Any] = {}
_PLAIN_CACHE_MAX = 200_000
_QUOTES = ("'", '"')


def load_text(text: str) -> Loaded:
    """Parse every document of ``text``; never raises for bad input."""
    text = str(text)  # libyaml takes exactly str, not a subclass such as QStr
    result = Loaded()
    result.problems.extend(_tab_problems(text))
    guard = _depth_guard(text)
    if guard:
        result.problems.append(guard)
        return result
    loader = _Loader(text)
    builder = _Builder(loader, len(text) + NODE_SLACK)
    index = 0
    try:
        loader.get_event()  # StreamStart
        while not loader.check_event(_EV.StreamEndEvent):
            start = loader.get_event()  # DocumentStart
            line = start.end_mark.line + 1
            try:
                data, pos = builder.document()
            except _TooBig:
                result.problems.append(Problem(line, 1, "aliases expand to more nodes than the file has "
                                                        "characters (alias bomb?): document not read", True))
                data, pos = None, (line, 1)
            except _Recursive:
                result.problems.append(Problem(line, 1, "recursive alias: document not read", True))
                data, pos = None, (line, 1)
            except _Undefined as exc:
                # never the alias's name: ``password: *hunter2`` is a value someone meant to quote
                result.problems.append(Problem(exc.line, exc.column, "YAML syntax error: an alias (*name) refers "
                                                                     "to no anchor (&name) before it: document "
                                                                     "not read", True))
                data, pos = None, (line, 1)
            result.documents.append(Document(index, data, pos))
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = _unquoted(exc.problem or exc.context or "syntax error")
        result.problems.append(Problem(line, col, f"YAML syntax error: {what}", True))
    except (yaml.YAMLError, RecursionError, ValueError) as exc:  # reader errors carry no mark
        result.problems.append(Problem(1, 1, f"YAML error: {type(exc).__name__}", True))
    finally:
        loader.dispose()
    result.problems.extend(builder.problems)
    return result


# A quoted stretch of two or more characters in a parser message: libyaml's messages quote single
# indicator characters only ("expected ',' or ']'"), PyYAML's pure-Python parser (the fallback) quotes
# source text ("found undefined tag handle '!hunter2!'"), which may be a secret.
_QUOTED_SOURCE = re.compile(r"'[^'\n]{2,}'|\"[^\"\n]{2,}\"")


def _unquoted(message: str) -> str:
    """A parser's message without any source text it quotes."""
    return _QUOTED_SOURCE.sub("(...)", message)


def dump(data: Any) -> str:
    """Serialise plain data as block-style YAML (for generated files and tests)."""
    return yaml.dump(_plain(data), Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(QStr, lambda d, v: d.represent_scalar(_STR, str(v), style='"'))


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data  # QStr stays: the dumper writes it quoted


def plain(value: Any, *, str_keys: bool = False) -> Any:
    """YMap/YSeq/QStr -> dict/list/str, e.g. for JSON schema validation or comparison."""
    if isinstance(value, dict):
        return {(str(k) if str_keys else k): plain(v, str_keys=str_keys) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, str_keys=str_keys) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def walk(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any, Any]]:
    """Yield (key path, parent container, value) for every node below ``data``."""
    stack = [(path, None, data)]
    while stack:
        p, parent, value = stack.pop()
        yield p, parent, value
        if isinstance(value, dict):
            for k, v in reversed(list(value.items())):
                stack.append((p + (k,), value, v))
        elif isinstance(value, list):
            for i in range(len(value) - 1, -1, -1):
                stack.append((p + (i,), value, value[i]))


def _mode_for(path: str) -> int:
    """The mode a written file gets: the replaced file's, else the usual 0666 less the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: str | os.PathLike, text: str, *, overwrite: bool = False,
                 root: str | os.PathLike | None = None) -> None:
    """Write ``text`` to ``path`` atomically; refuse to replace a file unless ``overwrite``.

    ``root``: the repository ``path`` is in, whose git-ignored cache folder takes the temporary
    file (see :func:`gitops_kit.safepaths.make_temp`); None for a path outside any repository."""
    path = os.fspath(path)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(path)
    temps: list[tuple[str, str]] = []
    try:
        os.replace(_write_temp(path, text, temps, root), path)
    except BaseException:
        _undo(temps, [], {}, [], root)
        raise


def _write_temp(path: str, text: str, temps: list[tuple[str, str]], root: str | os.PathLike | None) -> str:
    """``text`` in a new temporary file for ``path``, with the mode ``path`` gets, synced to disk.
    It is recorded in ``temps`` before anything is written, so a failure can always remove it; a
    run killed before the rename leaves it in ``root``'s git-ignored cache folder, where the next
    write removes it once stale."""
    from .safepaths import make_temp  # only writes need it: not imported by lint

    fd, tmp = make_temp(root, path)
    temps.append((tmp, path))
    os.chmod(tmp, _mode_for(path))
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def write_all(files: dict[str, str], originals: dict[str, bytes | None],
              root: str | os.PathLike | None = None) -> None:
    """Replace or create several files as one: every new text is written to a temporary file first,
    and only when all are on disk are they renamed into place. A failure while writing leaves every
    file as it was; a failure while renaming restores the files already replaced from ``originals``
    (None: the file did not exist, and is removed again). Directories it had to make are removed.
    ``root``: the repository the files are in (where temporary files go: see :func:`atomic_write`);
    the caller has checked every path with :func:`gitops_kit.safepaths.jail`."""
    temps: list[tuple[str, str]] = []
    made: list[str] = []
    try:
        for path, text in files.items():
            directory = os.path.dirname(path) or "."
            missing = []
            d = directory
            while not os.path.isdir(d):
                missing.append(d)
                d = os.path.dirname(d)
            for d in reversed(missing):
                os.mkdir(d)
                made.append(d)
            _write_temp(path, text, temps, root)
    except BaseException:
        _undo(temps, [], originals, made, root)
        raise
    done: list[str] = []
    try:
        for tmp, path in temps:
            os.replace(tmp, path)
            done.append(path)
    except BaseException:
        _undo(temps, done, originals, made, root)
        raise


def _undo(temps: list[tuple[str, str]], done: list[str], originals: dict[str, bytes | None], made: list[str],
          root: str | os.PathLike | None) -> None:
    for path in done:
        before = originals.get(path)
        if before is None:
            os.unlink(path)
        else:
            atomic_write(path, before.decode("utf-8"), overwrite=True, root=root)
    for tmp, _ in temps:
        if os.path.exists(tmp):
            os.unlink(tmp)
    for d in reversed(made):
        try:
            os.rmdir(d)
        except OSError:
            pass


class EditError(Exception):
    """A round-trip edit could not be applied (the file changed shape, or does not parse)."""


def _round_trip():
    from ruamel.yaml import YAML  # imported lazily: only edits need it, and it is slow to import

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap long lines the user wrote
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _detect_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation as the file writes it, so edits do not reformat."""
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    mapping = 2
    for line in lines:
        stripped = line.lstrip(" ")
        if line.startswith(" ") and not stripped.startswith("-"):
            mapping = len(line) - len(stripped)
            break
    for prev, line in zip(lines, lines[1:]):
        stripped = line.lstrip(" ")
        if stripped.startswith("- ") and prev.rstrip().endswith(":"):
            offset = (len(line) - len(stripped)) - (len(prev) - len(prev.lstrip(" ")))
            return mapping, offset + 2, offset
    return mapping, mapping, max(0, mapping - 2)


def edit_text(text: str, edits: list[tuple[int, tuple, Any]]) -> str:
    """Apply ``(document index, key path, value)`` edits with a comment-preserving round trip.

    A value of :data:`DELETE` removes the key. Missing intermediate mappings are created.
    Every byte outside the edited nodes is kept as written, comments and quoting included.
    """
    import io

    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    rt = _round_trip()
    m, seq, off = _detect_indent(text)
    rt.indent(mapping=m, sequence=seq, offset=off)
    try:
        docs = list(rt.load_all(text))
    except Exception as exc:  # ruamel raises many types; the caller reports the file
        raise EditError(f"cannot round-trip: {type(exc).__name__}") from None
    for index, path, value in edits:
        if index >= len(docs):
            raise EditError(f"document {index} does not exist")
        node = docs[index]
        for key in path[:-1]:
            if isinstance(node, dict):
                if key not in node or node[key] is None:
                    node[key] = {}
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                raise EditError(f"cannot reach {'.'.join(map(str, path))}")
        last = path[-1]
        if value is DELETE:
            if isinstance(node, dict) and last in node:
                del node[last]
            continue
        if isinstance(value, QStr):
            value = DoubleQuotedScalarString(str(value))
        if isinstance(node, dict) or (isinstance(node, list) and isinstance(last, int) and last < len(node)):
            node[last] = value
        else:
            raise EditError(f"cannot set {'.'.join(map(str, path))}")
    out = io.StringIO()
    if len(docs) == 1 and not text.lstrip().startswith("---"):
        rt.dump(docs[0], out)
    else:
        rt.explicit_start = text.lstrip().startswith("---")
        rt.dump_all(docs, out)
    dumped = out.getvalue()
    wanted = _data_of(dumped)
    settled = _settle_blank_lines(text, dumped)
    if settled != dumped and _data_of(settled) == wanted:
        dumped = settled
    return _undo_reformatting(text, dumped, wanted)


def _undo_reformatting(old: str, new: str, wanted: Any) -> str:
    """Put back, one changed block at a time, every original line whose change is not part of
    the data: ruamel writes a whole document in one indentation style, so a file that mixes
    indented and flush sequences (or aligns its comments) would come back reformatted far from
    the edit. A block is put back only if the document still reads as ``wanted`` (the edited
    one's :func:`_data_of`)."""
    a, b = old.splitlines(True), new.splitlines(True)
    changed = [op for op in line_opcodes(a, b) if op[0] != "equal"]
    if len(changed) > _MAX_UNDO_BLOCKS:
        return new  # each try reads the whole file again: a huge reformat stays as ruamel wrote it
    for _, i1, i2, j1, j2 in reversed(changed):  # from the end: earlier blocks keep their place in b
        trial = b[:j1] + a[i1:i2] + b[j2:]
        if _data_of("".join(trial)) == wanted:
            b = trial
    return "".join(b)


_MAX_UNDO_BLOCKS = 200


def _data_of(text: str) -> Any:
    """What an edit must keep: every document's data, and which problems are fatal."""
    loaded = load_text(text)
    return [plain(d.data) for d in loaded.documents], [p.fatal for p in loaded.problems]


def _settle_blank_lines(old: str, new: str) -> str:
    """Put lines ruamel inserted after a gap back before that gap.

    ruamel keeps the blank lines (and the comments of the next, outer block) that end a block with
    the entry before them, so a key appended to the block lands after the gap that separated the
    block from the next one; moving it above the gap leaves every original line where it was."""
    a, b = old.splitlines(True), new.splitlines(True)
    out: list[str] = []
    for tag, _i1, _i2, j1, j2 in line_opcodes(a, b):
        chunk = b[j1:j2]
        if tag == "insert" and chunk and chunk[0].strip():
            indent = len(chunk[0]) - len(chunk[0].lstrip(" "))
            k = 0
            while k < len(out):
                line = out[len(out) - 1 - k]
                stripped = line.strip()
                # blank lines, and comments of an outer block, belong to what follows the gap
                if stripped and not (stripped.startswith("#") and len(line) - len(line.lstrip(" ")) < indent):
                    break
                k += 1
            if k:
                out[len(out) - k:len(out) - k] = chunk
                continue
        out.extend(chunk)
    return "".join(out)


DELETE = object()

Opcode = tuple[str, int, int, int, int]  # as difflib's: (tag, a start, a end, b start, b end)

# Regions of at most this many line pairs (len(a) * len(b)) are matched by difflib exactly. Its
# matcher is quadratic or worse in the lines of a region (a 5,000-line file that ruamel rewrote
# took 39 s in edit_text); larger regions are first cut at the lines both sides hold once.
_EXACT_PAIRS = 40_000
_ANCHOR_DEPTH = 6  # rounds of cutting a region at its unique lines before a region is one block


def line_opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """difflib-style opcodes turning ``a`` into ``b``, in O(n log n) time for any input.

    Small inputs get exactly ``SequenceMatcher(None, a, b, autojunk=False).get_opcodes()``. Larger
    ones lose their common head and tail, then are cut at the lines that occur once on each side,
    in the longest order both sides share (patience diff), until each piece is small enough for
    difflib; a piece that cannot be cut is reported as replaced whole (a coarser, still correct
    diff). Never two "equal" or two changed opcodes in a row."""
    if len(a) * len(b) <= _EXACT_PAIRS:
        import difflib

        return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    ops: list[Opcode] = []
    _match_lines(a, 0, len(a), b, 0, len(b), ops, 0)
    return _merge_opcodes(ops)


def _match_lines(a: list[str], alo: int, ahi: int, b: list[str], blo: int, bhi: int,
                 ops: list[Opcode], depth: int) -> None:
    head = 0
    while alo + head < ahi and blo + head < bhi and a[alo + head] == b[blo + head]:
        head += 1
    tail = 0
    while tail < ahi - alo - head and tail < bhi - blo - head and a[ahi - 1 - tail] == b[bhi - 1 - tail]:
        tail += 1
    if head:
        ops.append(("equal", alo, alo + head, blo, blo + head))
    alo, blo, ahi, bhi = alo + head, blo + head, ahi - tail, bhi - tail
    n, m = ahi - alo, bhi - blo
    if not n and not m:
        pass
    elif not n:
        ops.append(("insert", alo, alo, blo, bhi))
    elif not m:
        ops.append(("delete", alo, ahi, blo, blo))
    elif n * m <= _EXACT_PAIRS:
        import difflib

        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi],
                                                           autojunk=False).get_opcodes():
            ops.append((tag, alo + i1, alo + i2, blo + j1, blo + j2))
    else:
        anchors = _unique_anchors(a, alo, ahi, b, blo, bhi) if depth < _ANCHOR_DEPTH else []
        if not anchors:
            ops.append(("replace", alo, ahi, blo, bhi))
        else:
            i0, j0 = alo, blo
            for i, j in anchors:
                _match_lines(a, i0, i, b, j0, j, ops, depth + 1)
                ops.append(("equal", i, i + 1, j, j + 1))
                i0, j0 = i + 1, j + 1
            _match_lines(a, i0, ahi, b, j0, bhi, ops, depth + 1)
    if tail:
        ops.append(("equal", ahi, ahi + tail, bhi, bhi + tail))


def _unique_anchors(a: list[str], alo: int, ahi: int, b: list[str], blo: int, bhi: int) -> list[tuple[int, int]]:
    """(i, j) of lines that occur once in a[alo:ahi] and once in b[blo:bhi], the longest run of
    them in the same order on both sides (a longest increasing subsequence: O(k log k))."""
    from bisect import bisect_left

    count: dict[str, int] = {}
    where_a: dict[str, int] = {}
    for i in range(alo, ahi):
        line = a[i]
        count[line] = count.get(line, 0) + 1
        where_a[line] = i
    seen_b: dict[str, int] = {}
    where_b: dict[str, int] = {}
    for j in range(blo, bhi):
        line = b[j]
        if count.get(line) == 1:
            seen_b[line] = seen_b.get(line, 0) + 1
            where_b[line] = j
    pairs = sorted((where_a[line], where_b[line]) for line, k in seen_b.items() if k == 1)
    if not pairs:
        return []
    tails: list[int] = []  # tails[k]: the smallest j ending an increasing run of length k + 1
    tail_at: list[int] = []  # the index in pairs of that run's last pair
    back: list[int] = []  # each pair's predecessor in its run
    for index, (_, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        back.append(tail_at[k - 1] if k else -1)
        if k == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[k] = j
            tail_at[k] = index
    run: list[tuple[int, int]] = []
    index = tail_at[-1]
    while index != -1:
        run.append(pairs[index])
        index = back[index]
    run.reverse()
    return run


def _merge_opcodes(ops: list[Opcode]) -> list[Opcode]:
    """Adjacent opcodes of one kind (equal, or changed) joined, as difflib would report them."""
    out: list[Opcode] = []
    for op in ops:
        if op[1] == op[2] and op[3] == op[4]:
            continue
        if out and (out[-1][0] == "equal") == (op[0] == "equal"):
            tag, i1, _, j1, _ = out[-1]
            i2, j2 = op[2], op[4]
            if tag != "equal":
                tag = "replace" if i1 < i2 and j1 < j2 else ("delete" if i1 < i2 else "insert")
            out[-1] = (tag, i1, i2, j1, j2)
        else:
            out.append(op)
    return out
