"""node-tier beyond the rule cases: odd document shapes, config-driven tiers, apps without a tier,
workloads outside bundles, and the selection forms the driver cannot mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_kit.findings import Severity
from helpers import overlay, reference_copy, run_check, run_lint

RULE = "node-tier"
FB_VALUES = "apps/helm/filebrowser/values.yaml"
FB_APP = "argo/apps/filebrowser-app.yaml"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return reference_copy(tmp_path / "repo")


def deployment(pod_spec: str, name: str = "odd") -> str:
    return ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s, namespace: filebrowser}\n"
            "spec:\n  replicas: 1\n  template:\n    spec:\n%s" % (name, pod_spec))


ODD = {
    "apps/manifests/filebrowser/odd-spec.yaml": "\n---\n".join([
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: null\n",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: b}\nspec: [1, 2]\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: c}\nspec: {template: text}\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: [a]}}\n",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: e}\nspec: {jobTemplate: [a]}\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: null\nspec: {}\n",
    ]),
    "apps/manifests/filebrowser/odd-selectors.yaml": "\n---\n".join([
        deployment("      nodeSelector: [example.com/role, worker]\n", "s1"),
        deployment("      nodeSelector: null\n", "s2"),
        deployment("      nodeSelector: {example.com/role: [worker]}\n", "s3"),
        deployment("      affinity: {nodeAffinity: [a]}\n", "s4"),
        deployment("      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [a]}}\n", "s5"),
        deployment("      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
                   "{nodeSelectorTerms: {a: b}}}}\n", "s6"),
        deployment("      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
                   "{nodeSelectorTerms: [null, text, {matchExpressions: text}, {matchExpressions: [null, 3, "
                   "{key: example.com/role, operator: In, values: text}, {key: example.com/role}]}]}}}\n", "s7"),
        deployment("      affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: "
                   "[null, {preference: text}, {preference: {matchExpressions: text}}]}}\n", "s8"),
        deployment("      node_selector: 'a: [unclosed'\n", "s9"),
        deployment("      node_selector: '- a list'\n", "s10"),
        deployment("      nodeAffinityPreset: {key: example.com/role, values: text}\n", "s11"),
    ]),
    FB_VALUES: "- a list\n- at the top\n---\n42\n---\n---\nnodeSelector: {example.com/role: worker}\n",
    "apps/helm/netbox/values.yaml": "",
    "apps/helm/asset-mgmt/kustomization.yaml": "helmCharts: [null, text, {valuesInline: [a]}, {valuesInline: text}]\n",
    "apps/helm/awx/Chart.yaml": "- a list\n",
    FB_APP: ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: filebrowser}\n"
             "spec:\n  destination: {namespace: filebrowser}\n  sources:\n"
             "    - {chart: filebrowser, helm: [a]}\n"
             "    - {chart: filebrowser, helm: {valuesObject: [a], values: 5, parameters: text}}\n"
             "    - {chart: filebrowser, helm: {valuesObject: null, parameters: [null, {name: 5}, {value: x}]}}\n"),
}


def test_odd_shapes_never_crash(repo):
    overlay(repo, ODD)
    run_check(repo, RULE)  # must not raise
    report = run_lint(repo)
    assert report.crashed == ()


@pytest.mark.parametrize("value,shown", [("1", "1"), ("null", "null"), ("true", "true"), ('""', '""'),
                                         ("'Worker'", '"Worker"')])
def test_non_string_or_unknown_tier_values(repo, value, shown):
    overlay(repo, {FB_VALUES: f"nodeSelector:\n  example.com/role: {value}\n"})
    found = [h for h in run_check(repo, RULE) if h.path == FB_VALUES]
    assert [(h.pos[0], h.severity) for h in found] == [(2, None)]
    assert f"example.com/role: {shown} is not a known tier" in found[0].message


def test_tiers_and_label_come_from_config(repo):
    cfg = (repo / ".gitops-kit.yaml").read_text()
    overlay(repo, {".gitops-kit.yaml": cfg + "tiers: [control, worker, gpu]\n",
                   FB_VALUES: "nodeSelector:\n  example.com/role: gpu\n"})
    found = [h for h in run_check(repo, RULE) if h.path == FB_VALUES]
    assert len(found) == 1 and "on gpu nodes, but its tier is 'worker'" in found[0].message

    overlay(repo, {".gitops-kit.yaml": cfg + "tier_label: node.example.org/pool\n",
                   FB_VALUES: "nodeSelector:\n  node.example.org/pool: workers\n"})
    found = [h for h in run_check(repo, RULE) if h.path == FB_VALUES]
    assert len(found) == 1 and "node.example.org/pool: \"workers\" is not a known tier" in found[0].message


def test_app_without_application_has_no_tier_to_compare(repo):
    overlay(repo, {"apps/manifests/orphan/job.yaml": (
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: orphan}\nspec:\n  template:\n    spec:\n"
        "      nodeSelector: {example.com/role: control}\n---\n"
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: k, namespace: orphan}\nspec:\n  template:\n    spec:\n"
        "      nodeSelector: {example.com/role: gpu}\n")})
    found = [h for h in run_check(repo, RULE) if h.path == "apps/manifests/orphan/job.yaml"]
    assert [h.pos[0] for h in found] == [15]
    assert "not a known tier" in found[0].message


def test_workloads_outside_bundles_are_checked_for_unknown_tiers(repo):
    overlay(repo, {"infra/jobs/drain.yaml": (
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: drain, namespace: kube-system}\nspec:\n  template:\n"
        "    spec:\n      nodeSelector: {example.com/role: worker}\n---\n"
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: drain2, namespace: kube-system}\nspec:\n  template:\n"
        "    spec:\n      nodeSelector: {example.com/role: workers}\n")})
    found = [h for h in run_check(repo, RULE) if h.path == "infra/jobs/drain.yaml"]
    assert [h.pos[0] for h in found] == [15] and found[0].app is None


def test_bitnami_node_affinity_preset(repo):
    overlay(repo, {FB_VALUES: "nodeAffinityPreset:\n  type: hard\n  key: example.com/role\n  values:\n    - control\n"})
    found = [h for h in run_check(repo, RULE) if h.path == FB_VALUES]
    assert [h.pos[0] for h in found] == [5]
    # soft: a preference; not compared, but a tier choice all the same (no "no tier" warning)
    overlay(repo, {FB_VALUES: "nodeAffinityPreset:\n  type: soft\n  key: example.com/role\n  values:\n    - control\n"})
    assert [h for h in run_check(repo, RULE) if h.path == FB_VALUES] == []


def test_helm_values_text_and_parameters_count_as_selection(repo):
    app = (repo / FB_APP).read_text()
    overlay(repo, {FB_VALUES: "resources: {limits: {memory: 256Mi}}\n"})
    assert [h.severity for h in run_check(repo, RULE) if h.path == FB_VALUES] == [Severity.WARNING]
    text = app.replace("        releaseName: filebrowser\n", "        releaseName: filebrowser\n"
                       "        values: |\n          nodeSelector:\n            example.com/role: worker\n")
    overlay(repo, {FB_APP: text})
    assert [h for h in run_check(repo, RULE) if h.path == FB_VALUES] == []
    params = app.replace("        releaseName: filebrowser\n", "        releaseName: filebrowser\n"
                         "        parameters:\n          - name: nodeSelector.example\\.com/role\n"
                         "            value: worker\n")
    overlay(repo, {FB_APP: params})
    assert [h for h in run_check(repo, RULE) if h.path == FB_VALUES] == []


def test_values_without_chart_are_not_warned(repo):
    # A values file in a bundle whose Application installs no chart (plain manifests only).
    overlay(repo, {"apps/helm/cluster-config/values.yaml": "replicaCount: 1\n"})
    assert [h for h in run_check(repo, RULE) if h.path == "apps/helm/cluster-config/values.yaml"] == []


def test_missing_tier_warning_severity_and_stable_fingerprint(repo):
    overlay(repo, {FB_VALUES: "nodeSelector:\n  example.com/role: control\n",
                   "apps/manifests/filebrowser/d.yaml": deployment("      containers: []\n")})
    first = {(f.fingerprint, f.severity) for f in run_lint(repo).findings if f.rule == RULE}
    assert {s for _, s in first} == {Severity.ERROR, Severity.WARNING}
    overlay(repo, {FB_VALUES: "# moved down a line\nnodeSelector:\n  example.com/role: control\n",
                   "apps/manifests/filebrowser/d.yaml": "# moved\n" + deployment("      containers: []\n")})
    second = {(f.fingerprint, f.severity) for f in run_lint(repo).findings if f.rule == RULE}
    assert first == second


def test_reference_is_clean():
    from helpers import REFERENCE
    assert run_check(REFERENCE, RULE) == []
