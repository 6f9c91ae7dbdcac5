"""deprecated-api beyond the rule cases: error vs warning, the replacement named, the table sound."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_kit import schemas_k8s
from gitops_kit.api import lint
from gitops_kit.checks.deprecated_api import table
from helpers import overlay


def _lint(tmp_path: Path, version: str, files: dict[str, str]) -> list:
    root = tmp_path / "repo"
    (root / "argo").mkdir(parents=True)
    overlay(root, {".gitops-kit.yaml": f'kubernetes_version: "{version}"\n', **files})
    return [f for f in lint([str(root)], select=["deprecated-api"]).findings]


PDB = {"pdb.yaml": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\n"}
FLOW = {"fs.yaml": "apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata: {name: f}\n"}


@pytest.mark.parametrize("version,files,expected", [
    ("1.20", PDB, []),
    ("1.21", PDB, ["warning"]),
    ("1.24", PDB, ["warning"]),
    ("1.25", PDB, ["error"]),
    ("1.31", PDB, ["error"]),
    ("1.28", FLOW, []),
    ("1.29", FLOW, ["warning"]),
    ("1.32", FLOW, ["error"]),
])
def test_severity_follows_the_target_version(tmp_path, version, files, expected):
    assert [str(f.severity) for f in _lint(tmp_path, version, files)] == expected


def test_message_names_the_replacement_at_the_api_version(tmp_path):
    [finding] = _lint(tmp_path, "1.31", PDB)
    assert finding.line == 1 and finding.column == 13
    assert "removed in Kubernetes 1.25" in finding.message and "use policy/v1 PodDisruptionBudget" in finding.message


def test_deprecated_without_removal(tmp_path):
    files = {"ep.yaml": "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\n"}
    [finding] = _lint(tmp_path, "1.33", files)
    assert str(finding.severity) == "warning" and "discovery.k8s.io/v1 EndpointSlice" in finding.message
    assert _lint(tmp_path / "older", "1.32", files) == []


def test_odd_shapes_are_ignored(tmp_path):
    files = {"a.yaml": "apiVersion: policy/v1beta1\nkind: [PodDisruptionBudget]\n",
             "b.yaml": "- apiVersion: policy/v1beta1\n  kind: PodDisruptionBudget\n",
             "values.yaml": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\n"}
    assert _lint(tmp_path, "1.31", files) == []


def test_table_is_sound():
    seen = set()
    for entry in table():
        key = (entry["apiVersion"], entry["kind"])
        assert key not in seen, key
        seen.add(key)
        dep = schemas_k8s.parse_minor(entry["deprecated_in"])
        removed = schemas_k8s.parse_minor(entry["removed_in"]) if entry["removed_in"] else None
        assert dep is not None, key
        assert removed is None or removed > dep, key
        assert entry["replacement"], key
    for must in [("policy/v1beta1", "PodDisruptionBudget"), ("policy/v1beta1", "PodSecurityPolicy"),
                 ("networking.k8s.io/v1beta1", "Ingress"), ("extensions/v1beta1", "Ingress"),
                 ("batch/v1beta1", "CronJob"), ("autoscaling/v2beta1", "HorizontalPodAutoscaler"),
                 ("autoscaling/v2beta2", "HorizontalPodAutoscaler"), ("storage.k8s.io/v1beta1", "CSIStorageCapacity"),
                 ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
                 ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema"),
                 ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration")]:
        assert must in seen, must


def test_removed_apis_have_no_schema_in_the_versions_that_removed_them():
    """Cross-check of the table against kubernetes-validate's schemas: an API removed in a bundled
    version has no schema there, and had one in the version before (when that is bundled)."""
    versions = schemas_k8s.bundled_versions()
    for entry in table():
        if not entry["removed_in"] or entry["removed_in"] not in versions:
            continue
        core = schemas_k8s._core(entry["removed_in"])
        assert core.schema(entry["apiVersion"], entry["kind"]) is None, entry
        major, minor = schemas_k8s.parse_minor(entry["removed_in"])
        before = f"{major}.{minor - 1}"
        if before in versions:
            assert schemas_k8s._core(before).schema(entry["apiVersion"], entry["kind"]) is not None, entry
