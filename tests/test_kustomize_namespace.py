"""kustomize-namespace beyond the case driver: which documents count as kustomizations, and odd shapes."""

from __future__ import annotations


import pytest

from helpers import run_check

RULE = "kustomize-namespace"

CHART = "helmCharts:\n  - {name: c, repo: https://charts.example.com, version: 1.0.0}\n"


@pytest.mark.parametrize("name,text,line", [
    ("kustomization.yaml", "namespace: a\n" + CHART, 1),
    ("kustomization.yml", CHART + "namespace: a\n", 3),
    ("kustomization.yaml", "kind: Kustomization\nnamespace: a\n" + CHART, 2),
    # kind Kustomization of kustomize's API counts whatever the file is called
    ("other.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: a\n" + CHART, 3),
    ("kustomization.yaml", "namespace: 5\n" + CHART, 1),
])
def test_reported(tmp_path, name, text, line):
    hits = run_check(tmp_path, RULE, {f"apps/helm/x/{name}": text})
    assert [h.pos[0] for h in hits] == [line]
    assert "helmCharts (c)" in hits[0].message


@pytest.mark.parametrize("name,text", [
    ("kustomization.yaml", "namespace: a\nresources: [x.yaml]\n"),
    ("kustomization.yaml", "namespace: a\nhelmCharts: []\n"),
    ("kustomization.yaml", "namespace: a\nhelmCharts: text\n"),
    ("kustomization.yaml", "namespace: a\nhelmCharts: {name: c}\n"),
    ("kustomization.yaml", "namespace: ''\n" + CHART),
    ("kustomization.yaml", "namespace:\n" + CHART),
    ("kustomization.yaml", "namespace: '  '\n" + CHART),
    ("kustomization.yaml", CHART.replace("}", ", namespace: a}")),
    # Flux's Kustomization is another API with the same kind
    ("other.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nnamespace: a\n" + CHART),
    ("values.yaml", "namespace: a\n" + CHART),
    ("kustomization.yaml", "kind: Component\nnamespace: a\n" + CHART),
])
def test_silent(tmp_path, name, text):
    assert run_check(tmp_path, RULE, {f"apps/helm/x/{name}": text}) == []


def test_odd_shapes_do_not_crash(tmp_path):
    odd = "- a\n- b\n---\n5\n---\nhelmCharts: [null, 5, {name: 5}]\nnamespace: [a]\n---\n~\n"
    app = ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec:\n  sources:\n"
           "    - {path: 5, kustomize: {namespace: a}}\n    - {path: apps/helm/x, kustomize: text}\n"
           "    - {path: apps/helm/x, kustomize: {namespace: [a]}}\n    - null\n")
    hits = run_check(tmp_path, RULE, {"apps/helm/x/kustomization.yaml": odd, "argo/apps/x-app.yaml": app})
    assert sorted((h.path, h.pos[0]) for h in hits) == [("apps/helm/x/kustomization.yaml", 7),
                                                       ("argo/apps/x-app.yaml", 8)]
