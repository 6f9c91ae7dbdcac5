"""topology-spread beyond the rule cases: odd shapes, parameters, which values files and keys count."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REFERENCE, overlay, reference_copy, run_check, run_lint

RULE = "topology-spread"
FB_VALUES = "apps/helm/filebrowser/values.yaml"
WORKERS = "apps/manifests/filebrowser/workers.yaml"
HOSTNAME = ("topologySpreadConstraints:\n  - {maxSkew: %s, topologyKey: kubernetes.io/hostname, "
            "whenUnsatisfiable: %s}\n")


def lines(root: Path, path: str, **params) -> list[int]:
    return sorted(h.pos[0] for h in run_check(root, RULE, **params) if h.path == path)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return reference_copy(tmp_path / "repo")


def workload(kind: str, spec: str) -> str:
    return f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: w, namespace: filebrowser}}\n{spec}"


ODD = [
    "spec: null\n", "spec: [a]\n", "spec: {replicas: true}\n", "spec: {replicas: '3'}\n", "spec: {replicas: 2.5}\n",
    "spec: {replicas: 3, template: text}\n", "spec: {replicas: 3, template: {spec: [a]}}\n",
    "spec: {replicas: 3, template: {spec: {topologySpreadConstraints: {a: b}}}}\n",
    "spec: {replicas: 3, template: {spec: {topologySpreadConstraints: [null, text, {topologyKey: 5}, "
    "{topologyKey: kubernetes.io/hostname, maxSkew: '1', whenUnsatisfiable: [x]}]}}}\n",
]


def test_odd_shapes_never_crash(repo):
    overlay(repo, {WORKERS: "\n---\n".join(workload("Deployment", s) for s in ODD),
                   FB_VALUES: "- list\n---\nreplicas: [3]\nreplicaCount: {a: 1}\n---\n"
                              "x: {replicas: 3, topologySpreadConstraints: text}\ny: [{replicaCount: 2}]\n"})
    found = run_check(repo, RULE)
    # the four workloads with replicas: 3 (each without a usable constraint), and the two values mappings
    assert lines(repo, WORKERS) == [34, 40, 46, 52]
    assert lines(repo, FB_VALUES) == [6, 7]
    assert all(h.message for h in found)
    assert run_lint(repo).crashed == ()


def test_bool_and_small_counts_are_not_replicas(repo):
    overlay(repo, {FB_VALUES: "a: {replicas: true}\nb: {replicaCount: 1}\nc: {replicas: 0}\nd: {replicas: '4'}\n"})
    assert lines(repo, FB_VALUES) == []


def test_parameters_change_what_counts(repo):
    overlay(repo, {FB_VALUES: "replicaCount: 3\n" + HOSTNAME % (2, "DoNotSchedule")})
    assert lines(repo, FB_VALUES) == [1]
    assert lines(repo, FB_VALUES, max_skew=2) == []
    overlay(repo, {FB_VALUES: "replicaCount: 3\n" + HOSTNAME % (1, "ScheduleAnyway")})
    assert lines(repo, FB_VALUES, when_unsatisfiable="ScheduleAnyway") == []
    assert lines(repo, FB_VALUES, topology_key="topology.kubernetes.io/zone") == [1]
    overlay(repo, {FB_VALUES: "server: {instances: 3}\n"})
    assert lines(repo, FB_VALUES, replica_keys=["instances"]) == [1]


def test_message_names_both_near_misses(repo):
    overlay(repo, {FB_VALUES: "replicaCount: 3\n" + HOSTNAME % (3, "ScheduleAnyway")})
    (hit,) = [h for h in run_check(repo, RULE) if h.path == FB_VALUES]
    assert "maxSkew 3" in hit.message and "ScheduleAnyway" in hit.message


def test_only_values_files_are_read_as_values(repo):
    overlay(repo, {"apps/helm/filebrowser/values-prod.yaml": "replicaCount: 3\n",
                   "apps/helm/filebrowser/extra.yaml": "replicaCount: 3\n"})
    assert lines(repo, "apps/helm/filebrowser/values-prod.yaml") == [1]
    assert lines(repo, "apps/helm/filebrowser/extra.yaml") == []


def test_embedded_workload_spec_in_values(repo):
    overlay(repo, {FB_VALUES: (
        "extraObjects:\n  - apiVersion: apps/v1\n    kind: Deployment\n    spec:\n      replicas: 2\n"
        "      template:\n        spec:\n"
        "          topologySpreadConstraints:\n            - {maxSkew: 1, topologyKey: kubernetes.io/hostname,"
        " whenUnsatisfiable: DoNotSchedule}\n"
        "  - apiVersion: apps/v1\n    kind: StatefulSet\n    spec:\n      replicas: 2\n"
        "      template: {spec: {}}\n")})
    assert lines(repo, FB_VALUES) == [13]


def test_component_with_pod_keys_does_not_inherit_parent(repo):
    overlay(repo, {FB_VALUES: HOSTNAME % (1, "DoNotSchedule") + "replicaCount: 2\n"
                   "webhook:\n  replicaCount: 2\n  resources: {}\nha:\n  replicas: 3\n"})
    assert lines(repo, FB_VALUES) == [5]


def test_daemonsets_never(repo):
    overlay(repo, {WORKERS: workload("DaemonSet", "spec: {replicas: 3}\n")})
    assert lines(repo, WORKERS) == []


def test_reference_is_clean():
    assert run_check(REFERENCE, RULE) == []
