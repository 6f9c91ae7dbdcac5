"""schema-unknown beyond the rule cases: one finding per uncovered object, with the reason."""

from __future__ import annotations

from pathlib import Path

from gitops_kit.api import lint
from helpers import overlay


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    (root / "argo").mkdir(parents=True)
    overlay(root, files)
    return root


def _unknown(root: Path) -> list:
    return [f for f in lint([str(root)], select=["schema-unknown"]).findings]


def test_one_finding_per_kind_at_its_first_object(tmp_path):
    objs = "---\n".join(f"apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {{name: g{i}}}\n" for i in range(5))
    root = _repo(tmp_path, {"g.yaml": objs, "h.yaml": "apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: h}\n",
                            "w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"})
    found = _unknown(root)
    assert [(f.path, f.line, str(f.severity)) for f in found] == [("g.yaml", 2, "info"), ("w.yaml", 2, "info")]
    assert "example.com/v1 Gizmo 'g0' and 5 other Gizmo objects (here and in 1 other file) are not validated" \
        in found[0].message
    assert "example.com/v1 Widget 'w' is not validated" in found[1].message
    # the fingerprint names the kind, not the object: adding objects does not make a new finding
    overlay(root, {"i.yaml": "apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: i}\n"})
    assert _unknown(root)[0].fingerprint == found[0].fingerprint


def test_tool_configuration_files_are_not_objects(tmp_path):
    root = _repo(tmp_path, {
        "k3d.yaml": "apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata: {name: dev}\nservers: 1\n",
        "kind.yaml": "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnodes: [{role: control-plane}]\n",
        "kubeadm.yaml": "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.31.0\n",
        "kubelet.yaml": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n",
    })
    assert _unknown(root) == []


def test_covered_kinds_and_named_files_are_not_reported(tmp_path):
    root = _repo(tmp_path, {
        "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "app.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n"
                    "spec: {project: default, destination: {}}\n",
        "kustomization.yaml": "resources: [a.yaml]\n",
        "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        "chart/values.yaml": "apiVersion: v1\nkind: Whatever\n",
    })
    assert _unknown(root) == []


def test_removed_api_says_so(tmp_path):
    root = _repo(tmp_path, {"pdb.yaml": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\n"
                                        "metadata: {name: p}\n"})
    [finding] = _unknown(root)
    assert "removed from Kubernetes in 1.25" in finding.message


def test_flux_kustomization_in_a_kustomization_file_is_an_object(tmp_path):
    root = _repo(tmp_path, {"kustomization.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
                                                  "kind: Kustomization\nmetadata: {name: apps}\n"})
    [finding] = _unknown(root)
    assert finding.line == 2 and "kustomize.toolkit.fluxcd.io/v1 Kustomization" in finding.message


def test_unknown_core_version_of_a_known_kind(tmp_path):
    root = _repo(tmp_path, {"d.yaml": "apiVersion: apps/v2\nkind: Deployment\nmetadata: {name: d}\n"})
    [finding] = _unknown(root)
    assert "no schema for it in Kubernetes 1.31" in finding.message


def test_crd_version_not_served(tmp_path):
    crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: ws.example.com}\n"
           "spec:\n  group: example.com\n  names: {kind: W, plural: ws}\n  versions:\n"
           "    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}\n"
           "    - {name: v0, served: false, storage: false, schema: {openAPIV3Schema: {type: object}}}\n")
    root = _repo(tmp_path, {"crd.yaml": crd, "w.yaml": "apiVersion: example.com/v1\nkind: W\nmetadata: {name: a}\n"
                            "---\napiVersion: example.com/v0\nkind: W\nmetadata: {name: b}\n"})
    [finding] = _unknown(root)
    assert finding.line == 6 and "does not serve example.com/v0" in finding.message
