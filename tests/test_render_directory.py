"""Directory sources render as the files the model says they deliver; what gitops-kit cannot
evaluate (jsonnet) is said, never skipped in silence."""

from __future__ import annotations

from gitops_kit import config, model
from gitops_kit.render import render_app
from helpers import reference_copy

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: demo
  namespace: argocd-system
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: demo
  source:
    repoURL: https://gitlab.example.com/platform/gitops.git
    targetRevision: master
    path: apps/manifests/demo
{extra}"""

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: demo\ndata:\n  a: b\n"


def _render(tmp_path, files: dict[str, str], extra: str = ""):
    root = reference_copy(tmp_path / "repo")
    (root / "argo/apps/demo-app.yaml").write_text(APP.format(extra=extra))
    for rel, text in files.items():
        path = root / "apps/manifests/demo" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    built = model.build(root, config.load(root))
    app = next(a for a in built.applications if a.name == "demo")
    return render_app(built, app)


def test_a_plain_directory_renders_completely(tmp_path):
    out = _render(tmp_path, {"cm.yaml": CM})
    assert [(o.kind, o.name) for o in out.objects] == [("ConfigMap", "demo")]
    assert out.problems == [] and out.rendered == {-1}


def test_jsonnet_files_are_not_evaluated_and_say_so(tmp_path):
    out = _render(tmp_path, {"cm.yaml": CM, "extra.jsonnet": "{ kind: 'ConfigMap' }\n"})
    assert [(o.kind, o.name) for o in out.objects] == [("ConfigMap", "demo")]
    assert out.rendered == set()  # not completely: the object rules did not see extra.jsonnet
    [problem] = out.problems
    assert problem.kind == "unsupported"
    assert "does not evaluate jsonnet (apps/manifests/demo/extra.jsonnet)" in problem.message
    assert problem.path == "argo/apps/demo-app.yaml"


def test_jsonnet_options_without_jsonnet_files_say_so_too(tmp_path):
    extra = "    directory:\n      jsonnet:\n        tlas:\n          - name: env\n            value: prod\n"
    out = _render(tmp_path, {"cm.yaml": CM}, extra)
    [problem] = out.problems
    assert "directory.jsonnet" in problem.message
    assert problem.pos[0] == 16  # the directory: key
