"""The render backends with explicit inputs: the Helm SDK (Capabilities, hooks, NOTES.txt, lookup,
random values, argocd-vault-plugin placeholders), kustomize with ArgoCD's overrides, the helm
binary's output (compared with the SDK's when both exist), and ArgoCD's sync order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_kit import config as config_mod
from gitops_kit.model import build
from gitops_kit.render import Options, ordered, render_app
from gitops_kit.render.helm import split_helm_output
from gitops_kit.render.kustomize import apply_overrides
from helpers import overlay, reference_copy, run_lint

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd-system
  annotations:
    argocd.argoproj.io/sync-wave: "0"
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: {name}
  sources:
    - repoURL: https://gitlab.example.com/platform/gitops.git
      targetRevision: master
      path: {path}
{extra}"""

CHART = {
    "apps/helm/demo/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\nkubeVersion: \">=1.20.0-0\"\n",
    "apps/helm/demo/values.yaml": "replicas: 2\ndbPassword: \"\"\n",
    "apps/helm/demo/templates/NOTES.txt": "Thanks for installing {{ .Release.Name }}\n",
    "apps/helm/demo/templates/caps.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-caps\ndata:\n"
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
        "  monitoring: {{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" | quote }}\n"
        "  lookup: {{ lookup \"v1\" \"Secret\" .Release.Namespace \"x\" | toJson | quote }}\n"),
    "apps/helm/demo/templates/hooks.yaml": (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations:\n"
        "    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-5\"\nspec:\n  template:\n"
        "    spec:\n      restartPolicy: Never\n      containers: [{name: m, image: busybox:1.36}]\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations:\n"
        "    helm.sh/hook: test\nspec:\n  containers: [{name: t, image: busybox:1.36}]\n"),
    "apps/helm/demo/templates/secrets.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-random\ntype: Opaque\ndata:\n"
        "  password: {{ randAlphaNum 24 | b64enc | quote }}\n"
        "{{- if .Values.dbPassword }}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n"
        "  name: {{ .Release.Name }}-db\ntype: Opaque\nstringData:\n  password: {{ .Values.dbPassword | quote }}\n"
        "{{- end }}\n"),
    "apps/helm/demo/templates/sa.yaml": ("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
                                         "  name: {{ .Release.Name }}\n"),
}


def _model(root: Path):
    return build(root, config_mod.load(root))


def _app(model, name):
    return next(a for a in model.child_apps() if a.name == name)


@pytest.fixture
def demo(tmp_path):
    pytest.importorskip("helm_python")
    root = reference_copy(tmp_path / "repo")
    overlay(root, {**CHART, "argo/apps/demo-app.yaml": APP.format(name="demo", path="apps/helm/demo", extra="")})
    return root


def test_sdk_capabilities_lookup_notes_and_hooks(demo):
    model = _model(demo)
    r = render_app(model, _app(model, "demo"), Options(renderer="sdk"))
    assert r.problems == []
    objs = ordered(r.objects)
    names = [(o.kind, o.name) for o in objs]
    # the pre-install Job is a PreSync hook (first); the test hook is never applied; NOTES.txt is no object
    assert names[0] == ("Job", "demo-migrate")
    assert ("Pod", "demo-test") not in names and all(o.template != "demo/templates/NOTES.txt" for o in r.objects)
    caps = next(o for o in objs if o.name == "demo-caps").data["data"]
    # The SDK cannot set Capabilities: its built-in Kubernetes version, not config's
    # kubernetes_version, and no API versions of the repository's CRDs; lookup is empty offline.
    assert caps["kube"] == "v1.36.0" and model.config.data["kubernetes_version"] != "1.36"
    assert caps["monitoring"] == "false"
    assert caps["lookup"] == "{}"
    assert {o.template for o in objs} >= {"demo/templates/caps.yaml", "demo/templates/hooks.yaml"}


def test_random_chart_secret_is_not_the_repositorys_but_a_values_secret_is(demo):
    values = "replicas: 2\ndbPassword: \"s3cr3t-Pa55word-in-git\"  # expect: plaintext-secret\n"
    overlay(demo, {"apps/helm/demo/values.yaml": values})
    report = run_lint(demo, render=True, select=["plaintext-secret"])
    found = [f for f in report.findings if f.rule == "plaintext-secret" and f.app == "demo"]
    assert [(f.path, f.line) for f in found] == [("apps/helm/demo/values.yaml", 2)], [f.message for f in found]
    assert "demo/templates/secrets.yaml" in found[0].message  # the rendered finding, reported once


def test_avp_placeholder_renders_as_is_and_is_no_plaintext_secret(demo):
    overlay(demo, {"apps/helm/demo/values.yaml": "replicas: 2\ndbPassword: <path:kv/data/demo#password>\n",
                   "argo/apps/demo-app.yaml": APP.format(name="demo", path="apps/helm/demo",
                                                         extra="      plugin:\n        name: avp-helm\n")})
    model = _model(demo)
    r = render_app(model, _app(model, "demo"))
    db = next(o for o in r.objects if o.name == "demo-db")
    assert db.data["stringData"]["password"] == "<path:kv/data/demo#password>"
    report = run_lint(demo, render=True, select=["plaintext-secret"])
    assert [f for f in report.findings if f.app == "demo"] == []


def test_kustomize_overrides_applied_as_argocd_does(tmp_path):
    if not (shutil.which("kustomize") or shutil.which("kubectl")):
        pytest.skip("neither kustomize nor kubectl on PATH")
    root = reference_copy(tmp_path / "repo")
    extra = ("      kustomize:\n        namePrefix: pre-\n        nameSuffix: -suf\n        namespace: moved\n"
             "        images: [\"nginx=registry.example.com/nginx:1.27.1\"]\n"
             "        commonLabels: {team: platform}\n        commonAnnotations: {owner: ops}\n"
             "        replicas: [{name: web, count: 4}]\n"
             "        patches:\n          - target: {kind: Deployment, name: web}\n"
             "            patch: |-\n              - op: add\n"
             "                path: /spec/template/spec/priorityClassName\n"
             "                value: high\n")
    overlay(root, {
        "apps/manifests/kdemo/kustomization.yaml": "resources: [deploy.yaml]\ncommonLabels: {app: web}\n",
        "apps/manifests/kdemo/deploy.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n"
            "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
            "    spec:\n      containers: [{name: web, image: nginx:1.25}]\n"),
        "argo/apps/kdemo-app.yaml": APP.format(name="kdemo", path="apps/manifests/kdemo", extra=extra)})
    model = _model(root)
    r = render_app(model, _app(model, "kdemo"))
    assert r.problems == [] and len(r.objects) == 1
    d = r.objects[0].data
    assert d["metadata"]["name"] == "pre-web-suf" and d["metadata"]["namespace"] == "moved"
    assert d["metadata"]["labels"] == {"app": "web", "team": "platform"}
    assert d["metadata"]["annotations"] == {"owner": "ops"}
    assert d["spec"]["replicas"] == 4
    pod = d["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "registry.example.com/nginx:1.27.1"
    assert pod["priorityClassName"] == "high"
    # the repository's kustomization is untouched (the overrides went to a temporary copy)
    assert (root / "apps/manifests/kdemo/kustomization.yaml").read_text().startswith("resources: [deploy.yaml]")


def test_kustomize_remote_base_is_a_problem_never_fetched(tmp_path):
    root = reference_copy(tmp_path / "repo")
    model = _model(root)
    r = render_app(model, _app(model, "argocd"))
    # not in the remote-resource cache (only `charts pull` fills it): a cache miss naming the command
    assert [p.kind for p in r.problems] == ["cache-miss"] and r.objects == []
    assert "is not in the resource cache: run `gitops-kit charts pull argocd`" in r.problems[0].message


def test_apply_overrides_image_forms():
    out = apply_overrides({"images": [{"name": "a", "newTag": "1"}]},
                          {"images": ["a:2", "b=reg.example.com/b@sha256:" + "0" * 64, "c=c2"]})
    assert out["images"] == [{"name": "a", "newTag": "2"},
                             {"name": "b", "newName": "reg.example.com/b", "digest": "sha256:" + "0" * 64},
                             {"name": "c", "newName": "c2"}]


def test_split_helm_output():
    text = ("---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
            "---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n")
    assert [t for t, _ in split_helm_output(text)] == ["c/templates/a.yaml", "c/templates/b.yaml"]


@pytest.mark.skipif(shutil.which("helm") is None, reason="no helm binary on PATH")
def test_helm_binary_and_sdk_render_the_same_objects(demo):
    pytest.importorskip("helm_python")
    model = _model(demo)
    app = _app(model, "demo")
    sdk = render_app(model, app, Options(renderer="sdk"))
    binary = render_app(model, app, Options(renderer="helm"))
    assert sdk.problems == binary.problems == []

    def stable(r):  # random values and the Kubernetes version differ by construction
        return sorted((o.template, o.kind, o.name) for o in ordered(r.objects))

    assert stable(sdk) == stable(binary)


def test_a_template_that_never_ends_is_abandoned_after_the_timeout(demo):
    # about 3 s of template work (small lists): the abandoned render ends soon after the test
    overlay(demo, {"apps/helm/demo/templates/loop.yaml":
                   "{{- range $i := until 6000 }}{{- range $j := until 6000 }}{{- end }}{{- end }}\n"})
    model = _model(demo)
    import time

    start = time.monotonic()
    r = render_app(model, _app(model, "demo"), Options(renderer="sdk", timeout=0.5))
    assert time.monotonic() - start < 2.5
    assert [p.kind for p in r.problems] == ["render"] and "did not finish within 0.5 s" in r.problems[0].message


FAKE_HELM = """#!{python}
import json, os, sys
values = open(sys.argv[sys.argv.index("--values") + 1]).read()
with open({record!r}, "w") as fh:
    json.dump({{"argv": sys.argv[1:], "env": sorted(os.environ), "values": json.loads(values)}}, fh)
print("---\\n# Source: demo/templates/sa.yaml\\napiVersion: v1\\nkind: ServiceAccount\\nmetadata:\\n  name: demo")
"""


def test_helm_binary_gets_argocds_inputs_and_no_credentials(demo, tmp_path, monkeypatch):
    """The helm binary backend: a list argv with ArgoCD's flags (release, namespace, values,
    --kube-version from config, --api-versions of the repository's CRDs, --include-crds), a
    temporary HOME, and none of the caller's credentials. A stand-in helm records what it got."""
    import json
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "helm-call.json"
    fake = bin_dir / "helm"
    fake.write_text(FAKE_HELM.format(python=sys.executable, record=str(record)))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-pass")
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", "/home/user/.config/helm/registry.json")
    crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
           "  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n"
           "  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n")
    overlay(demo, {"argo/apps/demo-app.yaml": APP.format(
        name="demo", path="apps/helm/demo",
        extra="      helm:\n        releaseName: demo-rel\n        valuesObject: {replicas: 3}\n"),
        "apps/manifests/cluster-config/widget-crd.yaml": crd})
    model = _model(demo)
    r = render_app(model, _app(model, "demo"), Options(renderer="helm"))
    assert r.problems == [] and [(o.kind, o.name, o.template) for o in r.objects] == [
        ("ServiceAccount", "demo", "demo/templates/sa.yaml")]
    call = json.loads(record.read_text())
    argv = call["argv"]
    assert argv[:2] == ["template", "demo-rel"]
    assert argv[argv.index("--namespace") + 1] == "demo"
    assert argv[argv.index("--kube-version") + 1] == model.config.data["kubernetes_version"]
    apis = {argv[i + 1] for i, a in enumerate(argv) if a == "--api-versions"}
    assert {"example.com/v1", "example.com/v1/Widget"} <= apis  # the CRDs the repository installs
    assert "--include-crds" in argv and "--skip-crds" not in argv
    assert "AWS_SECRET_ACCESS_KEY" not in call["env"] and "HELM_REGISTRY_CONFIG" not in call["env"]
    assert call["values"] == {"replicas": 3}  # the merged values: valuesObject over nothing else


@pytest.mark.parametrize("release", ["--post-renderer=/bin/sh", "../../escape", "Upper", "x" * 54])
def test_helm_binary_never_gets_a_release_name_helm_would_not_accept(demo, tmp_path, monkeypatch, release):
    """A release name from the repository that is not a Helm release name (one that reads as a
    flag such as --post-renderer, which would run a program) is a render problem: helm never runs."""
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "helm-call.json"
    fake = bin_dir / "helm"
    fake.write_text(FAKE_HELM.format(python=sys.executable, record=str(record)))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    overlay(demo, {"argo/apps/demo-app.yaml": APP.format(
        name="demo", path="apps/helm/demo", extra=f"      helm:\n        releaseName: {release!r}\n")})
    model = _model(demo)
    r = render_app(model, _app(model, "demo"), Options(renderer="helm"))
    assert [p.kind for p in r.problems] == ["render"] and "not a valid Helm release name" in r.problems[0].message
    assert not record.exists()


def test_policies_a_chart_renders_cover_its_namespace(demo):
    """network-policy and resource-quota count what the chart renders into the namespace."""
    before = run_lint(demo, select=["network-policy", "resource-quota"])
    assert {f.rule for f in before.findings if f.app == "demo"} == {"network-policy", "resource-quota"}
    overlay(demo, {"apps/helm/demo/templates/policies.yaml": (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\nspec:\n"
        "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-dns\nspec:\n"
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n    - ports:\n        - {port: 53, protocol: UDP}\n"
        "        - {port: 53, protocol: TCP}\n"
        "---\napiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: quota\nspec:\n  hard: {pods: \"20\"}\n")})
    plain = run_lint(demo, select=["network-policy", "resource-quota"])
    assert {f.rule for f in plain.findings if f.app == "demo"} == {"network-policy", "resource-quota"}
    rendered = run_lint(demo, render=True, select=["network-policy", "resource-quota"])
    assert [f for f in rendered.findings if f.app == "demo"] == []
    # the other apps' namespace findings are the plain run's, unchanged
    assert {f.fingerprint for f in rendered.findings} == {f.fingerprint for f in plain.findings if f.app != "demo"}
