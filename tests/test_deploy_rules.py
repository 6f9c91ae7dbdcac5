"""The rules of issue 21 beyond the case driver: apply-size, kustomize-subjects, cmp-discover and
kustomize-build. Glob semantics, kustomize's real behaviour (kubectl, skipped without it), the
sandbox of the build, default-disabled rules, and the seed's defects on upstream's install.yaml
(../shared/upstream, skipped when absent)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from gitops_kit import catalog, config, engine, model
from gitops_kit.checks import apply_size, cmp_discover, get
from helpers import PROJECT, by_rule, overlay, reference_copy, run_check, run_lint

KUBECTL = shutil.which("kubectl")
UPSTREAM = PROJECT.parent / "shared" / "upstream" / "argo-cd" / "install" / "ha-install-v2.13.2.yaml"
INSTALL_URL = "https://raw.githubusercontent.com/argoproj/argo-cd/v2.13.2/manifests/ha/install.yaml"


# --- cmp-discover: globs as the cmp-server evaluates them ----------------------------------------------

@pytest.mark.parametrize("pattern,path,zglob,expected", [
    ("a/**/kustomization.yaml", "a/kustomization.yaml", True, True),  # "**/" may be no directory
    ("a/**/kustomization.yaml", "a/b/c/kustomization.yaml", True, True),
    ("a/**/kustomization.yaml", "a/b/xkustomization.yaml", True, False),
    ("a/*.yaml", "a/b/c.yaml", True, False),  # "*" stays in one directory
    ("a/?.yaml", "a/x.yaml", True, False),  # go-zglob: "?" is literal
    ("a/?.yaml", "a/x.yaml", False, True),  # Go's filepath.Match: one character
    ("a/[a-c].yaml", "a/b.yaml", False, True),
    ("a/[^a-c].yaml", "a/b.yaml", False, False),
    ("a/**.yaml", "a/b/c.yaml", False, False),  # filepath.Glob has no "**"
    ("a/s*.yaml", "a/sub.yaml", False, True),
])
def test_discover_globs(pattern, path, zglob, expected):
    assert cmp_discover._run(cmp_discover._tokens(pattern, zglob), path) is expected


def test_discover_glob_runs_in_linear_time():
    tokens = cmp_discover._tokens("*a" * 40 + "b", True)
    assert cmp_discover._run(tokens, "a" * 20000) is False  # a backtracking matcher never returns


PLUGIN = """apiVersion: v1
kind: ConfigMap
metadata: {name: cmp-plugin, namespace: argocd-system}
data:
  plugin.yaml: |
    apiVersion: argoproj.io/v1alpha1
    kind: ConfigManagementPlugin
    metadata:
      name: avp-helm
    spec:
      generate: {command: [sh]}
      discover:
        %s
"""


def test_cmp_discover_filename_and_depends_on(tmp_path):
    root = reference_copy(tmp_path / "repo")
    files = {"apps/manifests/argocd/cmp-plugin.yaml": PLUGIN % 'fileName: "./namespace.yaml"'}
    hits = run_check(root, "cmp-discover", files)
    wide = [h for h in hits if h.path == "apps/manifests/argocd/cmp-plugin.yaml"]
    narrow = [h for h in hits if h.path != "apps/manifests/argocd/cmp-plugin.yaml"]
    assert {h.pos[0] for h in wide} == {13}  # the fileName line inside the ConfigMap's block scalar
    taken = {h.message.split("of Application ")[1].split(",")[0] for h in wide}
    assert {"'argocd'", "'cnpg'", "'vault-transit'"} <= taken  # all that sync before vault-ha, and what it needs
    assert not taken & {"'awx'", "'netbox'", "'loki'"}  # after vault-ha, or naming the plugin
    # the Applications that name the plugin on a chart without namespace.yaml: ArgoCD refuses them
    assert {h.path for h in narrow} == {"argo/apps/asset-mgmt-app.yaml", "argo/apps/awx-app.yaml", "argo/apps/ci-runner-app.yaml",
                                        "argo/apps/netbox-app.yaml", "argo/platform/object-store-app.yaml",
                                        "argo/platform/registry-app.yaml"}
    # a dependency that syncs first of all: nothing is before it, so only itself and its own needs
    early = [h for h in run_check(root, "cmp-discover", {}, depends_on=["metallb"]) if "names plugin" not in h.message]
    assert early and all("'metallb'" in h.message for h in early)
    none = run_check(root, "cmp-discover", {}, depends_on=["no-such-app"], depends_on_charts=[])
    assert none and all("names plugin" in h.message for h in none)  # no dependency: wide rules not judged


def test_cmp_discover_command_is_not_judged(tmp_path):
    root = reference_copy(tmp_path / "repo")
    files = {"apps/manifests/argocd/cmp-plugin.yaml": PLUGIN % "find: {command: [sh, -c, 'find . -name x']}"}
    assert run_check(root, "cmp-discover", files) == []


# --- apply-size ---------------------------------------------------------------------------------------

def test_sync_options_parsing():
    opts = apply_size._options
    assert opts(["ServerSideApply=true", "Replace=True"]) == {"ServerSideApply": "true", "Replace": "true"}
    assert opts("Prune=false, ServerSideApply=true") == {"Prune": "false", "ServerSideApply": "true"}
    assert opts(None) == {} and opts([5, None]) == {}


def test_apply_size_counts_go_escapes(tmp_path):
    # 43,700 "<" are 262,200 bytes as Go writes them (\u003c): over the limit although 43,7xx characters
    body = "<" * 43700
    files = {"apps/manifests/cnpg/big.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n  x: '{body}'\n",
             "argo/bootstrap/cnpg-app.yaml": (PROJECT / "examples/reference/argo/bootstrap/cnpg-app.yaml").read_text()
             .replace("      - ServerSideApply=true\n", "      - Prune=true\n")}
    hits = run_check(reference_copy(tmp_path / "repo"), "apply-size", files)
    assert [h.path for h in hits] == ["argo/bootstrap/cnpg-app.yaml"] and "262,2" in hits[0].message


# --- kustomize-subjects against the real kustomize ------------------------------------------------------

CASES = {
    "sa.yaml": """apiVersion: v1
kind: ServiceAccount
metadata: {name: ctrl}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: placed, namespace: tools}
""",
    "crb.yaml": """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: x}
subjects:
  - {kind: ServiceAccount, name: ctrl, namespace: argocd}
  - {kind: ServiceAccount, name: ctrl, namespace: default}
  - {kind: ServiceAccount, name: ctrl}
  - {kind: ServiceAccount, name: placed, namespace: tools}
  - {kind: ServiceAccount, name: placed, namespace: elsewhere}
  - {kind: ServiceAccount, name: foreign, namespace: monitoring}
  - {kind: ServiceAccount, name: default, namespace: other}
  - {kind: User, name: ctrl, namespace: argocd}
""",
}


@pytest.mark.parametrize("transformer,reported", [
    ("namespace: target\n", {("ctrl", "argocd"), ("placed", "elsewhere")}),
    ("transformers:\n  - |-\n    apiVersion: builtin\n    kind: NamespaceTransformer\n    metadata: {name: ns, namespace: "
     "target}\n    setRoleBindingSubjects: allServiceAccounts\n    unsetOnly: false\n", set()),
])
def test_subjects_agree_with_kustomize(tmp_path, transformer, reported):
    root = reference_copy(tmp_path / "repo")
    kustomization = transformer + "resources:\n  - sa.yaml\n  - crb.yaml\n"
    files = {f"apps/manifests/x/{name}": text for name, text in CASES.items()}
    files["apps/manifests/x/kustomization.yaml"] = kustomization
    hits = run_check(root, "kustomize-subjects", files)
    subjects = [s for s in CASES["crb.yaml"].splitlines() if "kind: ServiceAccount" in s]
    got = {(subjects[int(h.key.rsplit("[", 1)[1].rstrip("]"))].split("name: ")[1].split(",")[0],
            subjects[int(h.key.rsplit("[", 1)[1].rstrip("]"))].split("namespace: ")[1].rstrip("}"))
           for h in hits}
    assert got == reported
    if KUBECTL is None:
        return
    # the ground truth: the subjects kustomize leaves outside "target" while their ServiceAccount moved
    out = subprocess.run([KUBECTL, "kustomize", "--", str(root / "apps/manifests/x")], capture_output=True,
                         text=True, check=True, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)}).stdout
    import yaml
    docs = list(yaml.safe_load_all(out))
    moved = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount" and d["metadata"]["namespace"] == "target"}
    crb = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    left = {(s["name"], s["namespace"]) for s in crb["subjects"]
            if s["kind"] == "ServiceAccount" and s["name"] in moved and s.get("namespace") != "target"}
    assert left == reported


def test_subjects_transformer_file_and_remote_resources(tmp_path):
    root = reference_copy(tmp_path / "repo")
    files = {"apps/manifests/x/sa.yaml": CASES["sa.yaml"], "apps/manifests/x/crb.yaml": CASES["crb.yaml"],
             "apps/manifests/x/ns.yaml": "apiVersion: builtin\nkind: NamespaceTransformer\nmetadata: {name: n, "
                                         "namespace: target}\nsetRoleBindingSubjects: allServiceAccounts\n",
             "apps/manifests/x/kustomization.yaml": "namespace: target\ntransformers: [ns.yaml]\n"
                                                    "resources: [sa.yaml, crb.yaml, 'https://example.com/x.yaml']\n"}
    assert run_check(root, "kustomize-subjects", files) == []
    # a remote resource without a substitute is not read, and not reported
    files["apps/manifests/x/kustomization.yaml"] = "namespace: target\nresources: [sa.yaml, 'https://example.com/x.yaml']\n"
    assert run_check(root, "kustomize-subjects", files) == []
    files["vendor/x.yaml"] = CASES["crb.yaml"]
    hits = run_check(root, "kustomize-subjects", files, substitutes={"https://example.com/x.yaml": "vendor/x.yaml"})
    assert {(h.path, h.pos[0]) for h in hits} == {("vendor/x.yaml", 6), ("vendor/x.yaml", 10)}


@pytest.mark.skipif(not UPSTREAM.is_file(), reason="../shared/upstream/argo-cd/install is absent")
def test_seed_argocd_kustomization_on_upstream_install(tmp_path):
    """Seed defect: `namespace: argocd-system` over upstream's install.yaml leaves the three
    ClusterRoleBindings on ServiceAccounts in "argocd"; the reference's transformer does not."""
    root = reference_copy(tmp_path / "repo")
    vendored = root / "vendor" / "install.yaml"
    vendored.parent.mkdir()
    shutil.copyfile(UPSTREAM, vendored)  # into the temporary copy only
    seed = subprocess.run(["git", "show", "e871508:examples/reference/apps/manifests/argocd/kustomization.yaml"],
                          cwd=PROJECT, capture_output=True, text=True)
    if seed.returncode != 0:
        pytest.skip("the seed's kustomization is not in this git history")
    hits = run_check(root, "kustomize-subjects", {}, substitutes={INSTALL_URL: "vendor/install.yaml"})
    assert hits == []  # the reference (NamespaceTransformer, allServiceAccounts)
    overlay(root, {"apps/manifests/argocd/kustomization.yaml": seed.stdout})
    hits = run_check(root, "kustomize-subjects", {}, substitutes={INSTALL_URL: "vendor/install.yaml"})
    names = sorted(h.message.split("subject ServiceAccount ")[1].split(" ")[0] for h in hits)
    assert names == ["'argocd-application-controller'", "'argocd-applicationset-controller'", "'argocd-server'"]
    assert {h.path for h in hits} == {"vendor/install.yaml"}
    if KUBECTL is not None:  # and the reference's kustomization builds with the substitute
        overlay(root, {"apps/manifests/argocd/kustomization.yaml":
                       (PROJECT / "examples/reference/apps/manifests/argocd/kustomization.yaml").read_text()})
        built = run_check(root, "kustomize-build", {}, substitutes={INSTALL_URL: "vendor/install.yaml"})
        assert [h.path for h in built if str(h.severity) != "info"] == []
        assert not any(h.path == "apps/manifests/argocd/kustomization.yaml" for h in built)


# --- kustomize-build: enabled only on request, sandboxed -----------------------------------------------

def test_kustomize_build_is_disabled_by_default(tmp_path):
    spec = catalog.load()["kustomize-build"]
    assert spec.enabled is False
    root = reference_copy(tmp_path / "repo")
    repo = model.build(root, config.load(root))
    assert "kustomize-build" not in {s.id for s in engine.select_rules(catalog.load(), repo, None, None)}
    overlay(root, {".gitops-kit.yaml": (root / ".gitops-kit.yaml").read_text() + "rules:\n  kustomize-build: {enabled: true}\n"})
    repo = model.build(root, config.load(root))
    assert "kustomize-build" in {s.id for s in engine.select_rules(catalog.load(), repo, None, None)}
    table = {row["id"]: row for row in catalog.table(catalog.load(), repo.config, set())}
    assert table["kustomize-build"]["enabled"] is True and table["apply-size"]["enabled"] is True


FAKE = """#!/bin/sh
printf '%s\\n' "$@" > "{log}.args"
/usr/bin/env > "{log}.env"
echo 'Error: boom in '"$3"'/kustomization.yaml' >&2
exit 1
"""


def test_kustomize_build_sandbox(tmp_path, monkeypatch):
    """A fake kustomize records its arguments and environment: `--`, one absolute temporary path,
    no --enable-* flag, only PATH and HOME; its error comes back with repository paths."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    fake = bin_dir / "kustomize"
    fake.write_text(FAKE.format(log=log))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:1")
    monkeypatch.setenv("GITLAB_TOKEN", "secret-token")
    root = reference_copy(tmp_path / "repo")
    files = {"apps/manifests/cnpg/kustomization.yaml": "resources: [namespace.yaml]\n"}
    hits = run_check(root, "kustomize-build", files)
    args = (log.with_suffix(".args")).read_text().splitlines()
    assert args[:2] == ["build", "--"] and len(args) == 3 and os.path.isabs(args[2])
    assert not any(a.startswith("--enable") for a in args)
    env = dict(line.split("=", 1) for line in log.with_suffix(".env").read_text().splitlines() if "=" in line)
    assert set(env) - {"PWD", "SHLVL", "_", "OLDPWD"} == {"PATH", "HOME"}
    assert env["HOME"] != os.environ.get("HOME")
    build = [h for h in hits if h.path == "apps/manifests/cnpg/kustomization.yaml"]
    assert [h.message for h in build] == ["kustomize build fails: boom in apps/manifests/cnpg/kustomization.yaml"]
    assert not os.path.exists(args[2])  # the temporary copy is gone


def test_kustomize_build_without_a_binary(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    root = reference_copy(tmp_path / "repo")
    hits = run_check(root, "kustomize-build", {"apps/manifests/cnpg/kustomization.yaml": "resources: [namespace.yaml]\n"})
    assert [str(h.severity) for h in hits] == ["info"] and "neither kustomize nor kubectl" in hits[0].message


@pytest.mark.skipif(KUBECTL is None and shutil.which("kustomize") is None, reason="needs kustomize or kubectl")
def test_kustomize_build_substitutes_a_remote_resource(tmp_path):
    root = reference_copy(tmp_path / "repo")
    files = {"apps/manifests/cnpg/kustomization.yaml": "resources:\n  - namespace.yaml\n  - https://example.com/x.yaml\n",
             "vendor/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: cnpg-core}\n"}
    hits = run_check(root, "kustomize-build", files)
    assert [(h.path, h.pos[0]) for h in hits if "example.com" in h.message] == [
        ("apps/manifests/cnpg/kustomization.yaml", 3)]
    hits = run_check(root, "kustomize-build", {}, substitutes={"https://example.com/x.yaml": "vendor/x.yaml"})
    assert not any(h.path.startswith("apps/manifests/cnpg") for h in hits)
    overlay(root, {"vendor/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspec: [\n"})
    hits = run_check(root, "kustomize-build", {}, substitutes={"https://example.com/x.yaml": "vendor/x.yaml"})
    bad = [h for h in hits if h.path.startswith("apps/manifests/cnpg")]
    assert len(bad) == 1 and "vendor/x.yaml" in bad[0].message and "/tmp" not in bad[0].message


def test_reference_is_clean_and_fast(tmp_path):
    report = run_lint(reference_copy(tmp_path / "repo"))
    for rule in ("apply-size", "kustomize-subjects", "cmp-discover", "kustomize-build"):
        assert by_rule(report, rule) == set()
    root = PROJECT / "examples" / "reference"
    repo = model.build(root, config.load(root))
    import time
    start = time.perf_counter()
    for rule in ("apply-size", "kustomize-subjects", "cmp-discover"):
        spec = catalog.load()[rule]
        assert list(get(spec.check)(repo, engine.params_for(spec, repo))) == []
    assert time.perf_counter() - start < 0.2

