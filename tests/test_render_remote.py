"""Remote kustomize resources (ArgoCD's HA install.yaml) through the remote-resource cache: `charts
pull` downloads what pins a tag or commit through `charts.mirrors`, the renderer, the
kustomize-build rule and check-update use the cached copy offline (../shared/upstream/argo-cd/install
served on 127.0.0.1 as raw.githubusercontent.com serves it)."""

from __future__ import annotations

import json
import shutil

import pytest

from gitops_kit.cli import main
from helpers import reference_copy, run_lint
from served_charts import ARGO_INSTALL, RAW, argo_install_routes, serve_files

pytestmark = pytest.mark.skipif(not ARGO_INSTALL.is_dir(), reason="../shared/upstream/argo-cd/install is absent")

ARGO = "apps/manifests/argocd/kustomization.yaml"
URL = f"{RAW}/argoproj/argo-cd/v2.13.2/manifests/ha/install.yaml"
ROUTE = "/raw/argoproj/argo-cd/v2.13.2/manifests/ha/install.yaml"


@pytest.fixture
def files():
    with serve_files(dict(argo_install_routes())) as server:
        yield server


@pytest.fixture
def repo(files, tmp_path, monkeypatch):
    """The reference with raw.githubusercontent.com mirrored to the file server; an empty cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = reference_copy(tmp_path / "reference")
    cfg = root / ".gitops-kit.yaml"
    cfg.write_text(cfg.read_text() + f'\ncharts:\n  mirrors:\n    "{RAW}": "{files.url}/raw"\n')
    return root


def _render(root, app="argocd"):
    from gitops_kit import config as config_mod
    from gitops_kit.model import build
    from gitops_kit.render import Options, render_apps

    (r,) = render_apps(build(root, config_mod.load(root)), [app], Options(renderer="sdk"))
    return r


def _pull(root, capsys, *apps) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["charts", "pull", *(apps or ("argocd",)), "--root", str(root)])
    return code, capsys.readouterr().out


def test_pull_then_offline_render_of_the_argocd_app(repo, files, capsys):
    r = _render(repo)
    assert r.objects == [] and [p.kind for p in r.problems] == ["cache-miss"]
    assert "is not in the resource cache: run `gitops-kit charts pull argocd`" in r.problems[0].message
    assert r.problems[0].path == ARGO and files.requests == []  # offline: nothing requested
    code, out = _pull(repo, capsys)
    assert code == 0 and f"downloaded  argocd: {URL}" in out, out
    assert files.requests == [ROUTE]
    from gitops_kit.charts import resources

    record = json.loads((resources.entry_dir(URL) / "record.json").read_text())
    assert record["url"] == URL and record["served_url"].startswith(files.url) and len(record["sha256"]) == 64
    # a second pull: cached, no request
    code, out = _pull(repo, capsys)
    assert code == 0 and f"cached      argocd: {URL}" in out and files.requests == [ROUTE]
    r = _render(repo)
    assert r.problems == [] and r.rendered == {0}
    objs = {(o.kind, o.name): o.data for o in r.objects}
    # upstream's objects with the kustomization on top: the namespace transformer, the patches
    server = objs[("Deployment", "argocd-server")]
    assert server["metadata"]["namespace"] == "argocd-system"
    assert server["spec"]["template"]["spec"]["nodeSelector"] == {"example.com/role": "control"}
    repo_server = objs[("Deployment", "argocd-repo-server")]["spec"]["template"]["spec"]
    assert repo_server["automountServiceAccountToken"] is True
    assert "avp-helm" in [c["name"] for c in repo_server["containers"]]
    binding = objs[("ClusterRoleBinding", "argocd-application-controller")]
    assert {s["namespace"] for s in binding["subjects"]} == {"argocd-system"}
    assert objs[("ConfigMap", "argocd-cm")]["metadata"]["namespace"] == "argocd-system"
    assert ("CustomResourceDefinition", "applications.argoproj.io") in objs
    assert files.requests == [ROUTE]  # rendering never downloads


def test_charts_list_shows_the_remote_resource(repo, capsys):
    capsys.readouterr()
    main(["charts", "list", "argocd", "--root", str(repo)])
    assert f"missing   argocd: {URL}" in capsys.readouterr().out
    _pull(repo, capsys)
    main(["charts", "list", "argocd", "--root", str(repo)])
    assert f"cached    argocd: {URL}" in capsys.readouterr().out


def test_a_moved_tag_is_an_error_and_the_cache_keeps_the_first_pull(repo, files, capsys):
    from gitops_kit.charts import resources

    assert _pull(repo, capsys)[0] == 0
    folder = resources.entry_dir(URL)
    first = (folder / "resource").read_bytes()
    # the cached file is damaged: locate() sees it, the render reports it and renders nothing
    (folder / "resource").write_bytes(first + b"# edited\n")
    with pytest.raises(resources.ResourceChanged):
        resources.locate(URL)
    r = _render(repo)
    assert [p.kind for p in r.problems] == ["digest"] and r.objects == []
    # upstream moved the tag: the download is not what was recorded at the first pull
    files.routes[ROUTE] = first.replace(b"quay.io/argoproj/argocd:v2.13.2", b"quay.io/argoproj/argocd:v2.13.3")
    code, out = _pull(repo, capsys)
    assert code == 1 and "failed      argocd:" in out and "changed since its first pull" in out, out
    assert json.loads((folder / "record.json").read_text())["sha256"] == resources.hashlib.sha256(first).hexdigest()
    # the same bytes as the first pull again: restored
    files.routes[ROUTE] = first
    code, out = _pull(repo, capsys)
    assert code == 0 and "downloaded  argocd:" in out
    assert (folder / "resource").read_bytes() == first and _render(repo).problems == []


def test_unpinned_url_is_reported_and_never_pulled(repo, files, capsys):
    kfile = repo / ARGO
    kfile.write_text(kfile.read_text().replace("argo-cd/v2.13.2/manifests", "argo-cd/master/manifests"))
    code, out = _pull(repo, capsys)
    assert code == 1 and "unpinned    argocd: " in out and "names no tag or commit" in out, out
    assert files.requests == []
    r = _render(repo)
    assert [p.kind for p in r.problems] == ["network"] and "names no tag or commit" in r.problems[0].message


@pytest.mark.parametrize(("url", "pinned"), [
    (URL, True),
    (f"{RAW}/argoproj/argo-cd/master/manifests/ha/install.yaml", False),
    (f"{RAW}/argoproj/argo-cd/stable/manifests/install.yaml", False),
    (f"{RAW}/org/repo/{'a1' * 20}/deploy.yaml", True),
    ("https://github.com/org/repo/releases/download/v8.2.0/crds.yaml", True),
    ("https://github.com/org/repo/releases/latest/download/crds.yaml", False),
    (f"{RAW}/org/repo/main/deploy-v1.2.3.yaml", False),  # a version in the file name: the branch moves
])
def test_what_pins_a_remote_resource(url, pinned):
    from gitops_kit.charts.resources import is_pinned

    assert is_pinned(url) is pinned


def test_substitutes_keep_priority_over_the_cache(repo, files, capsys):
    shutil.copyfile(ARGO_INSTALL / "ha-install-v2.13.2.yaml", repo / "vendor-install.yaml")
    cfg = repo / ".gitops-kit.yaml"
    cfg.write_text(cfg.read_text() + f'rules:\n  kustomize-build:\n    params:\n      substitutes:\n'
                                     f'        "{URL}": vendor-install.yaml\n')
    code, out = _pull(repo, capsys)
    assert code == 0 and "install.yaml" not in out and files.requests == []  # nothing to pull
    r = _render(repo)
    assert r.problems == [] and any(o.name == "argocd-server" for o in r.objects)


def test_size_limit(repo, files, capsys, monkeypatch):
    from gitops_kit.charts import resources

    monkeypatch.setattr(resources, "MAX_RESOURCE_BYTES", 1000)
    code, out = _pull(repo, capsys)
    assert code == 1 and "over the 1000-byte limit" in out


def test_kustomize_build_rule_uses_the_cached_copy(repo, capsys):
    cfg = repo / ".gitops-kit.yaml"
    cfg.write_text(cfg.read_text() + "rules:\n  kustomize-build: {enabled: true}\n")
    before = [f for f in run_lint(repo).findings if f.rule == "kustomize-build" and f.path == ARGO]
    assert len(before) == 1 and "not checked" in before[0].message and "charts pull argocd" in before[0].message
    _pull(repo, capsys)
    assert [f.message for f in run_lint(repo).findings if f.rule == "kustomize-build" and f.path == ARGO] == []
    # and a real build error of the kustomization is found through it
    (repo / "apps/manifests/argocd/argocd-cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n  namespace: argocd-system\ndata: {}\n")
    found = [f for f in run_lint(repo).findings if f.rule == "kustomize-build" and f.path == ARGO]
    assert len(found) == 1 and "no resource matches strategic merge patch" in found[0].message


# --- check-update: the ArgoCD self-upgrade shows a real object diff --------------------------------

def test_check_update_argocd_self_upgrade_diff(files, tmp_path, monkeypatch, capsys):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from upgrade_helpers import app_of, check_json, two_commits

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = reference_copy(tmp_path / "gitops")
    cfg = root / ".gitops-kit.yaml"
    cfg.write_text(cfg.read_text() + f'\ncharts:\n  mirrors:\n    "{RAW}": "{files.url}/raw"\n')
    text = (root / ARGO).read_text()
    two_commits(root, {}, {ARGO: text.replace("argo-cd/v2.13.2/", "argo-cd/v2.14.1/")})
    # without the cached files: an incomplete diff naming the command
    code, doc = check_json(root, capsys)
    argocd = app_of(doc, "argocd")
    assert not argocd["rendered"] and any("charts pull" in p for p in argocd["problems"]), argocd["problems"]
    # --fetch pulls both versions through the mirror, then the diff is real
    code, doc = check_json(root, capsys, "--fetch")
    argocd = app_of(doc, "argocd")
    assert argocd["rendered"], argocd["problems"]
    assert any(b["old"] == "v2.13.2" and b["new"] == "v2.14.1" for b in argocd["bumps"]), argocd["bumps"]
    assert sorted(files.requests) == sorted([ROUTE, ROUTE.replace("v2.13.2", "v2.14.1")])
    [server] = [d for d in argocd["diffs"] if d["kind"] == "Deployment" and d["name"] == "argocd-server"]
    image = [f for f in server["fields"] if f["path"] == "spec.template.spec.containers[name=argocd-server].image"]
    assert image == [{**image[0], "old": "quay.io/argoproj/argocd:v2.13.2", "new": "quay.io/argoproj/argocd:v2.14.1"}]
    assert "image-changed" in [r["rule"] for r in argocd["risks"]]
    assert argocd["objects"]["changed"] > 5
