"""namespace-suffix beyond the rule cases: the public helpers and near misses."""

from __future__ import annotations

import pytest

from gitops_kit import config
from gitops_kit.checks._apps import is_dns1123_label, namespace_problem
from helpers import reference_model, run_check

LAYERS = {item["name"]: config._layer(item) for item in config._defaults()["layers"]}


@pytest.mark.parametrize("name", ["a", "netbox", "ci-runner", "2048", "a-b-c", "x" * 63, "kube-system"])
def test_dns1123_labels(name):
    assert is_dns1123_label(name)


@pytest.mark.parametrize("name", ["", "A", "NetBox", "a_b", "a.b", "-a", "a-", "x" * 64, " a", "é", None, 5])
def test_not_dns1123_labels(name):
    assert not is_dns1123_label(name)


@pytest.mark.parametrize("layer,namespace", [
    ("bootstrap", "traefik-system"), ("bootstrap", "cnpg-core"), ("bootstrap", "kube-system"),
    ("bootstrap", "argocd-system"), ("platform", "vault-core"), ("apps", "netbox"),
    ("apps", "core-banking"), ("apps", "systemd-exporter"), ("apps", "file-systems"), ("apps", "hardcore"),
])
def test_namespace_fine(layer, namespace):
    assert namespace_problem(namespace, LAYERS[layer]) is None


@pytest.mark.parametrize("layer,namespace,needle", [
    ("bootstrap", "traefik", "must end in '-system' or '-core'"),
    ("platform", "vault", "must end in '-core'"),
    ("platform", "kube-system", "must end in '-core'"),  # the allow list is the bootstrap layer's
    ("apps", "netbox-core", "must not use"),
    ("apps", "argocd-system", "must not use"),
    ("apps", "Netbox", "DNS-1123"),
    ("apps", "x" * 64, "63"),
    ("apps", 5, "not a string"),
])
def test_namespace_problem(layer, namespace, needle):
    problem = namespace_problem(namespace, LAYERS[layer])
    assert problem and needle in problem


def test_roots_and_missing_namespaces_are_exempt(tmp_path):
    root = reference_model(tmp_path / "ref", {}).files["argo/root-apps.yaml"].text.replace(
        "    namespace: argocd-system", "    namespace: Not_A_Label")
    child = reference_model(tmp_path / "ref2", {}).files["argo/apps/netbox-app.yaml"].text.replace(
        "    namespace: netbox\n", "    namespace:\n")
    model = reference_model(tmp_path, {"argo/root-apps.yaml": root, "argo/apps/netbox-app.yaml": child})
    assert run_check(model, "namespace-suffix") == []
