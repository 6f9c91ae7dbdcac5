"""What the parse cache may hold: the one decision, :func:`cache_filter` (the ``keep`` that
cache.save applies to every file it writes back), built on :func:`may_cache` (one file, given
plaintext-secret's verdict on it).

A cache entry keeps a file's whole text, so a file that may hold a secret is cached only when
plaintext-secret looked at it, found nothing, and could see everything in it. The rule cannot
see, and so cannot clear:

* a file with a parse problem: a syntax error leaves documents unread, a duplicate key hides
  the value it replaces;
* a non-string value where the rule judges strings only: ``password: 12345678`` is an int
  (also ``stringData: {pin: 1234}``, ``{name: DB_PASSWORD, value: 1234}``; a bool is let
  through, see _may_be_secret_scalar);
  a list under a secret key; a block or flow value of a secret key in YAML held in a string;
* a value that holds a Vault ``<path:...>`` placeholder and something else: the rule takes any
  value containing a placeholder for a reference (``"<path:kv/x#pw> hunter2"``), also inside a
  connection string's password or base64 ``data``;
* a document that is a bare scalar (no key tells the rule what it is).

This test is conservative (it refuses files the rule would pass: a connection string whose
password is a placeholder next to other text is never cached) and runs only on files the cheap
prefilter cannot clear and that were parsed in this run, so a warm pre-commit run pays it for
the one changed file.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .checks._secrets import decode_base64, find_secrets, is_reference_value, is_secret_key, may_hold_secret, \
    scan_lines
from .yamlio import YMap, YSeq

# Part of the cache's policy fingerprint (cache.policy): bump it whenever may_cache refuses
# something it used to accept, so that shards vetted by the older rules are rewritten.
# 2: plaintext-secret reports password_mutual, shared_key, a credential-looking bare ``key`` and
# clear-text values of SOPS-encrypted documents (issue 20), which it used to pass.
REVISION = 2

# Any placeholder spelling is_reference_value recognises (it searches case-insensitively).
_ANY_PLACEHOLDER = re.compile(r"<path:|%3Cpath%3A", re.IGNORECASE)
# A whole placeholder; [^<>] keeps every match from running into the next one (linear time).
_WHOLE_PLACEHOLDER = re.compile(r"<path:[^<>]*>", re.IGNORECASE)
# What a placeholder becomes before asking whether the rest of the value is a reference: an
# environment reference, which is_reference_value accepts only when it is the whole value.
_STAND_IN = "$(GITOPS_KIT_PLACEHOLDER)"
_SECRET_DATA = ("data", "stringData")


def cache_filter(model: Any, secret_paths: set[str] | None,
                 scan: Callable[[str, Any], Any] | None) -> Callable[[str, Any], bool]:
    """THE decision of what one run may write to the parse cache: ``keep(rel, sf)`` for
    cache.save. It composes plaintext-secret's verdicts with :func:`may_cache`:

    ``secret_paths`` are the files where plaintext-secret found something (None: the rule did
    not run, so nothing vouches for any file that may hold a secret). The rule vouches only for
    the files it read: a file parsed in this run outside the focus of a pre-commit run is
    scanned with ``scan(rel, sf)`` (the rule's per-file hits) before it is cached. A file that
    came from the cache was vetted when it was written, under the same rule settings and
    policy revision (cache.policy)."""
    fresh = model.cache_fresh
    if secret_paths is None or scan is None:
        return lambda rel, sf: may_cache(sf, None)

    def keep(rel: str, sf: Any) -> bool:
        if rel in secret_paths:
            return False
        if rel not in fresh:
            return True
        if model.relevant(rel):
            return may_cache(sf, _found_nothing)  # the rule read it and found nothing
        return may_cache(sf, lambda: next(iter(scan(rel, sf)), None) is None)

    return keep


def _found_nothing() -> bool:
    return True


def may_cache(sf: Any, verdict: Callable[[], bool] | None) -> bool:
    """Whether the parsed file ``sf`` may be written to the parse cache.

    ``verdict`` answers "did plaintext-secret find nothing in this file?" (called only when the
    file may hold a secret; an exception counts as "no"), or is None when nothing vouches for
    the file (the rule did not run). A file the cheap prefilter clears is always cacheable."""
    text = sf.text
    if text is None:
        return True  # not decoded: the entry keeps none of its bytes, only the problem
    if not may_hold_secret(text):
        return True
    if verdict is None or sf.problems:
        return False
    try:
        if _unseen_by_the_rule(sf.documents):
            return False
        return bool(verdict())
    except Exception:  # a file that cannot be judged is simply not cached
        return False


def _unseen_by_the_rule(documents: list[Any]) -> bool:
    """Whether any value of these documents may be a secret that plaintext-secret cannot report."""
    for doc in documents:
        data = doc.data
        if isinstance(data, (YMap, YSeq)):
            if _hides(data):
                return True
        elif data is not None:
            return True
    return False


# How plaintext-secret reads a value at some place of a document:
_PLAIN = 0  # strings for token formats only
_JUDGED = 1  # a string whole, as a secret unless is_reference_value (secret key, pair value, Secret data)
_UNREAD = 2  # not at all, though it is a secret key's value (the items of a list under one)
_LITERALS = 3  # generator literals: the text after ``=`` is judged


def _hides(root: YMap | YSeq) -> bool:
    stack: list[tuple[Any, int]] = [(root, _PLAIN)]
    while stack:
        node, how = stack.pop()
        if isinstance(node, YMap):
            name = node.get("name")
            pair = isinstance(name, str) and is_secret_key(name)
            for key, value in node.items():
                judged = how == _JUDGED or is_secret_key(key) or (pair and key == "value")
                if isinstance(value, str):
                    if _string_hides(value, judged):
                        return True
                elif isinstance(value, YMap):
                    if key == "data" and _base64_hides(value):
                        return True
                    stack.append((value, _JUDGED if key in _SECRET_DATA else _PLAIN))
                elif isinstance(value, YSeq):
                    stack.append((value, _UNREAD if is_secret_key(key) else _LITERALS if key == "literals" else _PLAIN))
                elif judged and _may_be_secret_scalar(value):
                    return True
        elif isinstance(node, YSeq):
            for value in node:
                if isinstance(value, str):
                    if how == _LITERALS:
                        if _string_hides(value.partition("=")[2], True):
                            return True
                    elif how == _UNREAD:
                        if not is_reference_value(value) or _string_hides(value, True):
                            return True
                    elif _string_hides(value, False):
                        return True
                elif isinstance(value, YMap):
                    stack.append((value, _PLAIN))
                elif isinstance(value, YSeq):
                    stack.append((value, _UNREAD if how == _UNREAD else _PLAIN))
                elif how == _UNREAD and _may_be_secret_scalar(value):
                    return True
    return False


def _may_be_secret_scalar(value: Any) -> bool:
    """A non-string scalar that may be a secret the rule (which reads strings) cannot report: a
    number, date or binary. Not a bool: it is one of a few words (true, no, off...), guessable,
    and ``automountServiceAccountToken: false`` is in every other pod spec."""
    return value is not None and not isinstance(value, (bool, str, YMap, YSeq))


def _string_hides(value: str, judged: bool) -> bool:
    """Whether a string value may hide a secret from the rule: a placeholder next to other text,
    or YAML held in the string with a secret key the rule's line reader skips."""
    if ("<" in value or "%" in value) and _ANY_PLACEHOLDER.search(value):
        rest = _WHOLE_PLACEHOLDER.sub(_STAND_IN, value)
        if _ANY_PLACEHOLDER.search(rest):
            return True  # an unclosed or URL-encoded placeholder: what is around it is unknown
        if judged and not is_reference_value(rest):
            return True
        if find_secrets(rest):
            return True  # a connection string whose password a placeholder made look like a reference
        value = rest
    if "\n" in value and may_hold_secret(value):
        return _lines_hide(value)
    return False


def _lines_hide(text: str) -> bool:
    names: dict[int, str] = {}  # indent -> the ``name:`` of the list item being read (env pairs)
    for entry in scan_lines(text):
        if entry.key == "name" and entry.value is not None:
            names[entry.indent] = entry.value
            continue
        key = names.get(entry.indent, entry.key) if entry.key == "value" else entry.key
        if not is_secret_key(key):
            continue
        if entry.scalar_type in ("number", "block", "flow"):
            return True  # the rule reads string scalars only (a bool is no secret: see above)
        if entry.value is not None and _STAND_IN in entry.value and not is_reference_value(entry.value):
            return True
    return False


def _base64_hides(values: YMap) -> bool:
    # Secret data is judged after decoding: a placeholder in the decoded text hides the rest
    for value in values.values():
        if isinstance(value, str):
            decoded = decode_base64(value)
            if decoded is not None and _ANY_PLACEHOLDER.search(decoded) and _string_hides(decoded, True):
                return True
    return False
