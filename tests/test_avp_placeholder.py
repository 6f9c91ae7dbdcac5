"""avp-placeholder beyond the case driver: the placeholder grammar, the layer parameters, and
documents of any shape that must not crash."""

from __future__ import annotations


import pytest

from gitops_kit import catalog
from gitops_kit.checks.avp_placeholder import _candidate, _parse
from helpers import run_check

RULE = "avp-placeholder"

MODIFIERS = set(catalog.load()["avp-placeholder"].params["modifiers"])

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd-system
spec:
  destination: {{namespace: {name}}}
  sources:
    - repoURL: https://git.example.com/gitops.git
      path: apps/helm/{name}
      plugin:
        name: avp-helm
"""
ROOT = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: root-{layer}, namespace: argocd-system}}
spec:
  source: {{repoURL: https://git.example.com/gitops.git, path: argo/{layer}}}
"""


def repo_files(**extra: str) -> dict[str, str]:
    files = {f"argo/root-{layer}.yaml": ROOT.format(layer=layer) for layer in ("bootstrap", "platform", "apps")}
    files["argo/apps/netbox-app.yaml"] = APP.format(name="netbox")
    files["argo/platform/registry-app.yaml"] = APP.format(name="registry")
    files["argo/bootstrap/cert-manager-app.yaml"] = APP.format(name="cert-manager")
    files.update(extra)
    return files


@pytest.mark.parametrize("text", [
    "<path:kv/data/argocd/apps/helm/netbox#k>",
    "<path:kv/data/argocd/apps/helm/netbox#k#12>",
    "<path:kv/data/argocd/apps/helm/netbox#db_password | base64encode>",
    "<path:kv/data/argocd/apps/helm/netbox#cfg | jsonPath {.a} | base64encode>",
    "<path:kv/data/a.b/c-d/e_f#key.with-dots>",
])
def test_well_formed(text):
    candidate, closed = _candidate(text, 0)
    assert _parse(candidate, closed, MODIFIERS)[0] is None


@pytest.mark.parametrize("text,problem", [
    ("<path:kv/data/x/y#k", "not closed"),
    ("<path:kv/data/x/y#k\n>", "not closed"),
    ("<path:kv/data/x/y>", "no #KEY"),
    ("<path: kv/data/x/y#k>", "whitespace"),
    ("<path:kv/data/x/y #k>", "whitespace"),
    ("<path:kv/data/x/y#k#v2>", "not a number"),
    ("<path:kv/data/x/y#a#1#2>", "more than two"),
    ("<path:netbox#k>", "not a Vault path"),
    ("<path:#k>", "KV path is empty"),
    ("<path:kv/data/x/y#>", "#KEY is empty"),
    ("<path:>", "empty"),
    ("<path:kv/data/x/y#k | shout>", "unknown modifier"),
    ("<PATH:kv/data/x/y#k>", "lower-case"),
])
def test_malformed(text, problem):
    candidate, closed = _candidate(text, 0)
    found, _ = _parse(candidate, closed, MODIFIERS)
    assert found is not None and problem in found


def test_apps_and_platform_paths(tmp_path):
    files = repo_files(**{
        "apps/helm/netbox/values.yaml": "a: <path:kv/data/argocd/apps/helm/netbox#k>\n"
                                        "b: <path:kv/data/argocd/platform/netbox#k>\n",
        "apps/helm/registry/values.yaml": "a: <path:kv/data/argocd/platform/registry#k>\n"
                                          "b: <path:kv/data/argocd/apps/helm/registry#k>\n",
        "apps/helm/cert-manager/values.yaml": "a: <path:kv/data/argocd/platform/cert-manager#k>\n"
                                              "b: <path:kv/data/argocd/bootstrap/cert-manager#k>\n",
    })
    hits = run_check(tmp_path, RULE, files)
    assert sorted((h.path, h.pos[0]) for h in hits) == [("apps/helm/cert-manager/values.yaml", 2),
                                                         ("apps/helm/netbox/values.yaml", 2),
                                                         ("apps/helm/registry/values.yaml", 2)]


def test_layer_paths_are_parameters(tmp_path):
    files = repo_files(**{"apps/helm/netbox/values.yaml": "a: <path:secret/teams/netbox#k>\n"})
    assert len(run_check(tmp_path / "a", RULE, files)) == 1
    params = {"layer_paths": {"apps": "secret/teams/{app}", "platform": "platform_path"}}
    assert run_check(tmp_path / "b", RULE, files, **params) == []
    # A layer missing from layer_paths is not path-checked at all.
    assert run_check(tmp_path / "c", RULE, files, layer_paths={"platform": "platform_path"}) == []


def test_user_config_overrides_layer_paths(tmp_path):
    files = repo_files(**{
        "apps/helm/netbox/values.yaml": "a: <path:kv/data/argocd/platform/netbox#k>\n",
        ".gitops-kit.yaml": "rules:\n  avp-placeholder:\n    params:\n      layer_paths: {apps: platform_path}\n",
    })
    assert run_check(tmp_path, RULE, files) == []


def test_sed_expression_is_not_a_placeholder(tmp_path):
    script = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cmp, namespace: argocd-system}\ndata:\n"
              "  run.sh: |\n    sed -E 's/%3Cpath%3A([^%]+)%23([^%]+)%3E/<path:\\1#\\2>/g'\n")
    assert run_check(tmp_path, RULE, repo_files(**{"apps/manifests/argocd/cm.yaml": script})) == []


ODD = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: odd}
spec:
  sources:
    - null
    - text
    - {path: 5, plugin: text}
    - {path: apps/helm/odd, plugin: {name: 5}}
    - {chart: c, helm: {valueFiles: [5, null, "$", "$nope/x.yaml", "$/x", "../../../../etc/x.yaml"]}}
    - {ref: values, repoURL: 7}
    - {chart: c, helm: {valueFiles: ["$values/apps/helm/odd/values.yaml"]}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: [odd]
spec: {source: [1], sources: 5}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
data: [<path:kv/data/x#y>]
---
apiVersion: v1
kind: Secret
metadata: {name: s2}
data: {a: 5, b: null, c: "not base64 <path:", d: {nested: "<path:"}}
---
- "<path:"
- <path:kv/data/argocd/apps/helm/odd#k>
- 5
---
"%3Cpath%3A"
"""


def test_odd_shapes_do_not_crash(tmp_path):
    hits = run_check(tmp_path, RULE, repo_files(**{"argo/apps/odd-app.yaml": ODD, "apps/helm/odd/values.yaml": ODD}))
    assert all(h.path for h in hits)


def test_placeholder_at_line_inside_literal_block(tmp_path):
    values = "netbox:\n  config: |\n    a: 1\n    b: <path:kv/data/argocd/platform/netbox#k>\n"
    hits = run_check(tmp_path, RULE, repo_files(**{"apps/helm/netbox/values.yaml": values}))
    assert [(h.pos[0], h.pos[1]) for h in hits] == [(4, 8)]
