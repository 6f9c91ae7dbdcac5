"""plaintext-secret: credentials committed in clear text instead of Vault ``<path:...>`` placeholders.

Detectors over every parsed document (values files, manifests, Applications, kustomizations):

* a v1 ``Secret``'s ``data`` (decoded from base64) and ``stringData`` values, and kustomize
  ``secretGenerator`` literals, that are not placeholders;
* a secret-looking key (:func:`_secrets.is_secret_key`) with a literal string value, also inside
  Application inline ``helm.values`` strings and kustomize patch strings (read line by line) and
  in ``name``/``value`` pairs (container env, ``helm.parameters``);
* well-known token formats and connection strings with a password, in any string value;
  and a random-looking literal under a bare ``key`` (:func:`_secrets.looks_like_credential`).

What is encrypted or only names a secret is not reported (issue 20): SOPS ``ENC[...]`` values
(the ``sops`` block holds only SOPS's metadata), a SealedSecret's ``spec.encryptedData``, an ExternalSecret's
``secretKey``/``remoteRef``/``dataFrom`` (also embedded in chart values), Vault Secrets
Operator objects and SecretProviderClasses (their fields name paths and keys: only token
formats are looked for), and references (see ``_secrets.is_reference_value``, ``!secret``).
In a SOPS-encrypted document, a secret-looking key whose value the file's SOPS rule left in
clear text is reported as such.

A finding names the file, line, key and kind of secret, never the value (see ``_secrets.mask``).
"""

from __future__ import annotations

from typing import Any, Iterator

from ..findings import Hit
from ..model import RepoModel, SourceFile, is_kustomization
from ..yamlio import YMap, YSeq
from . import _secrets as s

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 75

LITERAL = "a literal value"

# Objects whose secret-looking fields hold names, paths or ciphertext, by kind and API group
# (a mapping without an apiVersion, as in chart values, or a templated one, counts as the group).
_EXTERNAL_SECRETS = frozenset({"ExternalSecret", "ClusterExternalSecret", "PushSecret"})
_VAULT_OPERATOR = frozenset({"VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret", "VaultAuth",
                             "VaultAuthGlobal", "VaultConnection", "HCPVaultSecretsApp", "HCPAuth",
                             "SecretTransformation"})
_SPECIAL_KINDS = _EXTERNAL_SECRETS | _VAULT_OPERATOR | {"SealedSecret", "SecretProviderClass"}
# The fields of an ExternalSecret's data item, a PushSecret's data item, that only name things.
_ESO_ITEM_REFS = ("secretKey", "remoteRef", "sourceRef", "match")
_BARE_KEYS = frozenset({"key", "Key", "KEY"})
# SOPS leaves keys with this suffix in clear text when the file sets no rule of its own.
_SOPS_DEFAULT_SUFFIX = "_unencrypted"
# In every message about a clear-text value of a SOPS-encrypted document (its advice is SOPS's).
SOPS_MARK = " left unencrypted in a SOPS-encrypted file: "


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    manifests = model.config.manifests_dir.strip("/") + "/"
    for path, sf in model.files.items():
        if model.relevant(path):
            hits = file_hits(path, sf, params)
            yield from (_outside_avp(h, manifests) for h in hits) if path.startswith(manifests) else hits


# The advice of file_hits' messages, which is wrong where argocd-vault-plugin does not render: a
# placeholder there reaches the cluster as the literal string (and avp-placeholder reports it).
_PLACEHOLDER_ADVICE = (", not a Vault <path:...> placeholder", "; use a Vault <path:...> placeholder",
                       "; use valueFrom.secretKeyRef or a Vault <path:...> placeholder")


def _outside_avp(hit: Hit, manifests: str) -> Hit:
    """``hit`` with the advice for a file in the manifests directory, which AVP never renders."""
    message = hit.message
    if SOPS_MARK in message:
        return hit  # encrypting it with SOPS is the fix there, not a Vault placeholder
    cut = min((i for i in (message.find(a) for a in _PLACEHOLDER_ADVICE) if i >= 0), default=len(message))
    advice = (f"; {manifests} is not rendered by argocd-vault-plugin, so a Vault placeholder here would "
              "reach the cluster as is: reference a Secret that exists (valueFrom.secretKeyRef, existingSecret), "
              "or move this Secret into the app's umbrella chart (apps/helm/<app>/templates/, rendered by "
              "avp-helm) with a <path:...> placeholder")
    return Hit(hit.path, hit.pos, message[:cut] + advice, app=hit.app, key=hit.key, severity=hit.severity)


def file_hits(path: str, sf: SourceFile, params: dict[str, Any]) -> Iterator[Hit]:
    """This rule's findings in one file: they depend on nothing else (the parse cache vets files with it)."""
    if not s.may_hold_secret(sf.text or ""):
        return
    skip_kinds = {str(k) for k in params.get("skip_kinds") or ()}
    literal_keys = {str(k).lower() for k in params.get("literal_keys") or ()}
    scanner = _Scanner(path, s.SourceLines(sf.text), literal_keys)
    for doc in sf.documents:
        data = doc.data
        if isinstance(data, str):
            yield from scanner.formats(data, doc.pos, "", (), f"doc{doc.index}")
            continue
        if not isinstance(data, (YMap, YSeq)):
            continue
        kind = data.get("kind") if isinstance(data, YMap) else None
        if isinstance(kind, str) and kind in skip_kinds:
            continue  # encrypted data (SealedSecret) and schemas (CRDs) hold no secrets
        yield from scanner.document(data, doc.index)


def _a(kind: str) -> str:
    return kind if kind.startswith(("a ", "an ")) else ("an " if kind[0] in "AEIOU" else "a ") + kind


def _join(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


def _kinds(matches: list[s.Match]) -> str:
    seen: list[str] = []
    for m in matches:
        if m.kind not in seen:
            seen.append(m.kind)
    return " and ".join(_a(k) for k in seen)


class _Scanner:
    """One file's documents; remembers nothing across files."""

    def __init__(self, path: str, lines: s.SourceLines, literal_keys: set[str]) -> None:
        self.path = path
        self.lines = lines
        self.literal_keys = literal_keys
        # of the document being read: the names of its SOPS rule settings (None: not SOPS encrypted)
        self.sops: list[str] | None = None
        self.sops_suffix = ""  # the document's sops.unencrypted_suffix, if any

    # --- documents ---------------------------------------------------------------------------

    def document(self, data: YMap | YSeq, index: int) -> Iterator[Hit]:
        done: set[tuple[int, Any]] = set()  # (id(container), key) already judged by a special case
        label, ident = "", f"doc{index}"
        self.sops, self.sops_suffix = None, ""
        meta = s.sops_metadata(data)
        if meta is not None and isinstance(data, YMap):
            # The sops block (recipients, encrypted data keys, the MAC) is read like the rest: it
            # holds no secret-looking key, and what the rule reads, the parse cache may keep.
            self.sops = s.sops_rules(meta)
            suffix = meta.get("unencrypted_suffix")
            self.sops_suffix = suffix if isinstance(suffix, str) else ""
        if isinstance(data, YMap):
            kind, api = data.get("kind"), data.get("apiVersion")
            meta = data.get("metadata")
            name = meta.get("name") if isinstance(meta, YMap) else None
            if isinstance(kind, str) and isinstance(api, str):
                label = f"{kind} {name!r}" if isinstance(name, str) else kind
                ns = meta.get("namespace") if isinstance(meta, YMap) else None
                ident = f"{kind}/{ns if isinstance(ns, str) else ''}/{name if isinstance(name, str) else index}"
            if kind == "Secret" and api == "v1":
                yield from self._secret(data, label, ident, done)
            if is_kustomization(self.path, data):
                yield from self._kustomization(data, label or "kustomization", ident, done)
            if isinstance(api, str) and api.startswith("argoproj.io/") and kind in ("Application", "ApplicationSet"):
                yield from self._application(data, kind, label, ident, done)
        yield from self._walk(data, label, ident, done)

    def _secret(self, data: YMap, label: str, ident: str, done: set) -> Iterator[Hit]:
        for field in ("data", "stringData"):
            values = data.get(field)
            if not isinstance(values, YMap):
                continue
            done.add((id(data), field))
            for key, value in values.items():
                if not isinstance(value, str) or s.is_ciphertext(value):
                    continue  # null is empty; numbers and mappings are the schema rule's business
                if field == "stringData" and _config_file(str(key), value):
                    # a configuration file (alertmanager.yml): its credentials, not the whole file
                    done.add((id(values), key))
                    yield from self._scan_text(value, values.value_pos(key), f"{label}: stringData.{key}", ident)
                    continue
                encoded = field == "data"
                text = s.decode_base64(value) if encoded else value
                verb = "decodes to" if encoded else "is"
                if text is None:
                    text, verb = value, "is not base64 and is"  # still a literal in the repository
                kind = self._secret_value_kind(str(key), text)
                if kind is None:
                    continue
                pos = values.value_pos(key)
                if not encoded and kind != LITERAL:
                    found = s.find_secrets(text)
                    if found:
                        pos = s.string_pos(self.lines, pos, text, found[0].offset)
                advice = (self._sops_reason(str(key)) if self.sops is not None
                          else ", not a Vault <path:...> placeholder")
                yield Hit(self.path, pos, f"{label}: {field}.{key} {verb} {_a(kind)} ({s.mask(value)}){advice}",
                          key=f"{ident}:{field}.{key}")

    def _secret_value_kind(self, key: str, text: str) -> str | None:
        """What a value that becomes Secret data is, or None when it may be committed."""
        if s.is_reference_value(text) or s.is_ciphertext(text) or s.is_public_certificate(text):
            return None
        found = s.find_secrets(text)
        if found:
            return found[0].kind
        parts = s.words(key)
        if parts and parts[-1] in self.literal_keys and not s.is_secret_key(key):
            return None  # connection coordinates (host, port, username) are not secrets
        return LITERAL

    def _kustomization(self, data: YMap, label: str, ident: str, done: set) -> Iterator[Hit]:
        for field, as_secret in (("secretGenerator", True), ("configMapGenerator", False)):
            generators = data.get(field)
            if not isinstance(generators, YSeq):
                continue
            for gi, gen in enumerate(generators):
                literals = gen.get("literals") if isinstance(gen, YMap) else None
                if not isinstance(literals, YSeq):
                    continue
                done.add((id(gen), "literals"))
                gen_name = gen.get("name")
                where = f"{label} {field} {gen_name!r}" if isinstance(gen_name, str) else f"{label} {field}[{gi}]"
                for li, literal in enumerate(literals):
                    if not isinstance(literal, str):
                        continue
                    key, sep, value = literal.partition("=")
                    key = key.strip()
                    if not sep:
                        continue
                    if as_secret:
                        kind = self._secret_value_kind(key, value)
                    elif s.is_secret_key(key) and not self._harmless(key, value):
                        kind = s.secret_kind(value) or LITERAL
                    else:
                        kind = s.secret_kind(value)
                    if kind is None:
                        continue
                    yield Hit(self.path, literals.item_pos(li), f"{where}: literal {key}= is {_a(kind)} "
                              f"({s.mask(value)}), not a Vault <path:...> placeholder",
                              key=f"{ident}:{field}[{gi}].literals.{key}")
        for pi, patch in enumerate(_seq(data.get("patches"))):
            if isinstance(patch, YMap) and isinstance(patch.get("patch"), str):
                done.add((id(patch), "patch"))
                yield from self._yaml_string(patch, "patch", f"{label} patches[{pi}].patch", ident)
        merges = _seq(data.get("patchesStrategicMerge"))
        for pi, patch in enumerate(merges):
            if isinstance(patch, str) and "\n" in patch:
                done.add((id(merges), pi))
                yield from self._yaml_item(merges, pi, f"{label} patchesStrategicMerge[{pi}]", ident)

    def _application(self, data: YMap, kind: str, label: str, ident: str, done: set) -> Iterator[Hit]:
        spec = data.get("spec")
        if kind == "ApplicationSet":
            template = spec.get("template") if isinstance(spec, YMap) else None
            spec = template.get("spec") if isinstance(template, YMap) else None
        if not isinstance(spec, YMap):
            return
        sources: list[tuple[str, YMap]] = []
        if isinstance(spec.get("source"), YMap):
            sources.append(("source", spec["source"]))
        for i, src in enumerate(_seq(spec.get("sources"))):
            if isinstance(src, YMap):
                sources.append((f"sources[{i}]", src))
        for where, src in sources:
            helm = src.get("helm")
            if isinstance(helm, YMap) and isinstance(helm.get("values"), str):
                done.add((id(helm), "values"))
                yield from self._yaml_string(helm, "values", f"{label} {where}.helm.values", ident)
            kustomize = src.get("kustomize")
            patches = kustomize.get("patches") if isinstance(kustomize, YMap) else None
            for pi, patch in enumerate(_seq(patches)):
                if isinstance(patch, YMap) and isinstance(patch.get("patch"), str):
                    done.add((id(patch), "patch"))
                    yield from self._yaml_string(patch, "patch", f"{label} {where}.kustomize.patches[{pi}].patch",
                                                 ident)

    # --- YAML inside strings -----------------------------------------------------------------

    def _yaml_string(self, container: YMap, key: str, where: str, ident: str) -> Iterator[Hit]:
        yield from self._scan_text(container[key], container.value_pos(key), where, ident)

    def _yaml_item(self, container: YSeq, index: int, where: str, ident: str) -> Iterator[Hit]:
        yield from self._scan_text(container[index], container.item_pos(index), where, ident)

    def _scan_text(self, text: str, pos: tuple[int, int], where: str, ident: str) -> Iterator[Hit]:
        reported: set[int] = set()
        seen: dict[str, int] = {}  # fingerprint keys must stay unique when a key repeats
        names: dict[int, str] = {}  # indent -> the `name:` of the list item being read (env pairs)
        for entry in s.scan_lines(text):
            if entry.key == "name" and entry.value is not None:
                names[entry.indent] = entry.value
                continue
            key = entry.key
            if key == "value" and entry.indent in names:
                key = names[entry.indent]
            if entry.value is None or entry.scalar_type != "str" or not s.is_secret_key(key):
                continue
            if self._harmless(key, entry.value):
                continue
            kind = s.secret_kind(entry.value) or LITERAL
            reported.add(entry.line)
            dotted = ".".join(entry.path[:-1] + (key,))
            seen[dotted] = seen.get(dotted, 0) + 1
            yield Hit(self.path, s.block_line(self.lines, pos, entry.line, entry.value),
                      f"{where}: secret-looking key {dotted!r} has {_a(kind)} ({s.mask(entry.value)}); use a Vault "
                      "<path:...> placeholder or a reference to an existing Secret",
                      key=f"{ident}:{where}:{dotted}#{seen[dotted]}")
        by_line: dict[int, list[s.Match]] = {}
        line = counted = 0
        for m in _live(text, s.find_secrets(text)):  # in order of offset: count newlines since the last match only
            line += text.count("\n", counted, m.offset)
            counted = m.offset
            if line not in reported:
                by_line.setdefault(line, []).append(m)
        for n, (line, matches) in enumerate(by_line.items()):
            yield Hit(self.path, s.string_pos(self.lines, pos, text, matches[0].offset),
                      f"{where}: line {line + 1} contains {_kinds(matches)} ({s.MASK})",
                      key=f"{ident}:{where}:format#{n}")

    # --- everything else ---------------------------------------------------------------------

    def _harmless(self, key: str, value: str) -> bool:
        return (s.is_reference_value(value) or s.is_ciphertext(value) or s.is_flag_value(value)
                or s.names_a_secret_object(key, value) or s.names_a_key(key, value) or s.is_auth_mode(key, value))

    def _tagged(self, node: YMap, key: Any) -> bool:
        """Whether ``node[key]`` was written with a reference tag (``!secret wifi_pass``)."""
        line, col = node.value_pos(key)
        return s.reference_tag(self.lines.line(line), col)

    def _sops_suffix_of(self, key: Any) -> str | None:
        """The unencrypted suffix ``key`` ends with in this SOPS document (the file's own, or
        SOPS's default ``_unencrypted``), else None."""
        if not isinstance(key, str):
            return None
        for suffix in (self.sops_suffix, _SOPS_DEFAULT_SUFFIX):
            if suffix and len(key) > len(suffix) and key.endswith(suffix):
                return suffix
        return None

    def _sops_secret_key(self, key: Any) -> bool:
        """is_secret_key in a SOPS document: also a secret-looking key carrying an unencrypted
        suffix (``password_unencrypted``), which SOPS leaves in clear text by name."""
        if s.is_secret_key(key):
            return True
        suffix = self._sops_suffix_of(key)
        return suffix is not None and s.is_secret_key(key[:-len(suffix)])

    def _sops_reason(self, key: str) -> str:
        """The end of a message about a value that a SOPS-encrypted document holds in clear text:
        which SOPS setting left it so (named, never quoted), and what to do."""
        suffix = self._sops_suffix_of(key)
        if suffix is not None and suffix == self.sops_suffix:
            why = f"its name ends in the file's sops.unencrypted_suffix {suffix}"
        elif suffix is not None and not self.sops:
            why = f"its name ends in {suffix}, which SOPS leaves unencrypted by default"
        elif self.sops:
            why = "its " + " and ".join(f"sops.{name}" for name in self.sops) + " does not cover this key"
        else:
            why = "SOPS encrypts every value by default, so it was added or decrypted after encryption"
        return f"{SOPS_MARK}{why}; encrypt the file again with a SOPS rule (.sops.yaml creation_rules) that covers it"

    def _special(self, node: YMap, kind: str, done: set) -> bool:
        """Mark the fields of a secret-tooling object that hold names or ciphertext as judged;
        True when the whole object only names things (look for token formats only)."""
        api = node.get("apiVersion")

        def of(group: str) -> bool:
            return not isinstance(api, str) or api.startswith(group + "/") or "{{" in api

        if kind in _EXTERNAL_SECRETS and of("external-secrets.io"):
            spec = node.get("spec")
            if kind == "ClusterExternalSecret" and isinstance(spec, YMap):
                spec = spec.get("externalSecretSpec")
            if isinstance(spec, YMap):
                for field in ("dataFrom", "secretStoreRef", "selector"):
                    done.add((id(spec), field))
                for item in _seq(spec.get("data")):
                    if isinstance(item, YMap):
                        done.update((id(item), field) for field in _ESO_ITEM_REFS)
        elif kind == "SealedSecret" and of("bitnami.com"):
            spec = node.get("spec")
            if isinstance(spec, YMap):
                done.add((id(spec), "encryptedData"))  # ciphertext; spec.template is read as usual
        elif kind in _VAULT_OPERATOR:
            return of("secrets.hashicorp.com")
        elif kind == "SecretProviderClass":
            return of("secrets-store.csi.x-k8s.io")
        return False

    def _formats_only(self, root: YMap, path: tuple, prefix: str, ident: str) -> Iterator[Hit]:
        stack: list[tuple[Any, tuple]] = [(root, path)]
        while stack:
            node, where = stack.pop()
            items = node.items() if isinstance(node, YMap) else enumerate(node)
            for key, value in items:
                if isinstance(value, str):
                    if s.may_contain_format(value):
                        pos = node.value_pos(key) if isinstance(node, YMap) else node.item_pos(key)
                        yield from self.formats(value, pos, prefix, where + (key,), ident)
                elif isinstance(value, (YMap, YSeq)):
                    stack.append((value, where + (key,)))

    def _walk(self, root: YMap | YSeq, label: str, ident: str, done: set) -> Iterator[Hit]:
        # Every node of every scanned document passes here: the common case (a string that is
        # neither under a secret key nor a token) costs two cached lookups.
        prefix = f"{label}: " if label else ""
        secret_key = s.is_secret_key if self.sops is None else self._sops_secret_key
        maybe_format, bare_keys, special_kinds = s.may_contain_format, _BARE_KEYS, _SPECIAL_KINDS
        stack: list[tuple[Any, tuple]] = [(root, ())]
        while stack:
            node, path = stack.pop()
            if isinstance(node, YMap):
                node_id = id(node)
                obj_kind = node.get("kind")
                if obj_kind.__class__ is str and obj_kind in special_kinds and self._special(node, obj_kind, done):
                    yield from self._formats_only(node, path, prefix, ident)
                    continue
                pair_name = node.get("name")
                if isinstance(pair_name, str) and secret_key(pair_name):
                    pair_value = node.get("value")
                    if isinstance(pair_value, str) and (node_id, "value") not in done:
                        done.add((node_id, "value"))
                        if not self._harmless(pair_name, pair_value) and not self._tagged(node, "value"):
                            kind = s.secret_kind(pair_value) or LITERAL
                            yield Hit(self.path, node.value_pos("value"),
                                      f"{prefix}{_join(path)} sets {pair_name} to {_a(kind)} ({s.mask(pair_value)})"
                                      + (self._sops_reason(pair_name) if self.sops is not None else
                                         "; use valueFrom.secretKeyRef or a Vault <path:...> placeholder"),
                                      key=f"{ident}:{_join(path)}:{pair_name}")
                for key, value in node.items():
                    if isinstance(value, str):
                        if done and (node_id, key) in done:
                            continue
                        if secret_key(key):
                            if not self._harmless(key, value) and not self._names_only(node, key, path):
                                yield self._secret_key_hit(node, key, value, path + (key,), prefix, ident)
                        elif key in bare_keys and s.looks_like_credential(value) and not self._tagged(node, key):
                            yield self._bare_key_hit(node, key, value, path + (key,), prefix, ident)
                        elif maybe_format(value):
                            yield from self.formats(value, node.value_pos(key), prefix, path + (key,), ident)
                    elif isinstance(value, (YMap, YSeq)) and not (done and (node_id, key) in done):
                        stack.append((value, path + (key,)))
            elif isinstance(node, YSeq):
                for i, value in enumerate(node):
                    if isinstance(value, str):
                        if maybe_format(value) and (id(node), i) not in done:
                            yield from self.formats(value, node.item_pos(i), prefix, path + (i,), ident)
                    elif isinstance(value, (YMap, YSeq)):
                        stack.append((value, path + (i,)))

    def _names_only(self, node: YMap, key: Any, path: tuple = ()) -> bool:
        """A secret-looking key whose value is a name here: written with a reference tag, an
        External Secrets data item's ``secretKey`` (a ``remoteRef`` beside it) in a chart's own
        shape, or the ``secret`` of an ``envFrom`` item (bjw-s app-template: the Secret's name)."""
        if key == "secretKey" and isinstance(node.get("remoteRef"), YMap):
            return True
        if key == "secret" and len(path) >= 2 and path[-2] == "envFrom":
            return True
        return self._tagged(node, key)

    def _secret_key_hit(self, node: YMap, key: str, value: str, path: tuple, prefix: str, ident: str) -> Hit:
        dotted = _join(path)
        kind = s.secret_kind(value) or LITERAL
        if self.sops is not None:
            return Hit(self.path, node.value_pos(key), f"{prefix}secret-looking key {dotted!r} has {_a(kind)} "
                       f"({s.mask(value)}){self._sops_reason(str(key))}", key=f"{ident}:{dotted}")
        return Hit(self.path, node.value_pos(key),
                   f"{prefix}secret-looking key {dotted!r} has {_a(kind)} ({s.mask(value)}); use a Vault "
                   "<path:...> placeholder or a reference to an existing Secret", key=f"{ident}:{dotted}")

    def _bare_key_hit(self, node: YMap, key: str, value: str, path: tuple, prefix: str, ident: str) -> Hit:
        dotted = _join(path)
        kind = s.secret_kind(value) or "random-looking literal"
        if self.sops is not None:
            return Hit(self.path, node.value_pos(key), f"{prefix}key {dotted!r} has {_a(kind)} that looks like a "
                       f"credential ({s.mask(value)}){self._sops_reason(str(key))}", key=f"{ident}:{dotted}")
        return Hit(self.path, node.value_pos(key),
                   f"{prefix}key {dotted!r} has {_a(kind)} that looks like a credential ({s.mask(value)}); use a "
                   "Vault <path:...> placeholder or a reference to an existing Secret", key=f"{ident}:{dotted}")

    def formats(self, value: str, pos: tuple[int, int], prefix: str, path: tuple, ident: str) -> Iterator[Hit]:
        """Token formats and connection strings in one string value, one hit per line."""
        found = _live(value, s.find_secrets(value))
        if not found or s.is_ciphertext(value):
            return
        dotted = _join(path)
        where, key = f"{prefix}{dotted}", f"{ident}:{dotted}"
        by_pos: dict[tuple[int, int], list[s.Match]] = {}
        for m in found:
            by_pos.setdefault(s.string_pos(self.lines, pos, value, m.offset), []).append(m)
        for n, (where_pos, matches) in enumerate(by_pos.items()):
            yield Hit(self.path, where_pos, f"{where} contains {_kinds(matches)} ({s.MASK})", key=f"{key}#{n}")


# A Secret key that names a YAML configuration file (alertmanager.yml, config.yaml).
_CONFIG_SUFFIXES = (".yaml", ".yml")


def _config_file(key: str, value: str) -> bool:
    """Whether a ``stringData`` entry is a YAML configuration file rather than one value: a file
    name that is not itself secret-looking, and several lines of ``key: value``. Its
    secret-looking keys and token formats are reported line by line, like inline Helm values."""
    if not key.lower().endswith(_CONFIG_SUFFIXES) or s.is_secret_key(key.rsplit(".", 1)[0]):
        return False
    return value.strip().count("\n") >= 1 and any(e.value is not None or e.scalar_type == "mapping"
                                                   for e in s.scan_lines(value))


def _live(text: str, found: list[s.Match]) -> list[s.Match]:
    """``found`` without the connection strings on lines that a configuration file embedded in a
    block scalar comments out (``# - path: rtsp://...``): an example, not what the tool reads.
    Token formats stay reported wherever they are: such a token is valid until revoked."""
    if not found or "\n" not in text:
        return found
    return [m for m in found if m.kind != s.CONNECTION_KIND or not s.commented_out(text, m.offset)]


def _seq(value: Any) -> YSeq | list:
    return value if isinstance(value, YSeq) else []
