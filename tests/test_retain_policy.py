"""retain-policy beyond the case driver: patch text forms, parameters, and odd document shapes."""

from __future__ import annotations


import pytest

from gitops_kit.checks import _secrets as s
from gitops_kit.checks import retain_policy
from gitops_kit.yamlio import YMap
from helpers import run_check

RULE = "retain-policy"


def patch_hits(text: str, storage_classes: set[str] = frozenset(), target: YMap | None = None) -> list[int]:
    """0-based lines of ``text`` that a patch check reports (``text`` held in a literal block scalar)."""
    source = "patch: |\n" + "".join(f"  {line}\n" for line in text.split("\n"))
    hits = list(retain_policy._patch_text("k.yaml", text, (1, 8), s.SourceLines(source), target,
                                          set(storage_classes), "p"))
    assert len({h.key for h in hits}) == len(hits)
    return sorted({h.pos[0] - 2 for h in hits})


@pytest.mark.parametrize("text,lines", [
    ("spec:\n  cleanupPolicy: Delete\n", [1]),
    ("spec:\n  cleanupPolicy: \"Delete\"\n", [1]),
    ("spec: {cleanupPolicy: Delete}\n", [0]),
    ("spec:\n  cleanupPolicy: Skip\n", []),
    ("spec:\n  cleanupPolicy: Deleted\n", []),
    ("spec:\n  databaseReclaimPolicy: delete\n", [1]),
    ("spec:\n  databaseReclaimPolicy: Delete\n", []),  # CloudNativePG's enum is lower-case
    ("- op: replace\n  path: /spec/cleanupPolicy\n  value: Delete\n", [2]),
    ("- {op: add, value: Delete, path: /spec/cleanupPolicy}\n", [0]),
    ('[{"op":"add","path":"/spec/persistentVolumeReclaimPolicy","value":"Delete"}]', [0]),
    ("- op: add\n  path: /spec/cleanupPolicy\n  value: Skip\n- op: add\n  path: /spec/x\n  value: Delete\n", []),
    ("- op: add\n  path: /spec/persistentVolumeClaimRetentionPolicy\n  value:\n    whenDeleted: Delete\n", [3]),
    ("# cleanupPolicy: Delete is what we avoid\nspec: {}\n", [0]),
])
def test_patch_text(text, lines):
    assert patch_hits(text) == lines


def test_reclaim_policy_in_patch_respects_storage_classes():
    text = "- op: replace\n  path: /reclaimPolicy\n  value: Delete\n"
    target = YMap()
    target["name"] = "scratch"
    assert patch_hits(text, {"db"}, target) == []
    target["name"] = "db"
    assert patch_hits(text, {"db"}, target) == [2]
    assert patch_hits(text, set(), None) == [2]


SC = """apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: %s}
provisioner: driver.longhorn.io
"""


def test_storage_classes_parameter(tmp_path):
    files = {"apps/manifests/x/sc.yaml": SC % "db" + "---\n" + SC % "scratch"}
    assert len(run_check(tmp_path, RULE, files)) == 2
    hits = run_check(tmp_path, RULE, files, storage_classes=["db"])
    assert [h.pos[0] for h in hits] == [2]


def test_values_keys_parameter(tmp_path):
    files = {"apps/helm/x/values.yaml": "a:\n  cleanupPolicy: Delete\n  reclaimPolicy: Delete\n"
                                        "  whenDeleted: Delete\n"}
    assert [h.pos[0] for h in run_check(tmp_path, RULE, files)] == [2, 3, 4]
    hits = run_check(tmp_path, RULE, files, values_keys={"reclaimPolicy": "Delete"})
    assert [h.pos[0] for h in hits] == [3]


ODD = """apiVersion: k8s.mariadb.com/v1alpha1
kind: Database
metadata: {name: list-spec}
spec: [a]
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: User
metadata: {name: string-spec}
spec: text
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Grant
metadata: {name: int-policy}
spec: {cleanupPolicy: 5}
---
apiVersion: k8s.mariadb.com/v1alpha1
kind: Database
metadata: {name: null-spec}
spec:
---
apiVersion: postgresql.cnpg.io/v1
kind: Database
metadata: [x]
spec: [databaseReclaimPolicy, delete]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec: {persistentVolumeClaimRetentionPolicy: Delete}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s2}
spec: null
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv}
spec: [persistentVolumeReclaimPolicy]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: int-policy}
reclaimPolicy: 5
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: null-policy}
reclaimPolicy:
"""

KUSTOMIZATION = """resources: text
patches: [null, 5, {patch: 5}, {patch: "", target: text}, {path: 5}, {path: "../../../outside.yaml"}]
patchesStrategicMerge: [5, null, {a: b}]
patchesJson6902: text
---
patches: {a: b}
patchesStrategicMerge: text
"""

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: odd}
spec:
  sources:
    - null
    - {helm: text, kustomize: text}
    - {helm: {values: 5, valuesObject: text}, kustomize: {patches: {a: b}}}
    - {kustomize: {patches: [null, {patch: 5}, {patch: "cleanupPolicy: Delete"}]}}
"""


def test_odd_shapes_do_not_crash(tmp_path):
    hits = run_check(tmp_path, RULE, {"apps/manifests/x/odd.yaml": ODD,
                                      "apps/manifests/x/kustomization.yaml": KUSTOMIZATION,
                                      "apps/helm/x/values.yaml": "- [1, 2]\n- cleanupPolicy: Delete\n",
                                      "argo/apps/odd-app.yaml": APP})
    odd_lines = ODD.split("\n")

    def line_of(text: str, after: str) -> int:
        return odd_lines.index(text, odd_lines.index(after)) + 1

    assert sorted((h.path, h.pos[0]) for h in hits) == sorted([
        ("apps/manifests/x/odd.yaml", line_of("spec:", "metadata: {name: null-spec}")),  # null spec: unset policy
        ("apps/manifests/x/odd.yaml", line_of("reclaimPolicy:", "metadata: {name: null-policy}")),
        ("apps/helm/x/values.yaml", 2),
        ("argo/apps/odd-app.yaml", 9),
    ])
