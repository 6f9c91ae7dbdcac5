"""`gitops-kit charts pull|list` on a copy of the reference example whose chart repositories are
mirrored to the served upstream charts; chart_refs; no network outside `charts pull`."""

from __future__ import annotations

import os
import socket

import pytest
from helpers import REFERENCE, overlay, reference_copy

from gitops_kit import config as config_mod
from gitops_kit.charts import CacheMiss, ChartRef, chart_refs, locate
from gitops_kit.cli import main
from gitops_kit.model import build

# upstream repositories of the reference example that ../shared does not serve: mirrored to a
# folder the test server does not have (404), so the test never reaches the real network
NOT_SERVED = ["https://charts.jetstack.io", "https://ansible.github.io/awx-operator/", "https://charts.gitlab.io"]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def mirrored_repo(tmp_path, chart_server):
    root = reference_copy(tmp_path / "repo")
    mirrors = dict(chart_server.mirrors)
    for i, url in enumerate(NOT_SERVED):
        mirrors[url] = f"{chart_server.url}/not-served/{i}"
    # remote kustomize resources (ArgoCD's install.yaml...): a 404 on 127.0.0.1, never the internet
    mirrors["https://raw.githubusercontent.com"] = f"{chart_server.url}/not-served/raw"
    config = root / ".gitops-kit.yaml"
    config.write_text(config.read_text() + "charts:\n  mirrors:\n"
                      + "".join(f"    {url!r}: {served!r}\n" for url, served in mirrors.items()))
    return root


def _lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_pull_all_reports_each_chart(mirrored_repo, chart_server, capsys):
    assert main(["charts", "pull", "--all", "--root", str(mirrored_repo)]) == 1
    lines = _lines(capsys)
    status = {line.split()[1].rstrip(":"): line.split()[0] for line in lines[:-1]}
    assert status["cert-manager"] == "failed"
    assert status["awx"] == "failed" and status["ci-runner"] == "failed"
    failed = next(line for line in lines if " cert-manager: " in line)
    assert "cert-manager v1.16.2 from https://charts.jetstack.io" in failed and "HTTP 404" in failed
    # served: downloaded once; vault-transit shares vault-ha's chart, so it finds it cached
    assert status["vault-ha"] == "downloaded" and status["vault-transit"] == "cached"
    assert status["registry"] == "downloaded"  # harbor, a dependency of the umbrella chart
    assert status["traefik"] == "downloaded"
    assert status["asset-mgmt"] == "downloaded"  # snipeit, a kustomize helmCharts entry
    assert lines[-1] == ("21 charts: 17 downloaded, 1 cached, 3 failed; "
                         "6 remote resources: 0 downloaded, 0 cached, 6 failed or unpinned")
    argocd = next(line for line in lines if " argocd: " in line)
    assert argocd.startswith("failed ") and "install.yaml: HTTP 404 from http://127.0.0.1:" in argocd

    before = len(chart_server.requests)
    assert main(["charts", "pull", "vault-ha", "traefik", "--root", str(mirrored_repo)]) == 0
    assert _lines(capsys) == [
        "cached      vault-ha: vault 0.29.1 from https://helm.releases.hashicorp.com",
        "cached      traefik: traefik 39.0.1 from https://traefik.github.io/charts",
        "2 charts: 0 downloaded, 2 cached, 0 failed",
    ]
    assert len(chart_server.requests) == before  # cached: nothing requested

    assert main(["charts", "list", "cert-manager", "vault-ha", "--root", str(mirrored_repo)]) == 0
    assert _lines(capsys) == [
        "missing   cert-manager: cert-manager v1.16.2 from https://charts.jetstack.io",
        "cached    vault-ha: vault 0.29.1 from https://helm.releases.hashicorp.com",
    ]


def test_usage_errors(mirrored_repo, capsys):
    assert main(["charts", "pull", "--root", str(mirrored_repo)]) == 2
    assert main(["charts", "pull", "no-such-app", "--root", str(mirrored_repo)]) == 2
    assert main(["charts", "pull", "--all", "vault-ha", "--root", str(mirrored_repo)]) == 2
    assert "no-such-app" in capsys.readouterr().err


def test_no_network_outside_charts_pull(mirrored_repo, chart_server, monkeypatch, capsys):
    assert main(["charts", "pull", "vault-ha", "--root", str(mirrored_repo)]) == 0
    capsys.readouterr()
    model = build(mirrored_repo, config_mod.load(mirrored_repo))
    vault_ref = chart_refs(model, model.apps_by_name["vault-ha"][0])[0][1]
    cached = locate(vault_ref)

    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    assert main(["lint", str(mirrored_repo)]) in (0, 1)
    assert main(["lint", "--no-cache", os.fspath(mirrored_repo)]) in (0, 1)
    assert main(["lint", "--no-cache", os.fspath(REFERENCE)]) == 0  # the example itself lints clean
    capsys.readouterr()
    assert locate(vault_ref) == cached
    with pytest.raises(CacheMiss):
        locate(ChartRef("https://charts.jetstack.io", "cert-manager", "v1.16.2"))
    assert main(["charts", "list", "--root", str(mirrored_repo)]) == 0
    assert main(["charts", "pull", "vault-ha", "vault-transit", "--root", str(mirrored_repo)]) == 0
    capsys.readouterr()
    assert attempts == []
    # only a pull of what is not cached tries the network (and says why it failed)
    assert main(["charts", "pull", "cert-manager", "--root", str(mirrored_repo)]) == 1
    assert "network disabled by the test" in capsys.readouterr().out
    assert len(attempts) == 1


def _refs(root, app: str) -> list[tuple[int | None, ChartRef]]:
    model = build(root, config_mod.load(root))
    return [(src.index if src is not None else None, ref) for src, ref in chart_refs(model, model.apps_by_name[app][0])]


def test_chart_refs_of_sources_and_umbrella_dependencies(tmp_path):
    root = reference_copy(tmp_path / "repo")
    assert _refs(root, "vault-ha") == [(0, ChartRef("https://helm.releases.hashicorp.com", "vault", "0.29.1"))]
    assert _refs(root, "registry") == [(None, ChartRef("https://helm.goharbor.io", "harbor", "1.18.2"))]
    assert _refs(root, "cluster-config") == []  # a plain directory source
    overlay(root, {
        # Chart.lock wins over Chart.yaml; file:// and alias repositories are local or unknowable
        "apps/helm/registry/Chart.yaml": (
            "apiVersion: v2\nname: registry\nversion: 0.1.0\ndependencies:\n"
            "  - {name: harbor, version: '~1.18.0', repository: https://helm.goharbor.io}\n"
            "  - {name: common, version: 1.0.0, repository: 'file://../common'}\n"
            "  - {name: redis, version: 1.0.0, repository: '@bitnami'}\n"
            "  - {name: valkey, version: 2.2.0, repository: 'oci://registry-1.docker.io/bitnamicharts'}\n"),
        "apps/helm/registry/Chart.lock": (
            "dependencies:\n- name: harbor\n  repository: https://helm.goharbor.io\n  version: 1.18.4\n"
            "- name: common\n  repository: file://../common\n  version: 1.0.0\n"
            "digest: sha256:0000\ngenerated: '2026-01-01T00:00:00Z'\n"),
    })
    assert _refs(root, "registry") == [(None, ChartRef("https://helm.goharbor.io", "harbor", "1.18.4"))]
    overlay(root, {"apps/helm/registry/Chart.lock": None})
    # without a lock: exact versions only (a range is resolved by `helm dependency update`)
    assert _refs(root, "registry") == [
        (None, ChartRef("oci://registry-1.docker.io/bitnamicharts", "valkey", "2.2.0"))]
    overlay(root, {"apps/helm/registry/Chart.lock": "dependencies: [unclosed\n"})
    assert _refs(root, "registry") == [
        (None, ChartRef("oci://registry-1.docker.io/bitnamicharts", "valkey", "2.2.0"))]


def test_scheme_less_oci_repo_url_is_oci(tmp_path):
    root = reference_copy(tmp_path / "repo")
    app = root / "argo" / "platform" / "valkey-app.yaml"
    app.write_text(app.read_text().replace("repoURL: https://charts.bitnami.com/bitnami",
                                           "repoURL: registry-1.docker.io/bitnamicharts"))
    assert _refs(root, "valkey") == [(0, ChartRef("oci://registry-1.docker.io/bitnamicharts", "valkey", "2.2.0"))]


def test_kustomize_helm_charts_of_the_built_kustomizations(tmp_path):
    root = reference_copy(tmp_path / "repo")
    overlay(root, {
        "apps/manifests/cluster-config/kustomization.yaml": (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - base\n"
            "helmCharts:\n"
            "  - {name: reflector, repo: https://emberstack.github.io/helm-charts, version: 9.0.322}\n"
            "  - {name: latest, repo: https://charts.example.com}\n"  # no version: not pinned, skipped
            "  - {name: local}\n"),  # no repo: from chartHome
        "apps/manifests/cluster-config/base/kustomization.yaml": (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "helmCharts:\n  - {name: metallb, repo: oci://registry.example.com/charts, version: 0.14.9}\n"),
    })
    assert _refs(root, "cluster-config") == [
        (None, ChartRef("https://emberstack.github.io/helm-charts", "reflector", "9.0.322")),
        (None, ChartRef("oci://registry.example.com/charts", "metallb", "0.14.9")),
    ]
