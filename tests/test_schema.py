"""The schema rule beyond the rule cases: odd document shapes, secrets never printed, the CRD
converter's semantics, one validator per kind per run, version fallback, lazy imports, packaging."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitops_kit import schemas_k8s
from gitops_kit.api import lint
from gitops_kit.cli import FORMATS, main
from gitops_kit.config import load as load_config
from gitops_kit.model import build
from helpers import PROJECT, overlay, reference_copy

RULES = ["schema", "schema-unknown", "deprecated-api"]


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    (root / "argo").mkdir(parents=True)
    overlay(root, files)
    return root


def _findings(root: Path, rule: str = "schema") -> list:
    return [f for f in lint([str(root)], select=[rule]).findings if f.rule == rule]


WEIRD = {
    "spec-null.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n",
    "spec-list.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: [1, 2]\n",
    "spec-string.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: x\n",
    "metadata-string.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: just-a-name\n",
    "kind-int.yaml": "apiVersion: v1\nkind: 3\nmetadata: {name: a}\n",
    "api-int.yaml": "apiVersion: 1\nkind: ConfigMap\n",
    "no-slash.yaml": "apiVersion: weird\nkind: Thing\n",
    "root-list.yaml": "- apiVersion: v1\n  kind: ConfigMap\n",
    "int-keys.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {1: b, true: c}}\ndata: {2: x}\n",
    "nan.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: .nan}\n",
    "timestamp.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {when: 2024-01-01}\n",
    "binary.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\ndata: {k: !!binary aGVsbG8=}\n",
    "custom-tag.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: !vault x}\n",
    "empty.yaml": "",
    "deep.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n" + "".join(
        "  " * (i + 1) + f"k{i}:\n" for i in range(60)),
    "Chart.yaml": "- not\n- a mapping\n",
    "kustomization.yaml": "just a string\n",
    "crd-bad.yaml": ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\n"
                     "spec:\n  group: example.com\n  names: {kind: Odd}\n  versions:\n    - name: v1\n"
                     "      schema: {openAPIV3Schema: {type: object, properties: [1, 2], required: 3,"
                     " items: x, additionalProperties: 7, pattern: '(', enum: 5}}\n    - 7\n    - name: 3\n"),
    "odd.yaml": "apiVersion: example.com/v1\nkind: Odd\nmetadata: {name: a}\nspec: {x: 1}\n",
    "crd-spec-list.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec: []\n",
}


def test_weird_shapes_never_crash(tmp_path):
    root = _repo(tmp_path, WEIRD)
    report = lint([str(root)], select=RULES)
    assert report.crashed == ()
    by_path = {f.path for f in report.findings if f.rule == "schema"}
    assert {"spec-list.yaml", "spec-string.yaml", "metadata-string.yaml", "nan.yaml", "Chart.yaml",
            "kustomization.yaml"} <= by_path
    assert "int-keys.yaml" not in by_path  # keys become text, as in Kubernetes
    assert "timestamp.yaml" not in by_path and "binary.yaml" not in by_path and "custom-tag.yaml" not in by_path


def test_int_keys_are_text_as_in_kubernetes(tmp_path):
    root = _repo(tmp_path, {"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {1: b}}\n"
                                      "data: {2: x}\n"})
    assert _findings(root) == []


CANARY = "CanarySchemaSecret-4242"
CANARY_NUMBER = "913375551"


def test_secret_values_are_never_printed(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    overlay(root, {"apps/manifests/filebrowser/secret.yaml": f"""\
apiVersion: v1
kind: Secret
metadata:
  name: filebrowser-admin
  namespace: filebrowser
type: Opaque
stringData:
  pin: {CANARY_NUMBER}
  list: [{CANARY}]
data:
  token: {{nested: {CANARY}}}
extraField: {CANARY}
passwrd: {CANARY}
""", "apps/manifests/filebrowser/config.yaml": f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: filebrowser-extra
  namespace: filebrowser
immutable: {CANARY}
data: {{password: {CANARY_NUMBER}}}
"""})
    found = [f for f in lint([str(root)], select=["schema"]).findings if f.rule == "schema"]
    assert len(found) >= 6
    for fmt in FORMATS:
        main(["lint", str(root), "--select", "schema", "--format", fmt])
        out = capsys.readouterr()
        assert CANARY_NUMBER not in out.out + out.err, fmt
        assert CANARY not in out.out + out.err, fmt
        assert "passwrd" in out.out + out.err  # keys are named, values never


def test_messages_name_path_and_expected_type(tmp_path):
    root = _repo(tmp_path, {"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n"
                                      f"  pin: {CANARY_NUMBER}\n"})
    [finding] = _findings(root)
    assert finding.line == 5 and finding.column == 8
    assert finding.message == "Secret 's' (Kubernetes 1.31): stringData.pin: expected string, got integer"


def test_typo_suggests_the_known_field_and_hides_the_missing_required(tmp_path):
    root = _repo(tmp_path, {"np.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                       "metadata: {name: a}\nspec:\n  podSelektor: {}\n"})
    [finding] = _findings(root)
    assert finding.line == 5 and "did you mean 'podSelector'" in finding.message


# ----------------------------------------------------------------------------------------------
# the structural-schema converter (user CRDs and gitops-kit's own schemas)

def _valid(schema: dict, doc) -> bool:
    sset = schemas_k8s.build_set("1.31", [])
    return sset.compile(schemas_k8s.convert_structural(schema, schema_id=schemas_k8s.OUR_BASE + "t")).is_valid(doc)


STRUCTURAL = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "maybe": {"type": "string", "nullable": True},
                "count": {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "x-kubernetes-preserve-unknown-fields": True},
                "opaque": {"x-kubernetes-preserve-unknown-fields": True},
            },
        },
    },
}
BASE = {"apiVersion": "example.com/v1", "kind": "W", "metadata": {"name": "w", "labels": {"a": "b"}}}


@pytest.mark.parametrize("spec,ok", [
    ({"size": 3}, True),
    ({"size": "3Gi"}, True),
    ({"size": [3]}, False),
    ({"size": None}, False),  # required: a null is pruned, then missing
    ({}, False),
    ({"size": 1, "free": {"any": {"thing": [1]}}}, True),
    ({"size": 1, "unknown": 1}, False),
    ({"size": 1, "mode": "c"}, False),
    ({"size": 1, "mode": None}, True),  # optional: a null is pruned
    ({"size": 1, "maybe": None}, True),
    ({"size": 1, "count": 1}, False),
    ({"size": 1, "count": 2}, True),
    ({"size": 1, "labels": {"x": 1}}, False),
    ({"size": 1, "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}}, True),
    ({"size": 1, "opaque": [1, "two"]}, True),
])
def test_structural_semantics(spec, ok):
    assert _valid(STRUCTURAL, {**BASE, "spec": spec}) is ok


def test_structural_root_accepts_object_meta_and_rejects_its_typos():
    assert _valid(STRUCTURAL, {**BASE, "spec": {"size": 1}})
    assert not _valid(STRUCTURAL, {**BASE, "metadata": {"name": "w", "lables": {}}, "spec": {"size": 1}})
    assert not _valid(STRUCTURAL, {**BASE, "status2": {}, "spec": {"size": 1}})


def test_converter_never_raises_on_garbage():
    for garbage in (None, 1, "x", [], {"type": 3}, {"properties": [1]}, {"items": "x"}, {"enum": "x"},
                    {"required": "abc", "properties": {"a": None}}, {"$defs": {"a": 1}}):
        schemas_k8s.convert_structural(garbage)


# ----------------------------------------------------------------------------------------------
# one validator per kind per run, built lazily, shared by the rules

def test_validators_compiled_once_per_kind(tmp_path, monkeypatch):
    calls = []
    real = schemas_k8s._compile
    monkeypatch.setattr(schemas_k8s, "_compile", lambda schema, reg: calls.append(schema.get("$id")) or
                        real(schema, reg))
    monkeypatch.setattr(schemas_k8s, "_CORE_VALIDATORS", {})
    monkeypatch.setattr(schemas_k8s, "_PROJECT_VALIDATORS", {})
    files = {f"cm{i}.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(30)}
    files.update({f"np{i}.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                 f"metadata: {{name: n{i}}}\nspec: {{podSelector: {{}}}}\n" for i in range(30)})
    root = _repo(tmp_path, files)
    lint([str(root)], select=RULES)
    assert len(calls) == 2
    lint([str(root)], select=RULES)
    assert len(calls) == 2  # the next run in the same process reuses them


def test_schema_set_shared_by_the_rules_of_a_run(tmp_path):
    root = _repo(tmp_path, {"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    model = build(root, load_config(root))
    assert schemas_k8s.for_model(model) is schemas_k8s.for_model(model)


# ----------------------------------------------------------------------------------------------
# versions

def test_version_resolution():
    versions = schemas_k8s.bundled_versions()
    assert "1.31" in versions
    assert schemas_k8s.resolve_version("1.31") == ("1.31", None)
    assert schemas_k8s.resolve_version("v1.31.4") == ("1.31", None)
    low, note = schemas_k8s.resolve_version("1.20")
    assert low == versions[0] and "nearest" in note
    high, note = schemas_k8s.resolve_version("1.99")
    assert high == versions[-1] and "1.99" in note
    assert schemas_k8s.resolve_version("latest")[1]


def test_fallback_is_reported_never_silent(tmp_path):
    root = _repo(tmp_path, {".gitops-kit.yaml": 'kubernetes_version: "1.19"\n',
                            "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    [note] = _findings(root)
    assert note.path == ".gitops-kit.yaml" and note.line == 1 and str(note.severity) == "info"
    assert "1.19" in note.message and "nearest" in note.message


# ----------------------------------------------------------------------------------------------
# CRDs: found in the repository, or listed in config `crds:` (outside the repository)

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
"""


def test_crd_listed_in_config_outside_the_repository(tmp_path):
    crds = tmp_path / "vendor-crds"
    crds.mkdir()
    (crds / "widget.yaml").write_text(CRD)
    root = _repo(tmp_path, {"w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
                                      "spec: {size: big}\n"})
    (root / ".gitops-kit.yaml").write_text(f"crds: ['{crds}']\n")
    cfg = load_config(root)
    assert cfg.crds == [str(crds)]
    model = build(root, cfg)
    sset = schemas_k8s.for_model(model)
    assert sset.covers("example.com/v1", "Widget")
    assert "vendor-crds" in sset.source("example.com/v1", "Widget").label


CRD_V1BETA1 = """\
apiVersion: apiextensions.k8s.io/v1beta1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  version: v1
  validation:
    openAPIV3Schema:
      type: object
      properties:
        spec:
          type: object
          properties:
            size: {type: integer}
"""


def test_crd_v1beta1_shared_schema(tmp_path):
    root = _repo(tmp_path, {"crd.yaml": CRD_V1BETA1,
                            "w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
                                      "spec: {size: big}\n"})
    assert schemas_k8s.for_model(build(root, load_config(root))).covers("example.com/v1", "Widget")
    [finding] = _findings(root)
    assert finding.line == 4 and "spec.size: expected integer, got string" in finding.message


def test_repository_crd_wins_over_gitops_kit_schema(tmp_path):
    crd = CRD.replace("group: example.com", "group: metallb.io").replace("kind: Widget", "kind: IPAddressPool")
    crd = crd.replace("- name: v1", "- name: v1beta1")
    root = _repo(tmp_path, {"crd.yaml": crd,
                            "pool.yaml": "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n"
                                         "metadata: {name: p}\nspec: {size: 1}\n"})
    assert _findings(root) == []  # valid for the user's CRD, although gitops-kit's schema requires addresses


# ----------------------------------------------------------------------------------------------
# shipped data

BRIEF_KINDS = [
    ("argoproj.io/v1alpha1", "Application"), ("argoproj.io/v1alpha1", "ApplicationSet"),
    ("argoproj.io/v1alpha1", "AppProject"), ("metallb.io/v1beta1", "IPAddressPool"),
    ("metallb.io/v1beta1", "L2Advertisement"), ("crd.projectcalico.org/v1", "IPPool"),
    ("postgresql.cnpg.io/v1", "Cluster"), ("postgresql.cnpg.io/v1", "Database"),
    ("k8s.mariadb.com/v1alpha1", "Database"), ("k8s.mariadb.com/v1alpha1", "User"),
    ("k8s.mariadb.com/v1alpha1", "Grant"), ("k8s.mariadb.com/v1alpha1", "MariaDB"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"), ("k8s.mariadb.com/v1alpha1", "Backup"),
    ("traefik.io/v1alpha1", "IngressRoute"), ("traefik.containo.us/v1alpha1", "IngressRoute"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
]


def test_every_shipped_schema_converts_and_compiles():
    sset = schemas_k8s.build_set("1.31", [])
    by_gvk, by_name = schemas_k8s.project_index()
    for api, kind in BRIEF_KINDS:
        assert (api, kind) in by_gvk, (api, kind)
    assert by_name["Chart.yaml"] and by_name["kustomization.yaml"]
    names = {name for name, _ in schemas_k8s._project_files()}
    for name in names:
        assert sset.project_validator(name) is not None
    seen: dict = {}
    for name, raw in schemas_k8s._project_files():
        for gvk in raw.get("x-kubernetes-group-version-kind") or []:
            key = (gvk["group"], gvk["version"], gvk["kind"])
            assert key not in seen, f"{key} in {name} and {seen.get(key)}"
            seen[key] = name


def test_import_is_lazy():
    code = ("import sys, gitops_kit.cli, gitops_kit.schemas_k8s, gitops_kit.checks.schema, "
            "gitops_kit.checks.schema_unknown, gitops_kit.checks.deprecated_api; "
            "print(sorted(m for m in ('jsonschema_rs', 'kubernetes_validate', 'jsonschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert out.stdout.strip() == "[]"


def test_reference_example_is_schema_clean():
    report = lint([str(PROJECT / "examples" / "reference")], select=RULES)
    assert [f"{f.path}:{f.line} [{f.rule}] {f.message}" for f in report.findings] == []
    assert report.objects > 100
