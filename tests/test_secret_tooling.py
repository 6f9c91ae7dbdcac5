"""Secret tooling is not a leak (issue 20): SOPS ciphertext and metadata, SealedSecrets,
External Secrets, the Vault Secrets Operator, Secrets Store CSI and references that tools resolve
elsewhere; while what a SOPS rule left in clear text, and the key spellings of issue 17, are
reported. The rule cases (tests/rules/plaintext-secret, tests/rules/schema) show whole
repositories; these tests pin the detectors and the messages one by one."""

from __future__ import annotations

import time

import pytest

from gitops_kit import catalog, config, model, schemas_k8s
from gitops_kit.cache_policy import may_cache
from gitops_kit.checks import _secret_data, _secrets as s, plaintext_secret, schema
from gitops_kit.model import _parse_raw
from helpers import run_check

RULE = "plaintext-secret"

# Synthetic ciphertext in SOPS's format (random bytes, base64): not the encryption of anything.
ENC = ("ENC[AES256_GCM,data:MECxw0hOsEEpnx7nBUS0O9vXOJI8DgPM,iv:pZ5MRyOxpVWZuHLoJ+yjRo7VbigqZ+203B6wIP7HlG0=,"
       "tag:WDkd6JsNhDFvLP4s1hQdyA==,type:str]")
ENC_FRAGMENT = "MECxw0hOsEEp"
MAC = ("ENC[AES256_GCM,data:Y7CJ17PoSoGbprf+S57DxRWnfkRavSB3,iv:HihLfDnIiBG4QaRq+kT4ccrVkY+/8epURUlQ0IYIU3/=,"
       "tag:E34KgQt5eGQ7CZFJXYXMpA==,type:str]")
PLAIN = "Zq8-clear-Qw7-fake"  # a clear-text value no message may show


def sops_block(**rules: str) -> str:
    extra = "".join(f"  {k}: {v}\n" for k, v in rules.items())
    return f"sops:\n  lastmodified: \"2024-05-01T10:00:00Z\"\n  mac: {MAC}\n{extra}  version: 3.8.1\n"


def lines_of(hits: list) -> list[int]:
    return sorted(h.pos[0] for h in hits)


# --- detectors ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    ENC, MAC, "ENC[AES256_GCM,data:,iv:Z/HYGOjUSzRdn0wkrbkZAUYP4GNfvPhIZfrW5nbPGRE=,tag:k3g29uoCs7uHEezAjJ/3Vw==,"
              "type:str]",
    "ENC[AES256_GCM,data:AQ==,iv:AQ==,tag:AQ==,type:int]",
])
def test_ciphertext(value):
    assert s.is_ciphertext(value)


@pytest.mark.parametrize("value", [
    "ENC[hunter2]", "ENC[AES256_GCM,data:abc]", "ENC[AES256_GCM,data:abc,iv:,tag:x,type:str]",
    " " + ENC, ENC + "x", "prefix " + ENC, "ENC[AES256_GCM,data:a b,iv:AQ==,tag:AQ==,type:str]", None, 5,
])
def test_not_ciphertext(value):
    assert not s.is_ciphertext(value)


def test_sops_metadata_needs_a_marker():
    for marker in s.SOPS_MARKERS:
        assert s.sops_metadata({"sops": {marker: "x"}}) == {marker: "x"}
    assert s.sops_metadata({"sops": {"encrypted_regex": "^data$"}}) is None
    assert s.sops_metadata({"sops": "mac"}) is None
    assert s.sops_metadata(["sops"]) is None and s.sops_metadata(None) is None
    assert s.sops_rules({"mac": 1, "unencrypted_suffix": "_x", "encrypted_regex": "y"}) == [
        "encrypted_regex", "unencrypted_suffix"]


@pytest.mark.parametrize("value", [
    "${{ secrets.DB_PASSWORD }}", "$__env{GF_ADMIN_PASSWORD}", "$__file{/run/secrets/db}", "$__vault{x:y}",
    "${VAR}", "$${VAR}", "${name-with-dash}", "$oidc.keycloak.clientSecret", "$my-secret:password",
    "$argocd-secret:dex.github.clientSecret",
])
def test_tool_references(value):
    assert s.is_reference_value(value)


@pytest.mark.parametrize("value", [
    "${DB_PASSWORD:-fallback}", "$ {SMTP}", "${{ secrets.X }} and more", "$My-Secret:pw word", "$__env{a}{b}",
    "$__other{x}", "$", "x${VAR}",
])
def test_near_miss_references(value):
    assert not s.is_reference_value(value)


@pytest.mark.parametrize("name,value,expected", [
    ("OPERATOR_SECRET", "operator", True),
    ("dbSecret", "db", True),
    ("OPERATOR_SECRET", "operators", False),
    ("OPERATOR_SECRET", "Operator", False),
    ("clientSecret", "client", False),
])
def test_a_secret_named_after_its_key(name, value, expected):
    assert s.names_a_secret_object(name, value) is expected


@pytest.mark.parametrize("name,value,expected", [
    ("secretKey", "password", True),
    ("secretKey", "db-password", True),
    ("tokenSecretKey", "api-token", True),
    ("SECRET_KEY", "tls.key", True),
    ("secretKey", "fakeSecretKeyValue", False),
    ("secretKey", "minio123", False),
    ("secretKey", "pass word", False),
    ("privateKey", "my-private-key", False),  # only *SecretKey keys name keys of a Secret
    ("apiKey", "api-key", False),
    ("password", "password", False),
])
def test_names_a_key(name, value, expected):
    assert s.names_a_key(name, value) is expected


@pytest.mark.parametrize("value,expected", [
    ("true", True), ("False", True), (" yes ", True), ("off", True), ("truee", False), ("1", False),
])
def test_flag_values(value, expected):
    assert s.is_flag_value(value) is expected


@pytest.mark.parametrize("name", ["password_mutual", "chapPasswordMutual", "shared_key", "sharedKey", "presharedKey",
                                  "pre_shared_key", "PRESHARED-KEY"])
def test_issue_17_keys(name):
    assert s.is_secret_key(name)
    assert s.may_hold_secret(f"{name}: hunter2\n")


@pytest.mark.parametrize("name", ["mutual", "mutualTls", "sharedKeyRef", "sharedKeyName", "key", "sharedSecretName"])
def test_issue_17_near_misses(name):
    assert not s.is_secret_key(name)


@pytest.mark.parametrize("value", [
    "8f3a9c2e1b7d4f6a0e5c3b9d2a1f8e7c", "8F3A9C2E1B7D4F6A0E5C3B9D2A1F8E7C", "Xk9pQ2rT7vLm3NwB8yZ4",
    "dGhpcyBpcyBhIHRlc3Qga2V5IGZvciB0ZXN0aW5n", "q1W2e3R4t5Y6u7I8o9P0aSdF",
])
def test_credential_looking(value):
    assert s.looks_like_credential(value)


@pytest.mark.parametrize("value", [
    "s3BucketNameForBackups2", "node-role.kubernetes.io/control-plane", "123e4567-e89b-12d3-a456-426614174000",
    "CriticalAddonsOnly", "ADMIN_PASSWORD_2024_FINAL", "abcdefabcdefabcdefabcdefabcdefabcdef",
    "0123456789012345678901234567890123", "Xk9pQ2rT7vLm3NwB8y", "my-super-long-secret-key-name-1", "x" * 600,
])
def test_not_credential_looking(value):
    assert not s.looks_like_credential(value)


def test_the_prefilter_keeps_a_bare_key_with_a_credential_and_skips_label_keys():
    assert s.may_hold_secret("encryption:\n  key: 8f3a9c2e1b7d4f6a0e5c3b9d2a1f8e7c\n")
    assert s.may_hold_secret("hmac: {Key: 'Xk9pQ2rT7vLm3NwB8yZ4aF1c'}\n")
    assert not s.may_hold_secret("tolerations:\n  - key: node-role.kubernetes.io/control-plane\n")
    assert not s.may_hold_secret("selector:\n  key: short\n  monkey: 8f3a9c2e1b7d4f6a0e5c3b9d2a1f8e7c\n")


def test_reference_tag():
    line = "  password: !secret wifi_pass"
    assert s.reference_tag(line, line.index("!") + 1)
    assert not s.reference_tag(line, 3)
    assert not s.reference_tag("  password: !vault hunter2", 13)
    assert not s.reference_tag(None, 1) and not s.reference_tag(line, 0)


@pytest.mark.parametrize("value", [
    "$" + "a" * 50_000 + "!", "$" + "a-" * 30_000 + ":", "${" + "a" * 50_000, "$__env{" + "{" * 50_000,
    "ENC[AES256_GCM,data:" + "A" * 100_000 + ",iv:",
])
def test_new_patterns_are_linear(value):
    start = time.perf_counter()
    s.is_reference_value(value)
    s.is_ciphertext(value)
    s.looks_like_credential(value)
    s.may_hold_secret("key: " + value + "\nkey:" * 20_000)
    assert time.perf_counter() - start < 1.0


# --- SOPS -----------------------------------------------------------------------------------

SOPS_SECRET = f"""apiVersion: v1
kind: Secret
metadata: {{name: app-admin, namespace: app}}
type: Opaque
stringData:
  username: admin
  password: {ENC}
data:
  token: {ENC}
{sops_block(encrypted_regex="^(data|stringData)$")}"""


def test_a_sops_encrypted_secret_is_clean(tmp_path):
    assert run_check(tmp_path, RULE, {"apps/manifests/x/secret.enc.yaml": SOPS_SECRET}) == []


def test_ciphertext_is_not_a_literal_outside_sops_documents_either(tmp_path):
    # a value copied out of an encrypted file is still no clear text
    assert run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": f"db:\n  password: {ENC}\n  url: {ENC}\n"}) == []


def test_clear_text_that_encrypted_regex_missed_is_reported_by_key(tmp_path):
    text = (f"apiVersion: v1\nkind: Secret\nmetadata: {{name: a}}\ndata:\n  token: {ENC}\n"
            f"stringData:\n  username: admin\n  password: {PLAIN}\n"
            f"{sops_block(encrypted_regex='^(data)$')}")
    hits = run_check(tmp_path, RULE, {"apps/manifests/x/secret.enc.yaml": text})
    assert lines_of(hits) == [8]
    message = hits[0].message
    assert "stringData.password" in message and "left unencrypted in a SOPS-encrypted file" in message
    assert "sops.encrypted_regex" in message and "Vault" not in message
    assert PLAIN[:6] not in message and "^(data)$" not in message and ENC_FRAGMENT not in message


def test_values_file_with_an_unencrypted_suffix(tmp_path):
    text = (f"config:\n  adminPassword: {ENC}\n  apiToken_plain: {PLAIN}\n  url_plain: https://example.com\n"
            f"  password_unencrypted: {PLAIN}\n{sops_block(unencrypted_suffix='_plain')}")
    hits = run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": text})
    assert lines_of(hits) == [3, 5]
    by_line = {h.pos[0]: h.message for h in hits}
    assert "config.apiToken_plain" in by_line[3] and "sops.unencrypted_suffix _plain" in by_line[3]
    assert "config.password_unencrypted" in by_line[5] and "sops.unencrypted_suffix" in by_line[5]
    assert all(PLAIN[:6] not in m for m in by_line.values())


def test_default_suffix_and_values_added_after_encryption(tmp_path):
    text = f"db:\n  token_unencrypted: {PLAIN}\n  password: {PLAIN}\n  user: {ENC}\n{sops_block()}"
    hits = run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": text})
    by_line = {h.pos[0]: h.message for h in hits}
    assert sorted(by_line) == [2, 3]
    assert "_unencrypted, which SOPS leaves unencrypted by default" in by_line[2]
    assert "added or decrypted after encryption" in by_line[3]


def test_the_suffix_only_counts_in_sops_documents(tmp_path):
    # outside SOPS, token_unencrypted's last word is "unencrypted": not a secret-looking key
    assert run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": f"db:\n  token_unencrypted: {PLAIN}\n"}) == []


def test_a_sops_key_without_metadata_changes_nothing(tmp_path):
    text = f"db:\n  password: {PLAIN}\nsops:\n  encrypted_regex: ^password$\n"
    hits = run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": text})
    assert lines_of(hits) == [2] and "SOPS" not in hits[0].message and "Vault" in hits[0].message


def test_sops_env_pair_and_manifests_advice(tmp_path):
    text = (f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata:\n  mode: {ENC}\n---\n"
            f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j}}\nspec:\n  template:\n    spec:\n"
            f"      containers:\n        - name: c\n          env:\n            - name: DB_PASSWORD\n"
            f"              value: {PLAIN}\n{sops_block(encrypted_regex='^data$')}")
    hits = run_check(tmp_path, RULE, {"apps/manifests/x/job.enc.yaml": text})
    assert lines_of(hits) == [17]
    assert "DB_PASSWORD" in hits[0].message and "SOPS-encrypted" in hits[0].message
    assert "argocd-vault-plugin" not in hits[0].message  # SOPS's advice, not the manifests directory's


# --- SealedSecret, External Secrets, Vault Secrets Operator, Secrets Store CSI ----------------

def test_sealed_secret_template_is_read_and_encrypted_data_is_not(tmp_path):
    text = ("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a}\nspec:\n"
            "  encryptedData:\n    password: AgBy8hCF8k2mZsynthetic==\n    token: AKIAFAKEFAKEFAKE1234\n"
            f"  template:\n    data:\n      api_token: '{{{{ index . \"token\" }}}}'\n      password: {PLAIN}\n")
    hits = run_check(tmp_path, RULE, {"apps/manifests/x/sealed.yaml": text})
    assert lines_of(hits) == [11] and "spec.template.data.password" in hits[0].message


def test_a_sealed_secret_of_another_group_is_an_ordinary_object(tmp_path):
    text = f"apiVersion: example.com/v1\nkind: SealedSecret\nmetadata: {{name: a}}\nspec:\n  encryptedData:\n" \
           f"    password: {PLAIN}\n"
    assert lines_of(run_check(tmp_path, RULE, {"apps/manifests/x/sealed.yaml": text})) == [6]


EXTERNAL_SECRET = """apiVersion: external-secrets.io/v1beta1
kind: {kind}
metadata: {{name: a}}
spec:
{spec}"""

ES_SPEC = """  secretStoreRef: {kind: ClusterSecretStore, name: vault}
  target:
    template:
      data:
        password: "{{ .password }}"
  data:
    - secretKey: username
      remoteRef: {key: kv/app, property: username}
    - secretKey: adminPassword
      remoteRef: {key: kv/app, property: password}
  dataFrom:
    - extract: {key: kv/app-extra}
"""


@pytest.mark.parametrize("kind,spec", [
    ("ExternalSecret", ES_SPEC),
    ("ClusterExternalSecret", "  externalSecretName: a\n  externalSecretSpec:\n" +
     "".join("  " + line + "\n" for line in ES_SPEC.splitlines())),
    ("PushSecret", "  selector: {secret: {name: app-admin}}\n  data:\n    - match:\n        secretKey: password\n"
                   "        remoteRef: {remoteKey: kv/app, property: password}\n"),
])
def test_external_secrets_objects_name_keys(tmp_path, kind, spec):
    assert run_check(tmp_path, RULE, {"apps/manifests/x/es.yaml": EXTERNAL_SECRET.format(kind=kind, spec=spec)}) == []


def test_an_external_secret_template_literal_is_still_reported(tmp_path):
    spec = ES_SPEC.replace('password: "{{ .password }}"', f"password: {PLAIN}")
    es = EXTERNAL_SECRET.format(kind="ExternalSecret", spec=spec)
    hits = run_check(tmp_path, RULE, {"apps/manifests/x/es.yaml": es})
    assert lines_of(hits) == [9] and "spec.target.template.data.password" in hits[0].message


def test_external_secret_in_chart_values_with_or_without_kind(tmp_path):
    values = ("extraDeploy:\n  - kind: ExternalSecret\n    spec:\n      data:\n        - secretKey: adminPassword\n"
              "          remoteRef: {key: kv/app, property: password}\n"
              "externalSecrets:\n  data:\n    - secretKey: db_password\n      remoteRef: {key: kv/db}\n"
              "minio:\n  secretKey: fakeMinioSecret01\n")
    hits = run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": values})
    assert lines_of(hits) == [12]  # a secretKey with no remoteRef beside it holds the value


def test_an_external_secret_kind_of_another_group_is_judged(tmp_path):
    text = ("apiVersion: example.com/v1\nkind: ExternalSecret\nmetadata: {name: a}\nspec:\n  data:\n"
            "    - secretKey: hunter2-is-not-a-name\n      remoteRef: {key: x}\n")
    # the structural reading (remoteRef beside it) still applies; the kind alone does not
    assert run_check(tmp_path, RULE, {"apps/manifests/x/es.yaml": text}) == []
    text = text.replace("      remoteRef: {key: x}\n", "")
    assert lines_of(run_check(tmp_path / "b", RULE, {"apps/manifests/x/es.yaml": text})) == [6]


@pytest.mark.parametrize("api,kind", [
    ("secrets.hashicorp.com/v1beta1", "VaultAuth"), ("secrets.hashicorp.com/v1beta1", "VaultStaticSecret"),
    ("secrets.hashicorp.com/v1beta1", "VaultDynamicSecret"), ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"),
])
def test_reference_objects_are_read_for_token_formats_only(tmp_path, api, kind):
    text = (f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: a}}\nspec:\n  auth: pod-adc\n"
            "  secretKey: db-password-path\n  appRole: {roleId: r, secretRef: approle}\n"
            "  headers:\n    X-Vault-Token: hvs.FAKEfakeFAKEfakeFAKEfake0004\n")
    hits = run_check(tmp_path, RULE, {"apps/manifests/x/obj.yaml": text})
    assert lines_of(hits) == [9] and "Vault token" in hits[0].message and "FAKEfake" not in hits[0].message
    other = text.replace(api, "example.com/v1")  # same kind, another group: an ordinary object
    assert 6 in lines_of(run_check(tmp_path / "b", RULE, {"apps/manifests/x/obj.yaml": other}))


# --- references -----------------------------------------------------------------------------

def test_reference_tags_are_read_from_the_source(tmp_path):
    text = ("wifi:\n  ssid: !secret wifi_ssid\n  password: !secret wifi_password\napi:\n  encryption:\n"
            "    key: !secret api_encryption_key_0123456789AbCd\nota:\n  - password: !custom hunter2-fake\n"
            "  - {password: !secret ota}\nenv:\n  - name: API_TOKEN\n    value: !secret api_token\n")
    hits = run_check(tmp_path, RULE, {"esphome/device.yaml": text})
    assert lines_of(hits) == [8]  # an unknown tag is no reference


def test_booleans_as_strings_are_flags(tmp_path):
    text = "env:\n  AUTH: 'true'\n  USE_TOKEN: \"false\"\nextra:\n  - name: SMTP_AUTH\n    value: 'yes'\n"
    assert run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": text}) == []


def test_bare_key_messages(tmp_path):
    text = "encryption:\n  key: 8f3a9c2e1b7d4f6a0e5c3b9d2a1f8e7c\n  other:\n    key: password\n"
    hits = run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": text})
    assert lines_of(hits) == [2]
    assert "encryption.key" in hits[0].message and "8f3a9c" not in hits[0].message and "***" in hits[0].message


def test_no_message_shows_ciphertext_or_a_value(tmp_path):
    files = {
        "apps/manifests/x/secret.enc.yaml": SOPS_SECRET.replace("username: admin", f"api_token: {PLAIN}"),
        "apps/helm/x/values.yaml": f"a:\n  key: Xk9pQ2rT7vLm3NwB8yZ4aF1c\n  password_mutual: {PLAIN}\n"
                                   f"  shared_key: {PLAIN}\n  ciphertext: {ENC}\n",
    }
    hits = run_check(tmp_path, RULE, files)
    assert len(hits) == 4
    for h in hits:
        for fragment in (PLAIN[:6], PLAIN[-6:], ENC_FRAGMENT, "Xk9pQ2", "ENC["):
            assert fragment not in h.message and fragment not in (h.key or "")


# --- schema ---------------------------------------------------------------------------------

def test_schema_skips_the_sops_block_only_with_metadata():
    with_meta = _parse_raw("a.yaml", SOPS_SECRET.encode()).documents[0].data
    stripped = schema._without_sops(with_meta)
    assert "sops" not in stripped and "sops" in with_meta  # a copy: the model keeps it
    assert stripped.value_pos("data") == with_meta.value_pos("data")
    without = _parse_raw("b.yaml", b"kind: Secret\nsops: {encrypted_regex: x}\n").documents[0].data
    assert schema._without_sops(without) is without


def test_schema_of_a_ksops_repository(tmp_path):
    files = {
        "apps/manifests/x/kustomization.yaml": "resources: [ns.yaml]\ngenerators:\n  - gen.yaml\n  - missing.yaml\n"
                                               "transformers:\n  - |\n    apiVersion: builtin\n    kind: X\n",
        "apps/manifests/x/gen.yaml": "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata: {name: g}\nfiles: [s.yaml]\n",
        "apps/manifests/x/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
        "apps/manifests/x/s.yaml": SOPS_SECRET.replace("data:\n  token:", "data:\n  plain: not base64!\n  token:"),
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    repo = model.build(tmp_path, config.load(tmp_path))
    assert schemas_k8s.kustomize_plugin_files(repo) == {"apps/manifests/x/gen.yaml"}
    paths = {t.path for t in schemas_k8s.targets(repo, [])}
    assert "apps/manifests/x/gen.yaml" not in paths and "apps/manifests/x/s.yaml" in paths
    hits = run_check(repo, "schema")
    # the ciphertext passes, the sops block is no unknown field, the clear non-base64 value is reported
    assert [(h.path, h.pos[0]) for h in hits] == [("apps/manifests/x/s.yaml", 9)]
    assert "data.plain" in hits[0].message


def test_ciphertext_outside_a_sops_document_is_not_base64(tmp_path):
    text = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: a}}\ndata:\n  token: {ENC}\n"
    (tmp_path / "apps/manifests/x").mkdir(parents=True)
    (tmp_path / "apps/manifests/x/s.yaml").write_text(text)
    repo = model.build(tmp_path, config.load(tmp_path))
    hits = list(_secret_data.invalid_base64(repo))
    assert len(hits) == 1 and ENC_FRAGMENT not in hits[0].message


# --- the parse cache ------------------------------------------------------------------------

def _verdict(rel: str, text: str):
    sf = _parse_raw(rel, text.encode())
    params = dict(catalog.load()["plaintext-secret"].params)
    return sf, lambda: not list(plaintext_secret.file_hits(rel, sf, params))


def test_cache_follows_the_rule_on_sops_files():
    clean, verdict = _verdict("apps/manifests/x/s.yaml", SOPS_SECRET)
    assert may_cache(clean, verdict)  # ciphertext only: nothing secret is kept
    leaky, verdict = _verdict("apps/manifests/x/s.yaml", SOPS_SECRET.replace("username: admin", f"password2: {PLAIN}"))
    assert not may_cache(leaky, verdict)
    keyed, verdict = _verdict("apps/helm/x/values.yaml", "a:\n  key: 8f3a9c2e1b7d4f6a0e5c3b9d2a1f8e7c\n")
    assert not may_cache(keyed, verdict)  # the prefilter no longer clears a credential under a bare key
