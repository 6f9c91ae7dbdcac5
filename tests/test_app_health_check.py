"""app-health-check beyond the rule cases: where the health check may be configured (umbrella chart,
kustomize helmCharts, helm.values text), repositories without Applications, and odd shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REFERENCE, overlay, reference_copy, run_check, run_lint

RULE = "app-health-check"
CM = "apps/manifests/argocd/argocd-cm.yaml"
ARGOCD_APP = "argo/bootstrap/argocd-app.yaml"
KEY = "resource.customizations.health.argoproj.io_Application"
LUA = "      hs = {}\n      hs.status = \"Healthy\"\n      return hs\n"
CHART_SOURCE = ("    - repoURL: https://argoproj.github.io/argo-helm\n      chart: argo-cd\n"
                "      targetRevision: 7.7.11\n")
NO_KEY_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\ndata: {url: https://argocd.example.com}\n"


def where(root: Path) -> list[tuple[str, int]]:
    return sorted((h.path, h.pos[0]) for h in run_check(root, RULE))


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return reference_copy(tmp_path / "repo")


def chart_app(source: str) -> str:
    return ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: argocd, namespace: argocd-system}\n"
            "spec:\n  destination: {namespace: argocd-system}\n  sources:\n" + source)


def test_no_applications_no_finding(tmp_path):
    root = tmp_path / "repo"
    overlay(root, {CM: NO_KEY_CM, "README.yaml": "a: 1\n"})
    assert run_check(root, RULE) == []


def test_missing_once_at_the_configmap_data(repo):
    """Where the key goes: the argocd-cm ConfigMap's data (issue 17), not the Application."""
    overlay(repo, {CM: NO_KEY_CM})
    assert where(repo) == [(CM, 4)]


def test_missing_at_the_argocd_application_without_a_configmap(repo):
    overlay(repo, {CM: None})
    assert where(repo) == [(ARGOCD_APP, 4)]


def test_no_argocd_configuration_in_the_repository_no_finding(repo):
    """Neither argocd-cm, nor ArgoCD's Application, nor a layer root: ArgoCD is installed from
    elsewhere and nothing here can be fixed (no finding at '.')."""
    overlay(repo, {"apps/manifests/argocd": None, ARGOCD_APP: None, "argo/root-bootstrap.yaml": None,
                   "argo/root-platform.yaml": None, "argo/root-apps.yaml": None,
                   ".gitops-kit.yaml": "repo: {url: https://gitlab.example.com/platform/gitops.git}\nlayers: []\n"})
    assert run_check(repo, RULE) == []


def test_no_child_with_a_sync_wave_no_finding(repo):
    """Children without sync waves wait for nothing: the health check changes nothing."""
    overlay(repo, {CM: NO_KEY_CM})
    for path in sorted((repo / "argo").rglob("*.yaml")):
        text = path.read_text()
        path.write_text("\n".join(line for line in text.split("\n") if "sync-wave" not in line))
    assert run_check(repo, RULE) == []


def test_umbrella_chart_values_under_the_dependency_alias(repo):
    overlay(repo, {CM: NO_KEY_CM,
                   "apps/helm/argocd/Chart.yaml": "apiVersion: v2\nname: argocd\nversion: 0.1.0\ndependencies:\n"
                                                  "  - {name: argo-cd, version: 7.7.11, alias: cd}\n",
                   "apps/helm/argocd/values.yaml": f"cd:\n  configs:\n    cm:\n      {KEY}: |\n" + LUA.replace(
                       "      ", "        ")})
    assert run_check(repo, RULE) == []
    overlay(repo, {"apps/helm/argocd/values.yaml": f"argo-cd:\n  configs:\n    cm:\n      {KEY}: |\n"
                   + LUA.replace("      ", "        ")})
    assert where(repo) == [(CM, 4)]  # values under the chart name, but the dependency is aliased


def test_kustomize_helm_charts_outside_the_bundles(repo):
    """A kustomization anywhere (infrastructure/argocd/) whose helmCharts install argo-cd."""
    kust = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nhelmCharts:\n"
            "  - name: argo-cd\n    repo: https://argoproj.github.io/argo-helm\n    version: 7.7.11\n"
            "    valuesFile: values/argocd.yaml\n")
    overlay(repo, {CM: NO_KEY_CM, "infrastructure/argocd/kustomization.yaml": kust,
                   "infrastructure/argocd/values/argocd.yaml": f"configs:\n  cm:\n    {KEY}: |\n" + LUA})
    assert run_check(repo, RULE) == []
    overlay(repo, {"infrastructure/argocd/values/argocd.yaml": f"server:\n  config:\n    {KEY}: ''\n"})
    assert where(repo) == [("infrastructure/argocd/values/argocd.yaml", 3)]  # chart < 4: server.config


def test_kustomize_helm_charts_inline_and_file(repo):
    kust = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nhelmCharts:\n"
            "  - name: argo-cd\n    valuesFile: values.yaml\n")
    overlay(repo, {CM: NO_KEY_CM, "apps/helm/argocd/kustomization.yaml": kust,
                   "apps/helm/argocd/values.yaml": f"configs:\n  cm:\n    {KEY}: |\n" + LUA})
    assert run_check(repo, RULE) == []
    overlay(repo, {"apps/helm/argocd/values.yaml": "configs: {}\n",
                   "apps/helm/argocd/kustomization.yaml": kust + f"    valuesInline:\n      configs:\n        cm:\n"
                                                                 f"          {KEY}: ' '\n"})
    assert where(repo) == [("apps/helm/argocd/kustomization.yaml", 9)]


def test_helm_values_text_is_reported_at_its_line_in_the_text(repo):
    source = (CHART_SOURCE + "      helm:\n        values: |\n          configs:\n            cm:\n"
              f"              {KEY}: \"\"\n")
    overlay(repo, {CM: NO_KEY_CM, ARGOCD_APP: chart_app(source)})
    assert where(repo) == [(ARGOCD_APP, 14)]  # the key inside the block scalar (the model maps it)
    overlay(repo, {ARGOCD_APP: chart_app(source.replace('""', "hs = {}"))})
    assert run_check(repo, RULE) == []


def test_values_object_and_anchor_by_chart(repo):
    source = (CHART_SOURCE + "      helm:\n        valuesObject:\n          configs: {cm: {url: x}}\n")
    overlay(repo, {CM: NO_KEY_CM, ARGOCD_APP: None, "argo/bootstrap/cd-app.yaml": chart_app(source)})
    assert where(repo) == [(CM, 4)]
    overlay(repo, {CM: None})
    assert where(repo) == [("argo/bootstrap/cd-app.yaml", 3)]


def test_whitespace_script_is_empty(repo):
    overlay(repo, {CM: NO_KEY_CM.replace("data: {url: https://argocd.example.com}",
                                         f"data:\n  {KEY}: |\n\n    \n")})
    assert where(repo) == [(CM, 5)]


ODD = {
    CM: "\n---\n".join(["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\ndata: [a]\n",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\n"
                        "data: {resource.customizations: 'a: [unclosed'}\n",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\n"
                        "data: {resource.customizations: '- list', x: 1}\n",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\n"
                        "data: {resource.customizations: 'argoproj.io/Application: text'}\n",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\n"
                        f"data: {{{KEY}: [a]}}\n"]),
    "apps/manifests/argocd/kustomization.yaml": ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                                                 "patches: [null, text, {patch: 5}, {patch: 'a: [x'}, {patch: '- l'}]\n"
                                                 "patchesStrategicMerge: [null, {a: b}, \"a:\\n b\"]\n"),
    "apps/helm/argocd/Chart.yaml": "dependencies: [null, {name: argo-cd, alias: [x]}, {name: 5}]\n",
    "apps/helm/argocd/values.yaml": "- list\n",
    "apps/helm/argocd-k/kustomization.yaml": ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                                              "helmCharts: [{name: argo-cd, valuesFile: [a], additionalValuesFiles: "
                                              "text, valuesInline: text}, {name: argo-cd, additionalValuesFiles: "
                                              "[5, ../x.yaml, missing.yaml]}]\n"),
    ARGOCD_APP: chart_app("    - {chart: argo-cd, helm: {valuesObject: [a], values: 5, valueFiles: text}}\n"
                          "    - {chart: argo-cd, helm: {values: '- l', valueFiles: ['$values', '$values/nowhere']}}\n"
                          "    - {chart: argo-cd, helm: {valuesObject: {configs: [a]}}}\n"
                          "    - {chart: argo-cd, helm: {valuesObject: {configs: {cm: text}}}}\n"),
}


def test_odd_shapes_never_crash(repo):
    overlay(repo, ODD)
    found = run_check(repo, RULE)
    assert [h.path for h in found] == [CM]  # the key with a list for its script is reported as empty
    assert run_lint(repo).crashed == ()


def test_reference_is_clean():
    assert run_check(REFERENCE, RULE) == []
