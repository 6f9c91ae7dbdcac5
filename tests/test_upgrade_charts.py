"""check-update's render diff on real two-commit repositories with the served upstream charts
(vault 0.33.0 -> 0.34.1, traefik 41.2.0 -> 41.3.0, harbor 1.18.4 -> 1.19.1 as an umbrella
dependency): the real template changes show, the noise is ignored and said so (issue 18)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpers import reference_copy
from render_helpers import point_at_server
import upgrade_helpers
from upgrade_helpers import app_of, check_json, rules, two_commits

module_cache = upgrade_helpers.module_cache  # the module's chart cache (a fixture)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

VAULT = "argo/platform/vault-ha-app.yaml"
TRAEFIK = "argo/bootstrap/traefik-app.yaml"
REGISTRY = "apps/helm/registry/Chart.yaml"
PULLED = [("https://helm.releases.hashicorp.com", "vault", v) for v in ("0.33.0", "0.34.1")] + \
    [("https://traefik.github.io/charts", "traefik", v) for v in ("41.2.0", "41.3.0")] + \
    [("https://helm.goharbor.io", "harbor", v) for v in ("1.18.4", "1.19.1")]


@pytest.fixture(scope="module")
def charts(chart_server, module_cache):
    """The six chart versions, pulled once into the module's cache through the served mirrors."""
    from gitops_kit import config as config_mod
    from gitops_kit.charts import ChartRef
    from gitops_kit.charts.fetch import Session

    session = Session(dict(chart_server.mirrors))
    for url, chart, version in PULLED:
        session.pull(ChartRef(url, chart, version))
    assert config_mod  # the config module is what check-update reads the mirrors from
    return chart_server


def _set(root: Path, rel: str, pattern: str, value: str) -> str:
    text = (root / rel).read_text()
    new = re.sub(pattern, value, text, count=1)
    assert new != text, (rel, pattern)
    return new


def repo(tmp_path: Path, mirrors: dict[str, str], before: dict, after: dict) -> Path:
    root = reference_copy(tmp_path / "gitops")
    point_at_server(root, mirrors)
    before = {rel: _set(root, rel, pat, val) for rel, (pat, val) in before.items()}
    for rel, text in before.items():
        (root / rel).write_text(text)
    after = {rel: re.sub(pat, val, before.get(rel, (root / rel).read_text()), count=1)
             for rel, (pat, val) in after.items()}
    return two_commits(root, {}, after)


def test_vault_bump_shows_the_image_change_and_ignores_chart_labels(tmp_path, charts, capsys):
    root = repo(tmp_path, charts.mirrors, {}, {VAULT: (r"targetRevision: 0\.33\.0", "targetRevision: 0.34.1")})
    code, doc = check_json(root, capsys)
    assert code == 0, doc["apps"]
    assert [a["app"] for a in doc["apps"]] == ["vault-ha"]  # vault-transit (same chart, 0.33.0) is not affected
    vault = app_of(doc, "vault-ha")
    assert vault["rendered"] and vault["verdict"] == "ok"
    assert vault["bumps"][0]["old"] == "0.33.0" and vault["bumps"][0]["new"] == "0.34.1"
    [sts] = [d for d in vault["diffs"] if d["kind"] == "StatefulSet"]
    image = [f for f in sts["fields"] if f["path"] == "spec.template.spec.containers[name=vault].image"]
    assert image and image[0]["old"] == "hashicorp/vault:2.0.2" and image[0]["new"] == "hashicorp/vault:2.0.4"
    assert any(i.startswith("label helm.sh/chart") for i in vault["ignored"])
    assert not any("helm.sh/chart" in f["path"] for d in vault["diffs"] for f in d["fields"])
    assert "image-changed" in rules(vault)


def test_traefik_bump_shows_template_changes(tmp_path, charts, capsys):
    # traefik 41's values.schema.json has no `logs` (the reference's values are for 39.x)
    logs = (r"logs:\n  general:\n    level: INFO\n  access:\n    enabled: true\n", "")
    root = repo(tmp_path, charts.mirrors, {TRAEFIK: (r"targetRevision: 39\.0\.1", "targetRevision: 41.2.0"),
                                           "apps/helm/traefik/values.yaml": logs},
                {TRAEFIK: (r"targetRevision: 41\.2\.0", "targetRevision: 41.3.0")})
    code, doc = check_json(root, capsys)
    traefik = app_of(doc, "traefik")
    assert traefik["rendered"], traefik["problems"]
    changed = {(d["kind"], d["name"]) for d in traefik["diffs"]}
    assert ("DaemonSet", "traefik") in changed, changed
    [deploy] = [d for d in traefik["diffs"] if (d["kind"], d["name"]) == ("DaemonSet", "traefik")]
    assert any(f["path"].endswith(".image") and "traefik" in str(f["new"]) for f in deploy["fields"]), deploy
    assert [a["app"] for a in doc["apps"]] == ["traefik"]
    assert code == (1 if any(r["severity"] == "error" for r in traefik["risks"]) else 0)


def test_harbor_umbrella_dependency_bump(tmp_path, charts, capsys):
    dep = r"version: 1\.18\.\d"
    root = repo(tmp_path, charts.mirrors, {REGISTRY: (dep, "version: 1.18.4")},
                {REGISTRY: (r"version: 1\.18\.4", "version: 1.19.1")})
    code, doc = check_json(root, capsys)
    [change] = [c for c in doc["changes"] if c["kind"] == "dependency"]
    assert (change["name"], change["old"], change["new"], change["app"]) == ("harbor", "1.18.4", "1.19.1", "registry")
    registry = app_of(doc, "registry")
    assert registry["rendered"], registry["problems"]
    assert "delivered file apps/helm/registry/Chart.yaml changed" in registry["why"]
    images = [r for r in registry["risks"] if r["rule"] == "image-changed"]
    assert any("goharbor/harbor-core" in r["message"] and "v2.14" in r["message"] for r in images), images
    assert registry["objects"]["changed"] >= 5
    # the secrets harbor generates at random (randAlphaNum) are not reported as changes
    for d in registry["diffs"]:
        if d["kind"] == "Secret":
            assert all(f["new"] in (None, "***", "*** (changed)") for f in d["fields"]), d


def test_an_image_only_bump_in_values_is_rendered(tmp_path, charts, capsys):
    values = "apps/helm/vault-ha/values.yaml"
    root = repo(tmp_path, charts.mirrors, {values: (r"server:\n", "server:\n  image: {repository: hashicorp/vault, tag: 2.0.2}\n")},
                {values: (r"tag: 2\.0\.2", "tag: 2.0.3")})
    code, doc = check_json(root, capsys)
    [change] = doc["changes"]
    assert change["kind"] == "image" and change["bump"] == "patch"
    vault = app_of(doc, "vault-ha")
    assert vault["why"] == ["values file apps/helm/vault-ha/values.yaml changed"]
    assert [r["message"] for r in vault["risks"] if r["rule"] == "image-changed"] == [
        "container vault: hashicorp/vault:2.0.2 -> hashicorp/vault:2.0.3"]
    assert code == 0


def test_a_missing_chart_names_the_pull_command(tmp_path, charts, capsys):
    root = repo(tmp_path, charts.mirrors, {VAULT: (r"targetRevision: 0\.33\.0", "targetRevision: 0.29.1")},
                {VAULT: (r"targetRevision: 0\.29\.1", "targetRevision: 0.33.0")})
    code, doc = check_json(root, capsys)
    vault = app_of(doc, "vault-ha")
    assert not vault["rendered"] and vault["verdict"] == "check"
    [risk] = [r for r in vault["risks"] if r["rule"] == "render"]
    assert "gitops-kit charts pull" in risk["message"] and "--fetch" in risk["message"]
    assert "0.29.1" in risk["message"]
    # --fetch pulls the base version too (through the mirrors), then both sides render
    code, doc = check_json(root, capsys, "--fetch")
    vault = app_of(doc, "vault-ha")
    assert vault["rendered"], vault["problems"]
    assert any("/hashicorp/vault-0.29.1.tgz" in r for r in charts.requests)


def test_an_argocd_self_upgrade_end_to_end(tmp_path, capsys, chart_server):
    """install.yaml version and the image in the inline patch: both bumps, the argocd app affected,
    its remote base said not to be rendered (not in the resource cache; tests/test_render_remote.py
    pulls both versions and shows the diff), no chart needed."""
    rel = "apps/manifests/argocd/kustomization.yaml"
    root = repo(tmp_path, chart_server.mirrors, {}, {rel: (r"v2\.13\.2(/manifests)", r"v2.14.1\1")})
    text = (root / rel).read_text().replace("quay.io/argoproj/argocd:v2.13.2", "quay.io/argoproj/argocd:v2.14.1")
    (root / rel).write_text(text)  # the head in the working tree, on top of the commit
    from gitops_kit.cli import main
    import json

    main(["check-update", str(root), "--base", "HEAD~1", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    kinds = {(c["kind"], c["old"], c["new"], c["app"]) for c in doc["changes"]}
    assert ("remote-resource", "v2.13.2", "v2.14.1", "argocd") in kinds
    assert ("image", "v2.13.2", "v2.14.1", "argocd") in kinds
    argocd = app_of(doc, "argocd")
    assert f"delivered file {rel} changed" in argocd["why"]
    assert not argocd["rendered"] and "render" in rules(argocd)  # install.yaml: not in the resource cache
    assert [a["app"] for a in doc["apps"]] == ["argocd"]
