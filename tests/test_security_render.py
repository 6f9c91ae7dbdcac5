"""Repository content that reaches rendering is untrusted: chart names and versions never walk out
of the temporary copy or the chart home, remote-resource URLs never show their credentials, a
long URL segment cannot make the pin check quadratic, a chart archive cannot decompress without
bound, and a huge Chart.lock is not read (review of issue 16's renderer)."""

from __future__ import annotations

import gzip
import io
import tarfile
import time
from pathlib import Path

import pytest

from gitops_kit import config as config_mod
from gitops_kit.model import build
from gitops_kit.render import Options, render_app
from helpers import overlay, reference_copy

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: demo, namespace: argocd-system}}
spec:
  project: default
  destination: {{server: https://kubernetes.default.svc, namespace: demo}}
  source: {{repoURL: https://gitlab.example.com/platform/gitops.git, targetRevision: master, path: {path}}}
"""


def _render(root: Path, path: str):
    overlay(root, {"argo/apps/demo-app.yaml": APP.format(path=path)})
    model = build(root, config_mod.load(root))
    app = next(a for a in model.applications if a.name == "demo")
    return render_app(model, app, Options(renderer="sdk"))


@pytest.mark.parametrize("dep", ["/tmp/gitops-kit-escape-abs", "../../../../../../tmp/gitops-kit-escape-rel"])
def test_an_umbrella_dependency_name_never_leaves_the_copy(tmp_path, dep):
    pytest.importorskip("helm_python")
    root = reference_copy(tmp_path / "repo")
    overlay(root, {
        "apps/helm/demo/Chart.yaml": (f"apiVersion: v2\nname: demo\nversion: 0.1.0\ndependencies:\n"
                                      f"  - name: {dep}\n    version: 0.1.0\n    repository: file://../sub\n"),
        "apps/helm/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        "apps/helm/sub/payload.sh": "echo pwned\n"})
    out = _render(root, "apps/helm/demo")
    assert [p.kind for p in out.problems] == ["dependency"] and "not a plain chart name" in out.problems[0].message
    assert not Path(dep if dep.startswith("/") else "/tmp/gitops-kit-escape-rel").exists()


def test_a_helmcharts_version_never_walks_out_of_the_chart_home(tmp_path):
    outside = tmp_path / "outside-chart"
    overlay(outside, {"Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
                      "templates/leak.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\n"})
    root = reference_copy(tmp_path / "repo")
    up = "../" * (len(root.parts) + 2)
    overlay(root, {
        "apps/manifests/demo/kustomization.yaml": (
            "helmCharts:\n  - name: c\n    repo: https://charts.example.com\n"
            f"    version: 'x/{up}{str(outside).lstrip('/')}/..'\n    releaseName: c\n"),
        "apps/manifests/demo/charts/c-x/.keep": ""})
    out = _render(root, "apps/manifests/demo")
    assert not any(o.name == "leak" for o in out.objects)
    assert any("not a plain name" in p.message for p in out.problems), [p.message for p in out.problems]


def test_a_long_url_segment_is_not_a_quadratic_pin_check():
    from gitops_kit.charts.resources import is_pinned

    start = time.monotonic()
    assert not is_pinned("https://example.com/" + "a-1.1-" * 20000 + "!/install.yaml")
    assert time.monotonic() - start < 0.5  # 128K characters took 22 s before the bound
    assert is_pinned("https://raw.githubusercontent.com/argoproj/argo-cd/v2.13.2/manifests/ha/install.yaml")


def test_remote_resource_credentials_never_reach_a_message(tmp_path):
    from gitops_kit.render import kustomize

    root = reference_copy(tmp_path / "repo")
    url = "https://deploy:glpat-SUPERSECRETTOKEN123@gitlab.example.com/x/-/raw/v1.0.0/install.yaml"
    overlay(root, {"apps/manifests/demo/kustomization.yaml": f"resources:\n  - {url}\n"})
    out = _render(root, "apps/manifests/demo")
    text = " ".join(p.message for p in out.problems)
    assert "glpat-SUPERSECRETTOKEN123" not in text and "deploy:" not in text
    assert "gitlab.example.com" in text  # the resource is still named
    assert kustomize  # the module that rewrites remote resources to cached copies


def test_crd_files_stop_at_a_decompression_budget(tmp_path):
    from gitops_kit.upgrade import risks

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        body = b"\0" * (risks._MAX_MEMBER - 1)
        for i in range(20):  # 20 x 8 MB of zeros: about 160 MB uncompressed in a small archive
            info = tarfile.TarInfo(f"c/crds/crd-{i}.yaml")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    archive = tmp_path / "c.tgz"
    archive.write_bytes(buf.getvalue())
    found = risks.crd_files(archive)
    assert 0 < sum(len(v) for v in found.values()) <= risks._MAX_READ


def test_a_huge_chart_lock_is_not_read(tmp_path):
    from gitops_kit.render.helm import _dependencies

    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: u\nversion: 0.1.0\n")
    with open(tmp_path / "Chart.lock", "w") as fh:
        fh.write("dependencies:\n" + "  - {name: a, version: 1.0.0, repository: https://x}\n" * 60000)
    assert (tmp_path / "Chart.lock").stat().st_size > 1024 * 1024
    assert _dependencies(tmp_path) == ([], False)
    assert gzip  # (archives above are built with tarfile's gzip)
