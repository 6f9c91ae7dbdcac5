"""Secret detection shared by the safety rules, and reusable by reports and error messages.

Public:

* :func:`is_secret_key` - does a key name say "this holds a credential"?
* :func:`secret_kind` / :func:`find_secrets` - well-known token formats and connection strings
  with an embedded password, anywhere in a text;
* :func:`is_reference_value` - a value that points at a secret instead of being one;
* :func:`is_ciphertext` / :func:`sops_metadata` - SOPS ``ENC[...]`` values and the ``sops``
  block that marks a document SOPS encrypted;
* :func:`names_a_key` / :func:`looks_like_credential` - a ``*Key`` value that names a key of a
  Secret; a random-looking literal under a bare ``key``;
* :func:`mask` - the one rendering of a secret value: a fixed mask, never a prefix;
* :func:`scan_lines` - a line-oriented ``key: value`` reader for YAML held in strings (inline
  Helm values, kustomize patches), since checks may not import a YAML library;
* :func:`string_pos` - the file position of an offset inside a string scalar;
* :func:`decode_base64` - a Secret ``data`` value as text.

Nothing here returns or logs a value: callers get kinds, offsets and positions.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

# Positions inside string scalars are facts of the file (the model's); re-exported for the checks.
from ..model.text import SourceLines, block_line, string_pos  # noqa: F401

Pos = tuple[int, int]

MASK = "***"

# Words that, as the last word of a key, name a credential (``adminPassword``, ``DB-PASSWORD``).
SECRET_WORDS = frozenset({
    "password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret", "token", "credentials",
    "credential", "creds", "auth", "apikey", "privatekey", "secretkey", "accesskey", "htpasswd",
})
# ``key`` alone is an identifier (``passwordKey: db-password`` names a key of a Secret); after one
# of these words it is a credential (``apiKey``, ``AWS_SECRET_ACCESS_KEY``, ``encryptionKey``).
KEY_QUALIFIERS = frozenset({"api", "private", "secret", "access", "encryption", "signing", "master", "license",
                            "shared", "preshared", "routing", "service"})
# Words after a credential word that still name the credential (iSCSI CHAP's ``password_mutual``).
TRAILING_QUALIFIERS = frozenset({"mutual"})
# A ``*Secret`` key after these words is always the secret itself, never the name of a Secret.
SECRET_VALUE_QUALIFIERS = frozenset({"client"})
# Words in a ``*Secret`` key that say its value is the name of a Kubernetes Secret object
# (``TS_KUBE_SECRET: tailscale``: the Tailscale operator's state Secret).
SECRET_OBJECT_WORDS = frozenset({"kube", "k8s", "kubernetes"})
# Values of an ``auth`` key that name a mechanism rather than hold a credential.
AUTH_MODES = frozenset({
    "none", "basic", "bearer", "digest", "oauth", "oauth2", "oidc", "ldap", "saml", "token", "jwt", "kerberos",
    "ntlm", "anonymous", "disabled", "enabled", "required", "optional", "internal", "external", "database",
})

_SPLIT_LOWER_UPPER = re.compile(r"([a-z0-9])([A-Z])")
_SPLIT_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_DNS_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")

_PLACEHOLDER = re.compile(r"<path:", re.IGNORECASE)
_ENCODED_PLACEHOLDER = re.compile(r"%3Cpath%3A", re.IGNORECASE)
# $(VAR) (Kubernetes), ${VAR} and ${name-with-dash} (envsubst, Terraform, Grafana), $${VAR} (escaped
# for docker compose), $VAR, ArgoCD's $key.in.argocd-secret and $secret-name:key, Grafana's
# $__env{VAR} / $__file{/path} / $__vault{...}, and {FRIGATE_RTSP_PASSWORD} (Frigate and other
# tools substitute an upper-case environment variable named in braces). Flat character classes:
# linear time.
_ENV_REF = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)|\$\$?\{[A-Za-z_][-A-Za-z0-9_.]*\}|\$[A-Za-z_][-A-Za-z0-9_.]*"
                      r"|\$[a-z0-9][-a-z0-9.]*:[-._A-Za-z0-9]+|\$__(?:env|file|vault)\{[^{}\n]*\}"
                      r"|\{[A-Z_][A-Z0-9_]*\}")
# Helm / Go templates, and GitHub Actions' ${{ secrets.X }}.
_TEMPLATE = re.compile(r"\$?\{\{.*\}\}", re.DOTALL)
# One template expression inside a longer value ("{{ .Release.Name }}-secret").
_TEMPLATE_PART = re.compile(r"\{\{[^{}\n]*\}\}")
# Boolean words: a flag, never a credential (``AUTH: "true"`` in an env list).
_FLAG_WORDS = frozenset({"true", "false", "yes", "no", "on", "off"})
# A SOPS-encrypted value: the AES-GCM ciphertext, its IV and tag (base64) and the original type.
_SOPS_ENC = re.compile(r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:[a-z]+\]")
# What SOPS writes in every document it encrypted (``sops.mac`` is the MAC over all values).
SOPS_MARKERS = ("mac", "lastmodified", "version")
# The settings of a SOPS document that choose which values it encrypts.
SOPS_RULES = ("encrypted_regex", "unencrypted_regex", "encrypted_suffix", "unencrypted_suffix",
              "encrypted_comment_regex", "unencrypted_comment_regex")
# YAML tags whose scalar names a value kept elsewhere (ESPHome / Home Assistant ``!secret``
# and ``!env_var``, pyyaml-env-tag's ``!ENV``): the text after the tag is a name, not a value.
REFERENCE_TAGS = ("!secret ", "!env_var ", "!ENV ")
# A key name as a value: ``secretKey: password``, ``apiKey: api-key`` (the key of a Secret).
_KEY_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9_.]{0,62}")
# A bare ``key`` (any case) followed on the same line by 20 characters a credential could be made
# of: the prefilter's test for :func:`looks_like_credential` (run on lower-cased text).
_BARE_KEY = r"(?<![a-z0-9_.-])key[\"']?[ \t]*:[ \t]*[\"']?[a-z0-9+/=_-]{20}"
_CREDENTIAL_CHARS = re.compile(r"[A-Za-z0-9+/=_-]{20,512}")
_HEX = re.compile(r"[0-9a-f]{32,}|[0-9A-F]{32,}")
_ANGLE_PLACEHOLDER = re.compile(r"<[^<>\n]+>")
_MASKED = re.compile(r"\*+|x{3,}|X{3,}")

# Well-known credential formats. Each pattern is anchored on word boundaries so that it does not
# fire inside longer identifiers; labels are what a finding says instead of the value.
_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}")),
    ("GitLab token", re.compile(r"(?<![A-Za-z0-9_])glpat-[A-Za-z0-9_\-]{20,}")),
    ("Slack token", re.compile(r"(?<![A-Za-z0-9_])xox[abprs]-[A-Za-z0-9-]{10,}")),
    ("Vault token", re.compile(r"(?<![A-Za-z0-9_])hv[sbr]\.[A-Za-z0-9_\-]{24,}")),
    ("JWT", re.compile(r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*")),
    ("PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("Slack webhook URL", re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}")),
)
# scheme://user:password@host - the password may be a placeholder (which holds '/', so it is
# matched whole) or anything without '/', '@' and whitespace.
_CONNECTION = re.compile(
    r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@?#'\"]*:(<path:[^>\s]*>?|[^\s/@'\"]+)@[^\s@/'\"]+")
CONNECTION_KIND = "connection string with a password"
# One cheap search that every format needs to match first: most strings have none of these.
_ANY_FORMAT = re.compile(r"AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|hv[sbr]\.|eyJ|-----BEGIN|://")


# Every secret-looking key contains one of these in its lower-cased text (see is_secret_key),
# a Secret or secretGenerator says "secret", and every token format matches _ANY_FORMAT.
_KEY_QUALIFIER_WORDS = ("api", "private", "access", "encryption", "signing", "master", "license", "shared",
                        "routing", "service")
_MAYBE_SECRET_KEY = re.compile(
    r"pass|pwd|secret|token|cred|auth|(?:" + "|".join(_KEY_QUALIFIER_WORDS) + r")[\W_]*key|" + _BARE_KEY)
_BARE_KEY_RX = re.compile(_BARE_KEY)


# The literals of _ANY_FORMAT and _MAYBE_SECRET_KEY spelled out: on whole files, substring tests
# are several times faster than the alternations (which the regex engine tries at every offset).
# Literals sharing a prefix are tested by that prefix first (one pass over the text, not six).
_FORMAT_LITERALS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("://", ()), ("eyJ", ()), ("AKIA", ()), ("ASIA", ()), ("-----BEGIN", ()), ("glpat-", ()),
    ("github_pat_", ()), ("gh", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("xox", ("xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-")),
    ("hv", ("hvs.", "hvb.", "hvr.")),
)
_KEY_LITERALS = ("pass", "pwd", "secret", "token", "cred", "auth")
# _MAYBE_SECRET_KEY's last branch, written backwards: searched in the reversed text it starts
# with the literal "yek", which the regex engine finds with a fast scan instead of trying the
# seven words at every offset (a third of this prefilter's time on network-policy files).
_QUALIFIED_KEY_REVERSED = re.compile(r"yek[\W_]*(?:" + "|".join(w[::-1] for w in _KEY_QUALIFIER_WORDS) + ")")


def may_hold_secret(text: str) -> bool:
    """False only when no value of this file's text can be a finding of plaintext-secret: a cheap
    test on the raw text that lets the rule skip most network policies, quotas and namespaces.
    Escapes in double-quoted strings could hide a word, so any backslash means "maybe".
    Equivalent to ``_ANY_FORMAT.search(text) or "\\" in text or _MAYBE_SECRET_KEY.search(text.lower())``."""
    if "\\" in text:
        return True
    lower = text.lower()
    for lit in _KEY_LITERALS:
        if lit in lower:
            return True
    for prefix, literals in _FORMAT_LITERALS:
        if prefix in text and (not literals or any(lit in text for lit in literals)):
            return True
    if "key" not in lower:
        return False
    return _QUALIFIED_KEY_REVERSED.search(lower[::-1]) is not None or _BARE_KEY_RX.search(lower) is not None


def words(name: str) -> list[str]:
    """A key name as lower-case words: ``adminPassword``, ``DB_PASSWORD``, ``smtp.password``."""
    return list(_words(name))


@lru_cache(maxsize=4096)
def _words(name: str) -> tuple[str, ...]:
    spaced = _SPLIT_ACRONYM.sub(r"\1 \2", _SPLIT_LOWER_UPPER.sub(r"\1 \2", name))
    return tuple(w.lower() for w in _NON_ALNUM.split(spaced) if w)


def is_secret_key(name: object) -> bool:
    """True when a key name says its value is a credential.

    The last word decides, in any case and with any separator: ``password``, ``passwd``, ``pwd``,
    ``secret``, ``token``, ``credentials``, ``auth``, ``apiKey``/``api_key``, ``accessKey``,
    ``secretKey``, ``privateKey``, ``clientSecret``... So ``db_password``, ``DB-PASSWORD``,
    ``adminPassword`` and ``smtp.password`` are secret keys, while ``tokenTTL``,
    ``passwordEnabled``, ``passwordKey``, ``secretName``, ``passwordSecretRef``, ``secretKeyRef``
    and ``passwordFile`` are not (they configure or point at a secret). Any key mentioning
    ``existing`` (``existingSecret``) is a reference. ``shared_key``/``presharedKey`` are keys,
    and a trailing ``mutual`` is skipped (``password_mutual``, iSCSI CHAP's second password).
    """
    if not isinstance(name, str):
        return False
    return _is_secret_key(name)


@lru_cache(maxsize=4096)
def _is_secret_key(name: str) -> bool:
    parts = _words(name)
    if not parts or "existing" in parts:
        return False
    if len(parts) > 1 and parts[-1] in TRAILING_QUALIFIERS:
        parts = parts[:-1]
    last = parts[-1]
    if last == "key":
        return len(parts) > 1 and parts[-2] in KEY_QUALIFIERS
    if last in SECRET_WORDS:
        # envFromSecret, secretFromVault...: "from" before the noun makes it a source, not a value.
        return not (len(parts) > 1 and parts[-2] == "from")
    return False


def names_a_secret_object(name: str, value: str) -> bool:
    """True when ``name: value`` most likely names a Kubernetes Secret rather than holding one.

    Only for keys whose last word is ``secret`` (``tlsSecret: wildcard-tls``,
    ``passwordSecret: db-credentials``); ``clientSecret`` always holds the secret itself. The value
    must look like an object name: a DNS-1123 subdomain with a ``-`` or ``.`` in it, or any
    DNS-1123 label when the key says it is a Kubernetes Secret (``TS_KUBE_SECRET: tailscale``).
    A template expression in the value counts as a name part (``"{{ .Release.Name }}-secret"``).
    """
    parts = words(name)
    if not parts or parts[-1] != "secret":
        return False
    if len(parts) > 1 and parts[-2] in SECRET_VALUE_QUALIFIERS:
        return False
    if "{{" in value:
        value = _TEMPLATE_PART.sub("x", value)
    if len(value) > 253 or _DNS_NAME.fullmatch(value) is None:
        return False
    if SECRET_OBJECT_WORDS.intersection(parts) and len(value) <= 63:
        return True
    # ``OPERATOR_SECRET: operator``: the key says whose Secret it is, the value is that name
    return "-" in value or "." in value or list(_words(value)) == parts[:-1]


def names_a_key(name: str, value: str) -> bool:
    """True when a ``*SecretKey`` key's value names a key of a Secret rather than holding one:
    ``secretKey: password``, ``tokenSecretKey: api-token`` (External Secrets'
    ``spec.data[].secretKey``, many charts' ``*SecretKey``). The value's own last word must be a
    credential word or ``key``, so ``secretKey: fakeSecretKeyValue`` and ``secretKey: minio123``
    are still literals; other ``*Key`` keys (``privateKey: my-private-key``) always hold values."""
    parts = words(name)
    if parts[-2:] != ["secret", "key"] or _KEY_NAME.fullmatch(value) is None:
        return False
    named = _words(value)
    return bool(named) and (named[-1] in SECRET_WORDS or named[-1] == "key")


def is_flag_value(value: str) -> bool:
    """True for a boolean word as a string (``AUTH: "true"``): a switch, not a credential."""
    return value.strip().lower() in _FLAG_WORDS


def is_ciphertext(value: object) -> bool:
    """True for a value SOPS encrypted (``ENC[AES256_GCM,data:...,iv:...,tag:...,type:str]``).

    Only ciphertext: it is neither a secret in clear text nor something to print."""
    return isinstance(value, str) and value.startswith("ENC[") and _SOPS_ENC.fullmatch(value) is not None


def sops_metadata(document: object) -> dict | None:
    """The top-level ``sops`` mapping of a document SOPS encrypted (it carries ``mac``,
    ``lastmodified`` or ``version``), else None. KSOPS and ``sops -d`` remove it on decryption."""
    if not isinstance(document, dict):
        return None
    meta = document.get("sops")
    if isinstance(meta, dict) and any(marker in meta for marker in SOPS_MARKERS):
        return meta
    return None


def sops_rules(meta: dict) -> list[str]:
    """The settings of a ``sops`` block that choose which values are encrypted (names only)."""
    return [name for name in SOPS_RULES if name in meta]


def looks_like_credential(value: str) -> bool:
    """True for a random-looking literal of 20 to 512 characters: 32 or more hex digits with a
    digit and a letter, or base64/URL-safe text mixing upper case, lower case and digits that
    changes character class at least every other character (generated keys do, identifiers
    such as ``s3BucketNameForBackups2`` and label keys such as ``node-role.kubernetes.io/x`` do not)."""
    if _CREDENTIAL_CHARS.fullmatch(value) is None:
        return False
    has_digit = any(c.isdigit() for c in value)
    if _HEX.fullmatch(value):
        return has_digit and any(c.isalpha() for c in value)
    if not (has_digit and any(c.isupper() for c in value) and any(c.islower() for c in value)):
        return False
    classes = [0 if c.isupper() else 1 if c.islower() else 2 if c.isdigit() else 3 for c in value]
    changes = sum(1 for a, b in zip(classes, classes[1:]) if a != b)
    return changes * 2 >= len(value) - 1


def reference_tag(line: str | None, column: int) -> bool:
    """True when the scalar at ``column`` (1-based) of ``line`` starts with one of
    :data:`REFERENCE_TAGS` (``password: !secret wifi_pass``): the YAML loader keeps only the text
    after an unknown tag, so the tag is read from the source line."""
    if not line or column < 1:
        return False
    return line.startswith(REFERENCE_TAGS, column - 1)


def is_reference_value(value: str) -> bool:
    """True when a string points at a secret instead of being one.

    Empty or blank, a Vault placeholder ``<path:...>`` (also URL-encoded: the avp-placeholder
    rule judges those), an environment reference (``$(DB_PASSWORD)``, ``${DB_PASSWORD}``,
    ``${name-with-dash}``, ``$${DB_PASSWORD}``, ``$DB_PASSWORD``, Grafana's ``$__env{VAR}`` and
    ``$__file{/path}``), an ArgoCD reference into a Secret (``$oidc.clientSecret``,
    ``$my-secret:password``), a whole Helm template expression (``{{ .Values.x }}``) or GitHub
    Actions expression (``${{ secrets.X }}``), a documentation placeholder in angle brackets
    (``<db-password>``, also AVP's annotation-path form) and an already masked value (``****``).
    """
    text = value.strip()
    if not text:
        return True
    if _PLACEHOLDER.search(text) or _ENCODED_PLACEHOLDER.search(text):
        return True
    return any(rx.fullmatch(text) for rx in (_ENV_REF, _TEMPLATE, _ANGLE_PLACEHOLDER, _MASKED))


def is_auth_mode(name: str, value: str) -> bool:
    """True for ``auth: basic`` and the like: the key's last word is ``auth`` and the value names a mechanism."""
    parts = words(name)
    return bool(parts) and parts[-1] == "auth" and value.strip().lower() in AUTH_MODES


@dataclass(frozen=True)
class Match:
    """A credential found in a text: where it starts and what kind it is (never the value)."""

    offset: int
    kind: str


def find_secrets(text: str) -> list[Match]:
    """Every well-known credential in ``text``, in order of position.

    Formats: AWS access key ids (``AKIA``/``ASIA`` + 16), GitHub (``ghp_``, ``gho_``, ``ghs_``,
    ``ghu_``, ``ghr_``, ``github_pat_``), GitLab (``glpat-``), Slack (``xoxa-``, ``xoxb-``,
    ``xoxp-``, ``xoxr-``, ``xoxs-``) and Vault (``hvs.``) tokens, JWTs, PEM private key blocks,
    and connection strings ``scheme://user:password@host`` whose password is neither a
    placeholder nor an environment reference.
    """
    if not isinstance(text, str) or len(text) < 8:
        return []
    known = _FOUND.get(text)
    if known is not None:
        return list(known)
    found = _find_secrets(text)
    if len(text) <= _FOUND_MAX_LEN and len(_FOUND) < _FOUND_MAX:
        _FOUND[text] = tuple(found)
    return found


# find_secrets by text: a repository repeats most values ("ClusterIP", "128Mi", chart URLs), so
# a dict lookup replaces most regex searches (1000-app corpus: 119k string values, 6k distinct).
# Matches hold offsets and kinds only, never text.
_FOUND: dict[str, tuple[Match, ...]] = {}
_FOUND_MAX = 100_000
_FOUND_MAX_LEN = 256


def _find_secrets(text: str) -> list[Match]:
    if not _ANY_FORMAT.search(text):
        return []
    found: list[Match] = []
    for kind, rx in _FORMATS:
        for m in rx.finditer(text):
            found.append(Match(m.start(), kind))
    if "://" in text:
        for m in _CONNECTION.finditer(text):
            if not is_reference_value(m.group(1)):
                found.append(Match(m.start(), CONNECTION_KIND))
    found.sort(key=lambda m: m.offset)
    return found


def commented_out(text: str, offset: int) -> bool:
    """Whether ``offset`` of a multi-line ``text`` (a configuration file embedded in a block
    scalar) is on a line that the embedded format comments out with ``#``."""
    start = text.rfind("\n", 0, offset) + 1
    return text[start:offset].lstrip(" \t").startswith("#")


def may_contain_format(text: str) -> bool:
    """Whether ``text`` holds any format of :func:`find_secrets` (cached like it)."""
    if len(text) < 8:
        return False
    known = _FOUND.get(text)
    return bool(known) if known is not None else bool(find_secrets(text))


def secret_kind(value: object) -> str | None:
    """The kind of the first well-known credential in ``value`` ("GitHub token"...), or None."""
    if not isinstance(value, str):
        return None
    found = find_secrets(value)
    return found[0].kind if found else None


def mask(value: object) -> str:
    """The rendering of a secret value in any output: a fixed mask that reveals nothing, not even its length."""
    return MASK


def decode_base64(value: str) -> str | None:
    """A Secret ``data`` value decoded to text; None when it is not valid base64.

    Bytes that are not UTF-8 come back with replacement characters: they are still a literal.
    """
    compact = "".join(value.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.decode("utf-8", errors="replace")


PUBLIC_PEM = re.compile(r"\s*(?:-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]*-----END CERTIFICATE-----\s*)+")


def is_public_certificate(text: str) -> bool:
    """True when ``text`` is nothing but PEM certificates (public material, not a secret)."""
    return PUBLIC_PEM.fullmatch(text) is not None


# --- YAML held in strings ----------------------------------------------------------------------

# Every part is greedy and ends where the next must begin, so a line that does not match fails
# in linear time: the lazy ``key[ ]*:`` and ``value.*?[ ]*$`` this replaces retried the space
# runs at every length (quadratic: a 200 KB values line took minutes). The groups may now end in
# blanks, which callers strip.
_LINE = re.compile(r"""^(?P<indent>[ ]*)(?P<dash>-[ ]+)?(?P<key>"[^"]*"[ ]*|'[^']*'[ ]*|[^\s#'"\-{\[][^:#]*|"""
                   r"""-[^\s:#][^:#]*):(?:[ ]+(?P<value>.*))?$""")
_NUMBER = re.compile(r"[-+]?(?:\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan)",
                     re.IGNORECASE)
_SCALAR_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"})


@dataclass(frozen=True)
class LineEntry:
    """One ``key: value`` line of YAML held in a string.

    ``line`` is 0-based within the string; ``value`` is the plain or quoted scalar with quotes
    and trailing comment removed, or None when the value is not a scalar on that line (a nested
    mapping, a block scalar, a flow collection, an alias). ``scalar_type`` is "str", "bool",
    "null" or "number" (YAML 1.1 reading of plain scalars, as Helm does).
    """

    line: int
    indent: int
    key: str
    value: str | None
    scalar_type: str
    in_list_item: bool
    path: tuple[str, ...] = ()  # the keys of the enclosing mappings, then this key


def _unquote(raw: str) -> tuple[str, bool]:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1], True
    return raw, False


def _strip_comment(raw: str) -> str:
    if raw and raw[0] in "'\"":
        quote = raw[0]
        end = raw.find(quote, 1)
        while quote == "'" and end != -1 and raw[end + 1:end + 2] == "'":
            end = raw.find(quote, end + 2)
        return raw[:end + 1] if end != -1 else raw
    cut = raw.find(" #")
    return raw[:cut].rstrip() if cut != -1 else raw


def scan_lines(text: str) -> Iterator[LineEntry]:
    """The ``key: value`` lines of YAML text, without parsing it (checks import no YAML library).

    Good enough for finding keys and scalar values in inline Helm values and kustomize patches;
    multi-line scalars are skipped (their lines are not entries), document markers and comments
    are ignored.
    """
    block_indent: int | None = None
    parents: list[tuple[int, str]] = []  # (indent, key) of the mappings the current line is inside
    for no, line in enumerate(text.split("\n")):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue
            block_indent = None
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        key, _ = _unquote(m.group("key").strip())
        raw = _strip_comment((m.group("value") or "").strip())
        dash = bool(m.group("dash"))
        entry_indent = indent + (len(m.group("dash")) if dash else 0)
        while parents and parents[-1][0] >= (indent if dash else entry_indent):
            parents.pop()
        path = tuple(k for _, k in parents) + (key,)
        if raw[:1] in ("|", ">"):
            block_indent = entry_indent
            yield LineEntry(no, entry_indent, key, None, "block", dash, path)
            continue
        if raw.startswith("&"):
            raw = raw.split(None, 1)[1] if " " in raw else ""
        if not raw:
            parents.append((entry_indent, key))
            yield LineEntry(no, entry_indent, key, None, "mapping", dash, path)
            continue
        if raw[0] in "{[*!":
            yield LineEntry(no, entry_indent, key, None, "flow", dash, path)
            continue
        value, quoted = _unquote(raw)
        if quoted:
            kind = "str"
        elif value.lower() in ("null", "~"):
            kind = "null"
        elif value.lower() in _SCALAR_WORDS:
            kind = "bool"
        elif _NUMBER.fullmatch(value):
            kind = "number"
        else:
            kind = "str"
        yield LineEntry(no, entry_indent, key, value, kind, dash, path)
