"""helm-pattern beyond the rule cases: what an exact version is, and $ref value files."""

from __future__ import annotations

import pytest

from gitops_kit import yamlio
from gitops_kit.checks._apps import is_exact_version, version_problem
from helpers import reference_model, run_check

EXACT = ["1.2.3", "0.0.0", "v39.0.1", "1.0.0-rc.1", "1.0.0-alpha.beta.1", "1.0.0+build.5", "1.0.0-rc.1+sha.5114f85",
         "10.20.30", "1.0.0-0A.is.legal"]
NOT_EXACT = ["*", "^1.2", "~1.2", "~1.2.3", ">=1", ">=1.0.0 <2.0.0", "1.x", "1.2.x", "1.2.*", "1.2 - 1.4",
             "1.2.3 || 1.2.4", "latest", "HEAD", "", " ", "1.2", "1", "v1.2", "01.2.3", "1.02.3", "1.2.3-",
             "1.2.3-01", "1.2.3+", " 1.2.3", "1.2.3 ", "=1.2.3", "1.2.3.4", "main", None, True, 1, 1.2, [1], {"a": 1}]


@pytest.mark.parametrize("value", EXACT)
def test_exact_versions(value):
    assert is_exact_version(value)
    assert version_problem(value) is None


@pytest.mark.parametrize("value", NOT_EXACT)
def test_not_exact_versions(value):
    assert not is_exact_version(value)
    assert version_problem(value)


def test_yaml_reads_an_unquoted_two_part_version_as_a_float():
    value = yamlio.load_text("v: 1.2\n").documents[0].data["v"]
    assert isinstance(value, float) and not is_exact_version(value)
    assert is_exact_version(yamlio.load_text("v: 1.2.3\n").documents[0].data["v"])


@pytest.mark.parametrize("text,kind", [("^1.2", "a range"), ("1.x", "a wildcard"), ("*", "a wildcard"),
                                       ("latest", "a moving target"), ("", "empty")])
def test_problem_names_the_kind(text, kind):
    assert version_problem(text) == kind


def test_single_source_dollar_values_is_reported(tmp_path):
    path = "argo/apps/netbox-app.yaml"
    single = ("apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
              "metadata: {name: netbox, namespace: argocd-system}\nspec:\n  source:\n"
              "    repoURL: https://gitlab.example.com/platform/gitops.git\n"
              "    targetRevision: master\n    path: apps/helm/netbox\n    helm:\n      valueFiles:\n"
              "        - $values/apps/helm/netbox/values.yaml\n")
    found = [h for h in run_check(reference_model(tmp_path, {path: single}), "helm-pattern") if h.path == path]
    assert [h.pos for h in found] == [(11, 11)] and "spec.sources" in found[0].message


def test_version_files_outside_bundles_are_checked(tmp_path):
    found = run_check(reference_model(tmp_path, {
        "charts/local/Chart.yaml": "apiVersion: v2\nname: local\nversion: 0.1.0\ndependencies:\n"
                                   "  - {name: redis, version: '>=18', repository: https://charts.example.com}\n",
        "apps/manifests/netbox/kustomization.yaml": "helmCharts:\n  - {name: x, version: 1.2.3}\n"}), "helm-pattern")
    assert [(h.path, h.pos[0]) for h in found] == [("charts/local/Chart.yaml", 5)]
