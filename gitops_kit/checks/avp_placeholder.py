"""avp-placeholder: Vault ``<path:...>`` placeholders that argocd-vault-plugin would not replace.

A placeholder is wrong when it is malformed, points at another app's Vault path, sits in a file
that reaches the cluster through a source not rendered by the AVP plugin (the literal string
would be applied), or was committed URL-encoded (``%3Cpath%3A...``).

A source is rendered by the AVP plugin when it names it (``avp_plugin``, or a plugin of this
repository whose generate command runs argocd-vault-plugin), or when it names no renderer and a
plugin's ``discover`` rule takes its directory (as ArgoCD's discovery does). Which source reads
which file is the model's fact (:func:`gitops_kit.model.delivery.deliveries`): a plain directory
source without ``directory.recurse`` does not read its subdirectories, a kustomize source reads
what its kustomization names (``../base`` included).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..findings import Hit
from ..model import Application, RepoModel
from ..model.delivery import Delivery, deliveries
from ..yamlio import YMap, YSeq
from . import _secrets as s

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 16

_OPEN = "<path:"
# AVP only matches lower-case "<path:"; any other case is found here to be reported as malformed.
_SECRET_KIND = re.compile(r"""kind["']?\s*:\s*["']?Secret\b""")
_OPEN_ANY_CASE = re.compile(r"<path:", re.IGNORECASE)
_PATH = re.compile(r"[^\s#<>|/]+(?:/[^\s#<>|/]+)+")
_PART = re.compile(r"[^\s#<>|]+")
# Regex and shell text that mentions the syntax (a sed expression decoding placeholders) is not a
# placeholder: real Vault paths never hold these characters.
_PATTERN_CHARS = re.compile(r"[\\()\[\]^$*+?{}]")
_ENCODED = re.compile(r"%3Cpath%3A(?:[A-Za-z0-9_.\-/]|%2F)+(?:%23|#)[A-Za-z0-9_.\-]+", re.IGNORECASE)


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    templates = _layer_templates(params)
    modifiers = {str(m) for m in params.get("modifiers") or ()}
    skip_kinds = {str(k) for k in params.get("skip_kinds") or ()}
    # A document that is an Application owns the placeholders in its inline values.
    owners: dict[int, Application] | None = None
    for path, sf in model.files.items():
        if not model.relevant(path):
            continue  # every finding stands in the file that holds the placeholder
        raw = sf.text or ""
        # A placeholder needs a "<" or "%3" in some value, or base64 in a Secret; escapes ("\u003c")
        # are the only way a value holds a "<" its file's text lacks.
        if "<" not in raw and "%3" not in raw and "\\" not in raw and not _SECRET_KIND.search(raw):
            continue
        lines = s.SourceLines(sf.text)
        if owners is None:
            owners = {id(app.obj.data): app for app in model.applications}
        for doc in sf.documents:
            data = doc.data
            if not isinstance(data, (YMap, YSeq)):
                continue
            kind = data.get("kind") if isinstance(data, YMap) else None
            if isinstance(kind, str) and kind in skip_kinds:
                continue
            scan = _Scan(model, path, lines, templates, modifiers, owners.get(id(data)))
            yield from scan.document(data, doc.index)


def _layer_templates(params: dict[str, Any]) -> dict[str, str]:
    """Layer name -> Vault path template with ``{app}``."""
    out: dict[str, str] = {}
    for layer, ref in (params.get("layer_paths") or {}).items():
        ref = str(ref)
        template = ref if "{app}" in ref else params.get(ref)
        if isinstance(template, str) and "{app}" in template:
            out[str(layer)] = template.strip("/")
    return out


class _Scan:
    """The placeholders of one document."""

    def __init__(self, model: RepoModel, path: str, lines: s.SourceLines, templates: dict[str, str],
                 modifiers: set[str], owner: Application | None) -> None:
        self.model = model
        self.path = path
        self.lines = lines
        self.templates = templates
        self.modifiers = modifiers
        self.owner = owner
        self._deliveries: list[Delivery] | None = None

    def document(self, data: YMap | YSeq, doc_index: int) -> Iterator[Hit]:
        secret_data = None
        if isinstance(data, YMap) and data.get("kind") == "Secret" and data.get("apiVersion") == "v1":
            secret_data = data.get("data") if isinstance(data.get("data"), YMap) else None
        stack: list[tuple[Any, str]] = [(data, "")]
        while stack:
            node, where = stack.pop()
            items: list[tuple[Any, Any, tuple[int, int]]]
            if isinstance(node, YMap):
                items = [(k, v, node.value_pos(k)) for k, v in node.items()]
            elif isinstance(node, YSeq):
                items = [(i, v, node.item_pos(i)) for i, v in enumerate(node)]
            else:
                continue
            for key, value, pos in reversed(items):
                sub = f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else str(key))
                if isinstance(value, str):
                    text, encoded = value, False
                    if node is secret_data:
                        decoded = s.decode_base64(value)
                        if decoded is not None:
                            text, encoded = decoded, True
                    yield from self._string(text, pos, sub, encoded, doc_index)
                elif isinstance(value, (YMap, YSeq)):
                    stack.append((value, sub))

    def _string(self, text: str, pos: tuple[int, int], where: str, encoded: bool, doc_index: int) -> Iterator[Hit]:
        if "<" not in text and "%3" not in text:
            return
        key = f"{self.path}#{doc_index}:{where}"
        for n, m in enumerate(_ENCODED.finditer(text)):
            yield Hit(self.path, self._pos(text, pos, m.start(), encoded),
                      f"{where}: URL-encoded Vault placeholder (%3Cpath%3A...) committed; argocd-vault-plugin only "
                      "finds <path:...>, so write the placeholder decoded", key=f"{key}:encoded#{n}")
        for n, m in enumerate(_OPEN_ANY_CASE.finditer(text)):
            start = m.start()
            candidate, closed = _candidate(text, start)
            if not _PATTERN_CHARS.search(candidate[len(_OPEN):]):
                hit_pos = self._pos(text, pos, start, encoded)
                yield from self._placeholder(candidate, closed, hit_pos, where, f"{key}#{n}")

    def _pos(self, text: str, pos: tuple[int, int], offset: int, encoded: bool) -> tuple[int, int]:
        return pos if encoded else s.string_pos(self.lines, pos, text, offset)

    def _placeholder(self, candidate: str, closed: bool, pos: tuple[int, int], where: str, key: str) -> Iterator[Hit]:
        problem, kv_path = _parse(candidate, closed, self.modifiers)
        shown = candidate if len(candidate) <= 120 else candidate[:117] + "..."
        if problem is not None:
            yield Hit(self.path, pos, f"{where}: malformed Vault placeholder {shown!r}: {problem}; write "
                      "<path:kv/data/...#KEY> or <path:kv/data/...#KEY#VERSION>", key=f"{key}:malformed")
            return
        assert kv_path is not None
        yield from self._ownership(kv_path, pos, where, key)
        yield from self._delivery(pos, where, key)

    def deliveries(self) -> list[Delivery]:
        if self._deliveries is None:
            self._deliveries = deliveries(self.model, self.path)
        return self._deliveries

    def _apps(self) -> list[tuple[str, str | None]]:
        """(app name, layer) candidates the placeholder belongs to."""
        if self.owner is not None:
            return [(self.owner.name, self.owner.layer)]
        out = [(d.app.name, d.app.layer) for d in self.deliveries() if not d.app.is_root]
        bundle = self.model.app_of_path(self.path)
        if bundle and not any(name == bundle for name, _ in out):
            out.append((bundle, self.model.layer_of_app(bundle) or (out[0][1] if out else None)))
        return out

    def _ownership(self, kv_path: str, pos: tuple[int, int], where: str, key: str) -> Iterator[Hit]:
        expected: list[str] = []
        for name, layer in self._apps():
            template = self.templates.get(layer or "")
            if not name or template is None or "{{" in name:
                continue
            prefix = template.replace("{app}", name)
            if kv_path == prefix or kv_path.startswith(prefix + "/"):
                return
            expected.append(prefix)
        if expected:
            names = " or ".join(dict.fromkeys(expected))
            yield Hit(self.path, pos, f"{where}: Vault path {kv_path!r} is not this app's: expected {names}",
                      key=f"{key}:path", severity=self.model.config.convention_severity)  # a convention

    def _delivery(self, pos: tuple[int, int], where: str, key: str) -> Iterator[Hit]:
        plugin = self.model.config.avp_plugin
        deliveries = self.deliveries()
        plain = [d for d in deliveries if not d.avp]
        if plain:
            how = f"it is delivered by {plain[0].label}"
            if self.owner is not None:
                how = (f"it is inline in Application {self.owner.name!r}, whose manifest is delivered by "
                       f"{plain[0].label}")
        elif deliveries:
            return
        else:
            # Rendered by nothing we can see: judge by the app's Application(s) instead.
            name = self.owner.name if self.owner is not None else self.model.app_of_path(self.path)
            apps = [a for a in self.model.apps_by_name.get(name or "", []) if not a.is_root]
            if not apps or any(src.plugin == plugin for a in apps for src in a.sources):
                return
            how = f"no source reads this file and Application {name!r} has no {plugin} source"
        yield Hit(self.path, pos, f"{where}: Vault placeholder not rendered by the {plugin} plugin ({how}): it would "
                  "reach the cluster as the literal string", key=f"{key}:plugin")


def _candidate(text: str, start: int) -> tuple[str, bool]:
    """The placeholder text starting at ``start`` and whether it is closed with ``>``."""
    i = start + len(_OPEN)
    while i < len(text):
        ch = text[i]
        if ch == ">":
            return text[start:i + 1], True
        if ch in "<\n\"'":
            break
        i += 1
    return text[start:i].rstrip(), False


def _parse(candidate: str, closed: bool, modifiers: set[str]) -> tuple[str | None, str | None]:
    """(problem, KV path): what is wrong with a placeholder, or its path when it is well formed."""
    if not candidate.startswith(_OPEN):
        return f"argocd-vault-plugin only recognises lower-case {_OPEN!r}", None
    if not closed:
        return "it is not closed with '>'", None
    inner = candidate[len(_OPEN):-1]
    main, bar, rest = inner.partition("|")
    if bar:
        for mod in rest.split("|"):
            name = mod.strip().split(" ", 1)[0]
            if name not in modifiers:
                return f"unknown modifier {name!r} (AVP knows {', '.join(sorted(modifiers))})", None
        main = main.rstrip(" ")
    if not main:
        return "it is empty", None
    if any(ch.isspace() for ch in main):
        return "it contains whitespace", None
    parts = main.split("#")
    if len(parts) < 2:
        return "it has no #KEY", None
    if len(parts) > 3:
        return "it has more than two '#'", None
    kv_path, secret_key = parts[0], parts[1]
    if not kv_path:
        return "the KV path is empty", None
    if not _PATH.fullmatch(kv_path):
        return f"the KV path {kv_path!r} is not a Vault path like kv/data/...", None
    if not secret_key or not _PART.fullmatch(secret_key):
        return "the #KEY is empty", None
    if len(parts) == 3 and not parts[2].isdigit():
        return f"the version {parts[2]!r} after the second '#' is not a number", None
    return None, kv_path
