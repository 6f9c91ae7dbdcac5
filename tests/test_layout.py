"""layout beyond the rule cases: ArgoCD's glob, directory sources, odd shapes, repository identity."""

from __future__ import annotations


import pytest

from gitops_kit import yamlio
from gitops_kit.checks._apps import argo_glob, glob_match, norm_path, source_includes
from gitops_kit.model import AppSource
from helpers import line_of, overlay, reference_config_with, reference_copy, reference_model, run_check, run_lint

APP_RULES = ("layout", "sync-wave", "helm-pattern", "namespace-suffix", "one-app-per-namespace")
FILEBROWSER = "argo/apps/filebrowser-app.yaml"

# Documents of every shape a check might trip over: each must be skipped or reported, never raise.
ODD_APPS = {
    "spec-null": "metadata: {name: odd, namespace: argocd-system}\nspec: null\n",
    "spec-list": "metadata: {name: odd, namespace: argocd-system}\nspec: [1, 2]\n",
    "spec-string": "metadata: {name: odd, namespace: argocd-system}\nspec: just text\n",
    "metadata-null": "metadata: null\nspec: {}\n",
    "metadata-list": "metadata: [a]\nspec: {}\n",
    "no-metadata": "spec: {destination: {namespace: odd}}\n",
    "name-int": "metadata: {name: 5, namespace: argocd-system}\n",
    "annotations-list": "metadata: {name: odd, namespace: argocd-system, annotations: [a, b]}\n",
    "annotations-null": "metadata: {name: odd, namespace: argocd-system, annotations: null}\n",
    "wave-mapping": "metadata: {name: odd, annotations: {argocd.argoproj.io/sync-wave: {a: 1}}}\n",
    "wave-list": "metadata: {name: odd, annotations: {argocd.argoproj.io/sync-wave: [1]}}\n",
    "wave-float": "metadata: {name: odd, annotations: {argocd.argoproj.io/sync-wave: 1.5}}\n",
    "namespace-list": "metadata: {name: odd, namespace: [argocd-system]}\n",
    "destination-list": "metadata: {name: odd}\nspec: {destination: [a]}\n",
    "destination-ns-null": "metadata: {name: odd}\nspec: {destination: {namespace: null}}\n",
    "destination-ns-map": "metadata: {name: odd}\nspec: {destination: {namespace: {a: b}}}\n",
    "source-string": "metadata: {name: odd}\nspec: {source: text}\n",
    "sources-null": "metadata: {name: odd}\nspec: {sources: null}\n",
    "sources-mixed": ("metadata: {name: odd}\n"
                      "spec: {sources: [null, text, 3, {chart: [1]}, {path: [a]}, {ref: {}}]}\n"),
    "source-fields-odd": ("metadata: {name: odd}\nspec:\n  source:\n"
                          "    repoURL: https://gitlab.example.com/platform/gitops.git\n"
                          "    path: 7\n    chart: null\n    targetRevision: {a: 1}\n    directory: text\n"
                          "    helm: [a]\n    plugin: text\n"),
    "helm-odd": ("metadata: {name: odd}\nspec:\n  sources:\n"
                 "    - {chart: c, targetRevision: [1], helm: {valueFiles: text}}\n"
                 "    - {chart: c, targetRevision: 1.0.0,"
                 " helm: {valueFiles: [1, null, {a: b}, '$', '$/', '$values']}}\n"
                 "    - {repoURL: https://gitlab.example.com/platform/gitops.git, path: '', ref: values,"
                 " helm: {valueFiles: ['', /, '$values/']}}\n"),
    "directory-odd": ("metadata: {name: odd}\nspec:\n  source:\n"
                      "    repoURL: https://gitlab.example.com/platform/gitops.git\n"
                      "    path: argo\n    directory: {recurse: yes-please, include: 5, exclude: [a]}\n"),
    "sync-policy-odd": "metadata: {name: odd}\nspec: {syncPolicy: [a], destination: {namespace: Bad_NS}}\n",
}
HEADER = "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
ODD_BUNDLE_FILES = {
    "apps/helm/netbox/Chart.yaml": "apiVersion: v2\nname: netbox\nversion: 0.1.0\ndependencies: text\n",
    "apps/helm/registry/Chart.yaml": "dependencies: [null, text, {name: [a], version: [1]}, {version: {a: 1}}]\n",
    "apps/helm/asset-mgmt/kustomization.yaml": "helmCharts: {name: x}\n",
    "apps/helm/awx/Chart.yaml": "- a list\n- document\n",
    "apps/helm/ci-runner/Chart.yaml": "",
}


@pytest.mark.parametrize("name", sorted(ODD_APPS))
@pytest.mark.parametrize("where", ["argo/apps/odd-app.yaml", "argo/root-apps.yaml", "argo/odd.yaml"])
def test_odd_application_shapes_never_crash(tmp_path, name, where):
    model = reference_model(tmp_path, {where: HEADER + ODD_APPS[name]})
    for rule in APP_RULES:
        for hit in run_check(model, rule):
            assert isinstance(hit.pos[0], int) and isinstance(hit.pos[1], int) and hit.message


def test_odd_bundle_files_never_crash(tmp_path):
    model = reference_model(tmp_path, ODD_BUNDLE_FILES)
    for rule in APP_RULES:
        run_check(model, rule)


def test_odd_shapes_through_the_engine(tmp_path):
    files = {f"argo/apps/odd{i}-app.yaml": HEADER + text for i, text in enumerate(ODD_APPS.values())}
    root = reference_copy(tmp_path / "repo")
    overlay(root, {**files, **ODD_BUNDLE_FILES})
    report = run_lint(root, select=list(APP_RULES))
    assert report.crashed == ()


def test_reference_is_clean(tmp_path):
    model = reference_model(tmp_path, {})
    for rule in APP_RULES:
        assert run_check(model, rule) == [], rule


# --- ArgoCD's glob -------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern,text,expected", [
    ("bootstrap/*", "bootstrap/a-app.yaml", True),
    ("bootstrap/*", "bootstrap/sub/a-app.yaml", True),  # no separators: * crosses '/'
    ("*.yaml", "platform/a-app.yaml", True),
    ("{bootstrap/*,root-platform.yaml}", "root-platform.yaml", True),
    ("{bootstrap/*,root-platform.yaml}", "root-apps.yaml", False),
    ("root-{platform,apps}.yaml", "root-apps.yaml", True),
    ("{a,{b,c}}.yaml", "c.yaml", True),
    ("?.yaml", "a.yaml", True),
    ("[!p]*", "platform/x.yaml", False),
    ("[a-c]*", "bootstrap/x.yaml", True),
    ("a\\*", "a*", True),
    ("a\\*", "ab", False),
    ("bootstrap", "bootstrap/x.yaml", False),  # anchored: the whole path must match
    ("a.b", "axb", False),  # '.' is literal
])
def test_argo_glob(pattern, text, expected):
    assert glob_match(pattern, text) is expected


@pytest.mark.parametrize("pattern", ["{a,b", "[abc", "a\\", "[]"])
def test_invalid_glob_matches_nothing(pattern):
    assert argo_glob(pattern) is None
    assert not glob_match(pattern, "a")


@pytest.mark.parametrize("path,expected", [("argo", "argo"), ("./argo/", "argo"), (".", ""), ("", ""),
                                           ("/argo//platform/", "argo/platform"), ("../x", "../x")])
def test_norm_path(path, expected):
    assert norm_path(path) == expected


def _source(**fields) -> AppSource:
    data = yamlio.load_text(yamlio.dump(fields)).documents[0].data
    return AppSource(data, -1)


def test_source_includes_follows_argocd_walk():
    flat = _source(path="argo/apps")
    assert source_includes(flat, "argo/apps/a-app.yaml")
    assert not source_includes(flat, "argo/apps/sub/a-app.yaml")  # not recursive
    assert not source_includes(flat, "argo/apps-old/a-app.yaml")  # a sibling, not a child
    assert not source_includes(flat, "argo/apps/README.md")  # not a manifest
    deep = _source(path="argo", directory={"recurse": True, "include": "{bootstrap/*,root-apps.yaml}",
                                           "exclude": "bootstrap/skip-*"})
    assert source_includes(deep, "argo/bootstrap/a-app.yaml")
    assert source_includes(deep, "argo/root-apps.yaml")
    assert not source_includes(deep, "argo/bootstrap/skip-app.yaml")
    assert not source_includes(deep, "argo/platform/a-app.yaml")
    assert source_includes(_source(path="."), "root.yaml")


# --- repository identity and revisions -----------------------------------------------------------

MANIFESTS_SOURCE = ("    - repoURL: https://gitlab.example.com/platform/gitops.git\n      targetRevision: master\n"
                    "      path: apps/manifests/filebrowser\n")


def reference_copy_text(rel: str) -> str:
    from helpers import REFERENCE

    return (REFERENCE / rel).read_text()


def _manifests_source(repo: str, revision: str, path: str) -> dict[str, str]:
    text = reference_copy_text(FILEBROWSER)
    assert MANIFESTS_SOURCE in text
    return {FILEBROWSER: text.replace(MANIFESTS_SOURCE, f"    - repoURL: {repo}\n      targetRevision: {revision}\n"
                                                        f"      path: {path}\n")}


@pytest.mark.parametrize("repo", ["git@gitlab.example.com:platform/gitops.git",
                                  "https://GitLab.example.com/platform/gitops/",
                                  "https://gitlab.example.com/platform/gitops"])
def test_this_repository_in_other_spellings_is_checked(tmp_path, repo):
    files = _manifests_source(repo, "master", "apps/manifests/nope")
    model = reference_model(tmp_path, files)
    assert [h.pos[0] for h in run_check(model, "layout") if h.path == FILEBROWSER] == [
        line_of(files[FILEBROWSER], "manifests/nope")]


@pytest.mark.parametrize("repo,revision", [("https://github.com/example/other.git", "master")])
def test_other_repositories_and_revisions_are_not_checked(tmp_path, repo, revision):
    model = reference_model(tmp_path, _manifests_source(repo, revision, "apps/manifests/nope"))
    assert [h for h in run_check(model, "layout") if h.path == FILEBROWSER] == []


@pytest.mark.parametrize("revision", ["release-2", "v1.4.0"])
def test_this_repository_at_another_revision_is_reported_not_its_paths(tmp_path, revision):
    # Issue 15: a source of this repository must read repo.branch (it deploys what is linted);
    # its paths are not checked, since another revision may hold files the working tree does not.
    files = _manifests_source("https://gitlab.example.com/platform/gitops.git", revision, "apps/manifests/nope")
    model = reference_model(tmp_path, files)
    found = [h for h in run_check(model, "layout") if h.path == FILEBROWSER]
    assert [h.pos[0] for h in found] == [line_of(files[FILEBROWSER], f"targetRevision: {revision}")]
    assert f'at revision "{revision}", not repo.branch "master"' in found[0].message


@pytest.mark.parametrize("revision", ["HEAD", "''", "master"])
def test_head_and_configured_branch_are_checked(tmp_path, revision):
    model = reference_model(tmp_path, _manifests_source("https://gitlab.example.com/platform/gitops.git", revision,
                                                        "apps/manifests/nope"))
    assert len([h for h in run_check(model, "layout") if h.path == FILEBROWSER]) == 1


def test_build_environment_value_files_are_not_checked(tmp_path):
    text = reference_copy_text(FILEBROWSER).replace(
        "- $values/apps/helm/filebrowser/values.yaml",
        "- $values/apps/helm/filebrowser/values.yaml\n          - $values/apps/helm/$ARGOCD_APP_NAME/extra.yaml"
        "\n          - $ARGOCD_APP_NAME/values.yaml\n          - https://example.com/values.yaml")
    model = reference_model(tmp_path, {FILEBROWSER: text})
    assert run_check(model, "layout") == []
    assert run_check(model, "helm-pattern") == []


def test_without_repo_url_the_first_root_defines_this_repository(tmp_path):
    cfg = reference_config_with(tmp_path, lambda d: d.pop("repo", None))
    model = reference_model(tmp_path, {".gitops-kit.yaml": cfg,
                                       **_manifests_source("https://gitlab.example.com/platform/gitops.git", "master",
                                                           "apps/manifests/nope")})
    assert [h.path for h in run_check(model, "layout")] == [FILEBROWSER]


def test_without_any_repo_url_roots_are_not_reported_as_foreign(tmp_path):
    cfg = reference_config_with(tmp_path, lambda d: d.pop("repo", None))
    model = reference_model(tmp_path, {".gitops-kit.yaml": cfg, "argo/root-bootstrap.yaml": None})
    assert [(h.path, h.pos) for h in run_check(model, "layout")] == [("argo/root-bootstrap.yaml", (1, 1))]


def test_hits_carry_app_and_line_free_keys(tmp_path):
    text = reference_copy_text(FILEBROWSER).replace("path: apps/manifests/filebrowser",
                                                    "path: apps/manifests/nope")
    shifted = "# a comment\n# another\n" + text
    keys = []
    for content in (text, shifted):
        found = run_check(reference_model(tmp_path / str(len(keys)), {FILEBROWSER: content}), "layout")
        assert len(found) == 1 and found[0].app == "filebrowser"
        keys.append(found[0].key)
    assert keys[0] == keys[1] and str(line_of(text, "manifests/nope")) not in keys[0]


def test_custom_layer_layout(tmp_path):
    """Layers are configuration: two layers under clusters/, roots inside the first layer's parent."""
    def change(d):
        d["layers"] = [
            {"name": "base", "dir": "clusters/base", "root": "clusters/root-base.yaml", "wave": "0",
             "namespace": {"suffixes": ["-system"], "allow": [], "forbid_suffixes": []}},
            {"name": "apps", "dir": "clusters/apps", "root": "clusters/root-apps.yaml", "wave": "1",
             "namespace": {"suffixes": [], "allow": [], "forbid_suffixes": ["-system"]}, "owns_namespaces": True},
        ]
    root_base = (HEADER + "metadata: {name: root-base, namespace: argocd-system,"
                 " annotations: {argocd.argoproj.io/sync-wave: '0'}}\nspec:\n  source:\n"
                 "    repoURL: https://gitlab.example.com/platform/gitops.git\n    targetRevision: master\n"
                 "    path: clusters\n    directory: {recurse: true, include: '{base/*,root-apps.yaml}'}\n")
    root_apps = root_base.replace("root-base", "root-apps").replace("'0'", "'1'").replace(
        "path: clusters\n    directory: {recurse: true, include: '{base/*,root-apps.yaml}'}\n", "path: clusters/apps\n")
    child = (HEADER + "metadata: {name: web, namespace: argocd-system}\nspec: {destination: {namespace: web}}\n")
    model = reference_model(tmp_path, {".gitops-kit.yaml": reference_config_with(tmp_path, change),
                                       "clusters/root-base.yaml": root_base, "clusters/root-apps.yaml": root_apps,
                                       "clusters/base/.keep.yaml": "a: 1\n", "clusters/apps/web-app.yaml": child})
    found = [h for h in run_check(model, "layout") if h.path.startswith("clusters/")]
    assert found == []
