"""plaintext-secret and its detectors (gitops_kit.checks._secrets): what the case driver cannot
express: the detector functions one by one, and documents of any shape that must not crash."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_kit.checks import _secrets as s
from helpers import model_of, run_check

RULE = "plaintext-secret"


# --- is_secret_key ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "password", "passwd", "pwd", "secret", "token", "apiKey", "api_key", "API-KEY", "accessKey", "secretKey",
    "privateKey", "clientSecret", "credentials", "auth", "db_password", "DB-PASSWORD", "adminPassword",
    "smtp.password", "HARBOR_ADMIN_PASSWORD", "AWS_SECRET_ACCESS_KEY", "runnerRegistrationToken", "ssh-privatekey",
    "basicAuth", "dbPass", "encryptionKey", "APIKey", "Password", "PASSWORD",
])
def test_secret_keys(name):
    assert s.is_secret_key(name)


@pytest.mark.parametrize("name", [
    "existingSecret", "existingSecretPasswordKey", "passwordSecretRef", "tokenSecretRef", "passwordSecretName",
    "secretName", "secretKeyRef", "valueFrom", "tokenTTL", "passwordEnabled", "passwordKey", "passwordFile",
    "authType", "envFromSecret", "AWS_ACCESS_KEY_ID", "username", "host", "key", "tokenUrl", "bypass",
    "ssl-passthrough", "", 5, None, True,
])
def test_not_secret_keys(name):
    assert not s.is_secret_key(name)


def test_words_split_every_convention():
    assert s.words("adminPassword") == ["admin", "password"]
    assert s.words("DB-PASSWORD") == ["db", "password"]
    assert s.words("smtp.password") == ["smtp", "password"]
    assert s.words("APIKey") == ["api", "key"]
    assert s.words("tokenTTL") == ["token", "ttl"]


@pytest.mark.parametrize("name,value,expected", [
    ("tlsSecret", "wildcard-tls", True),
    ("passwordSecret", "db-credentials", True),
    ("secret", "harbor.core", True),
    ("clientSecret", "my-client-secret", False),  # an OIDC client secret is always the value
    ("secret", "0123456789abcdef", False),
    ("secret", "Not-A-Name", False),
    ("password", "db-credentials", False),  # only *secret keys name Secrets
])
def test_names_a_secret_object(name, value, expected):
    assert s.names_a_secret_object(name, value) is expected


@pytest.mark.parametrize("value", [
    "", "   ", "<path:kv/data/argocd/apps/helm/x#k>", "pre-<path:kv/data/x/y#k>-post", "%3Cpath%3Akv%2Fdata%23k%3E",
    "$(DB_PASSWORD)", "${DB_PASSWORD}", "$DB_PASSWORD", "{{ .Values.password }}", "<db-password>", "****", "xxxx",
])
def test_reference_values(value):
    assert s.is_reference_value(value)


@pytest.mark.parametrize("value", ["hunter2", "${DB_PASSWORD:-fallback}", "$(A)$(B)x", "changeme", "<a><b>"])
def test_literal_values(value):
    assert not s.is_reference_value(value)


# --- formats ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,kind", [
    ("AKIAFAKEFAKEFAKE1234", "AWS access key id"),
    ("id=ASIAFAKEFAKEFAKE5678;", "AWS access key id"),
    ("ghp_" + "F" * 36, "GitHub token"),
    ("gho_" + "a1" * 18, "GitHub token"),
    ("ghs_" + "b2" * 18, "GitHub token"),
    ("ghu_" + "c3" * 18, "GitHub token"),
    ("github_pat_11FAKEFAKE0000_fakefakefakefakefake", "GitHub token"),
    ("glpat-FAKEfakeFAKEfake0003", "GitLab token"),
    ("xoxb-000000000000-FAKEfakeFAKE", "Slack token"),
    ("xoxp-000000000000-FAKEfakeFAKE", "Slack token"),
    ("hvs.FAKEfakeFAKEfakeFAKEfake0004", "Vault token"),
    ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.c2ln", "JWT"),
    ("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----", "PEM private key"),
    ("-----BEGIN EC PRIVATE KEY-----", "PEM private key"),
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----", "PEM private key"),
    ("postgres://app:fake-pass@db:5432/app", s.CONNECTION_KIND),
    ("redis://:fake-pass@valkey:6379/0", s.CONNECTION_KIND),
    ("see amqp://guest:fake@rabbit/ for details", s.CONNECTION_KIND),
])
def test_secret_kind(value, kind):
    assert s.secret_kind(value) == kind


@pytest.mark.parametrize("value", [
    "AKIA1234", "AKIAFAKEFAKEFAKE12345678", "ghp_short", "eyJhbGciOiJIUzI1NiJ9", "-----BEGIN CERTIFICATE-----",
    "postgres://app:<path:kv/data/x/y#pw>@db/app", "postgres://app:$(PW)@db", "mysql://u:${PW}@h/db",
    "https://user@git.example.com/r.git", "https://example.com:8443/a@b", "git@github.com:org/repo.git",
    "ssh://git@host:22/repo", "", None, 5,
])
def test_not_a_secret_kind(value):
    assert s.secret_kind(value) is None


def test_find_secrets_gives_offsets_in_order():
    text = "a=" + "glpat-FAKEfakeFAKEfake0003" + "\nb=AKIAFAKEFAKEFAKE1234"
    found = s.find_secrets(text)
    assert [m.kind for m in found] == ["GitLab token", "AWS access key id"]
    assert found[0].offset == 2 and text[found[1].offset:].startswith("AKIA")


def test_mask_is_fixed():
    assert s.mask("hunter2") == s.mask("x" * 100) == s.mask(None) == "***"


def test_decode_base64():
    assert s.decode_base64(base64.b64encode(b"hello").decode()) == "hello"
    assert s.decode_base64("aGVs\nbG8=") == "hello"
    assert s.decode_base64("not base64!") is None
    assert s.decode_base64(base64.b64encode(b"\xff\xfe").decode()) is not None


def test_public_certificate():
    cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    assert s.is_public_certificate(cert) and s.is_public_certificate(cert + cert)
    assert not s.is_public_certificate(cert + "-----BEGIN PRIVATE KEY-----")


# --- YAML in strings ----------------------------------------------------------------------------

def test_scan_lines():
    text = ("a:\n  password: hunter2 # comment\n  ttl: 3600\n  on: yes\n  n: ~\n  block: |\n    password: x\n"
            "  q: 'it''s'\n  - name: DB_PASSWORD\n    value: \"v\"\n  flow: {a: b}\n")
    entries = {(e.key, e.line): e for e in s.scan_lines(text)}
    assert entries[("password", 1)].value == "hunter2" and entries[("password", 1)].scalar_type == "str"
    assert entries[("ttl", 2)].scalar_type == "number"
    assert entries[("on", 3)].scalar_type == "bool"
    assert entries[("n", 4)].scalar_type == "null"
    assert entries[("block", 5)].value is None
    assert ("password", 6) not in entries  # inside a block scalar
    assert entries[("q", 7)].value == "it''s"
    assert entries[("name", 8)].in_list_item and entries[("value", 9)].indent == entries[("name", 8)].indent
    assert entries[("flow", 10)].value is None


@pytest.mark.parametrize("text", ["", "\n\n", "---\n...", "- a\n- b", ": x", "'unclosed: y", "a: 'b", "#: x"])
def test_scan_lines_odd_text(text):
    list(s.scan_lines(text))


def test_string_pos_maps_literal_blocks_only():
    src = "a:\n  v: |-\n    first\n      second AKIA\n  w: \"x\\ny\"\n"
    lines = s.SourceLines(src)
    value = "first\n  second AKIA"
    assert s.string_pos(lines, (2, 6), value, value.index("AKIA")) == (4, 14)
    assert s.string_pos(lines, (5, 6), "x\ny", 2) == (5, 6)
    assert s.string_pos(None, (2, 6), value, 3) == (2, 6)
    assert s.block_line(lines, (2, 6), 1) == (4, 7)


# --- the check on odd documents -----------------------------------------------------------------

ODD = """apiVersion: v1
kind: Secret
metadata: [a, b]
data: [1, 2]
stringData: just a string
---
apiVersion: v1
kind: Secret
data:
  a: 5
  b: null
  c: {nested: map}
  d: [list]
stringData:
  x: 5
  y: null
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: odd}
spec:
  sources:
    - null
    - text
    - {helm: text}
    - {helm: {values: 5, valuesObject: [1], parameters: [null, {name: 5, value: x}]}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: odd2}
spec: null
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: odd3}
spec: {template: [1]}
---
- a list document
- {password: 5}
---
just a string
---
42
---
1: one
true: yes
null: nothing
? [a, b]
: complex key
"""

KUSTOMIZATION_ODD = """secretGenerator: text
configMapGenerator: [null, 5, {literals: text}, {literals: [5, null, NOEQUALS, "=x", "  =y"]}]
patches: {a: b}
patchesStrategicMerge: [5, null, "a-file.yaml"]
---
secretGenerator: [{literals: [{a: b}]}]
patches: [null, 5, {patch: 5}, {patch: null}]
"""


def test_odd_shapes_do_not_crash(tmp_path):
    hits = run_check(tmp_path, RULE, {"apps/manifests/x/odd.yaml": ODD,
                                      "apps/manifests/x/kustomization.yaml": KUSTOMIZATION_ODD})
    assert all(h.path for h in hits)


def test_a_string_document_is_scanned(tmp_path):
    hits = run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": "ghp_" + "F" * 36 + "\n"})
    assert [(h.path, h.pos[0]) for h in hits] == [("apps/helm/x/values.yaml", 1)]
    assert "F" * 8 not in hits[0].message


def test_sealed_secret_and_crd_are_skipped(tmp_path):
    sealed = ("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a}\n"
              "spec:\n  encryptedData:\n    password: AgBFAKEciphertext==\n    token: AKIAFAKEFAKEFAKE1234\n")
    crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\n"
           "spec:\n  versions:\n    - schema:\n        openAPIV3Schema:\n          properties:\n"
           "            password: {type: string, default: changeme}\n")
    assert run_check(tmp_path, RULE, {"apps/manifests/x/sealed.yaml": sealed, "apps/manifests/x/crd.yaml": crd}) == []


def test_skip_kinds_is_a_parameter(tmp_path):
    (tmp_path / "apps/manifests/x").mkdir(parents=True)
    (tmp_path / "apps/manifests/x/s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {password: hunter2}\n")
    repo = model_of(tmp_path)
    assert len(run_check(repo, RULE)) == 1
    assert run_check(repo, RULE, skip_kinds=["Secret"]) == []


def test_literal_keys_is_a_parameter(tmp_path):
    (tmp_path / "apps/manifests/x").mkdir(parents=True)
    (tmp_path / "apps/manifests/x/s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {host: db.example.com, DB_USER: app}\n")
    repo = model_of(tmp_path)
    assert run_check(repo, RULE) == []
    assert len(run_check(repo, RULE, literal_keys=[])) == 2


def test_fingerprint_keys_survive_line_shifts(tmp_path):
    text = "config:\n  adminPassword: hunter2-fake\n"
    first = run_check(tmp_path / "a", RULE, {"apps/helm/x/values.yaml": text})
    second = run_check(tmp_path / "b", RULE, {"apps/helm/x/values.yaml": "# shifted\n\n" + text})
    assert [h.key for h in first] == [h.key for h in second] and first[0].pos[0] + 2 == second[0].pos[0]


def test_no_value_in_any_hit(tmp_path):
    secret = "Zq8-uniq-Qw7-Vx2"
    files = {
        "apps/helm/x/values.yaml": f"a:\n  password: {secret}\n  url: https://u:{secret}@h/\n",
        "apps/manifests/x/s.yaml": (f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\n"
                                    f"stringData: {{token: {secret}}}\n"
                                    f"data: {{password: {base64.b64encode(secret.encode()).decode()}}}\n"),
    }
    hits = run_check(tmp_path, RULE, files)
    assert len(hits) == 4
    for h in hits:
        assert secret[:6] not in h.message and secret[-6:] not in h.message and secret[:6] not in (h.key or "")


def test_the_file_prefilter_never_skips_a_secret_looking_key_or_token():
    """may_hold_secret is a superset test: whatever is_secret_key or find_secrets accepts, it keeps."""
    from itertools import product

    from gitops_kit.checks import _secrets

    prefixes = ["", "db", "admin", "smtp", "client", "AWS", "x"]
    words = sorted(_secrets.SECRET_WORDS) + [f"{q}Key" for q in sorted(_secrets.KEY_QUALIFIERS)]
    checked = 0
    for prefix, word, sep in product(prefixes, words, ["", "_", "-", ".", "__"]):
        for key in {prefix + sep + word, (prefix + sep + word).upper(), prefix + word[:1].upper() + word[1:]}:
            if _secrets.is_secret_key(key):
                checked += 1
                assert _secrets.may_hold_secret(f"{key}: hunter2\n"), key
    assert checked > 200
    for token in ["AKIA" + "A" * 16, "ghp_" + "a" * 36, "glpat-" + "a" * 20, "postgres://u:p@h/db",
                  "-----BEGIN RSA PRIVATE KEY-----", "eyJhbGciOi.eyJzdWIi.sig"]:
        assert _secrets.may_hold_secret(f"value: {token}\n"), token
    assert not _secrets.may_hold_secret("apiVersion: v1\nkind: ResourceQuota\nspec: {hard: {pods: '10'}}\n")


_PREFILTER_PIECES = ["api", "API", "private", "access", "encryption", "signing", "master", "license", "key", "KEY",
                     "Key", "_", "-", " ", ".", "__", "\n", ":", "é", "²", "x", "pass", "secret", "tok", "en", "au",
                     "th", "gh", "p_", "github_pat_", "xox", "b-", "hv", "s.", "AKI", "A", "eyJ", "-----BEGIN", ":/",
                     "/", "glpat-", "\\", "İ"]


@given(st.lists(st.sampled_from(_PREFILTER_PIECES), max_size=12))
@settings(max_examples=400, deadline=None)
def test_the_file_prefilter_is_its_documented_regex(pieces):
    """The substring and reversed-regex tests answer exactly what the documented definition does."""
    from gitops_kit.checks import _secrets

    text = "".join(pieces)
    expected = bool(_secrets._ANY_FORMAT.search(text) or "\\" in text or
                    _secrets._MAYBE_SECRET_KEY.search(text.lower()))
    assert _secrets.may_hold_secret(text) is expected, text
