"""layout beyond the rule cases: ArgoCD's glob, directory sources, odd shapes, repository identity.

Also holds the odd-document fixtures the other Application checks' tests reuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_kit import config, yamlio
from gitops_kit.checks import helm_pattern, layout, namespace_suffix, one_app_per_namespace, sync_wave
from gitops_kit.checks._apps import argo_glob, glob_match, norm_path, source_includes
from gitops_kit.model import AppSource, RepoModel, build
from helpers import overlay, reference_copy, run_lint

APP_CHECKS = (layout, sync_wave, helm_pattern, namespace_suffix, one_app_per_namespace)
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


def make_model(tmp_path: Path, files: dict[str, str | None]) -> RepoModel:
    """The reference example with ``files`` overlaid, as a model."""
    root = reference_copy(tmp_path / "repo")
    overlay(root, files)
    return build(root, config.load(root))


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` containing ``needle``."""
    return next(no for no, line in enumerate(text.split("\n"), 1) if needle in line)


def hits(module, model: RepoModel, path: str | None = None) -> list:
    out = list(module.check(model, {}))
    return [h for h in out if path is None or h.path == path]


def reference_config_with(tmp_path: Path, change) -> str:
    """The reference .gitops-kit.yaml as text, after ``change(data)``."""
    text = (reference_copy(tmp_path / "cfg") / ".gitops-kit.yaml").read_text()
    data = yamlio.plain(yamlio.load_text(text).documents[0].data)
    change(data)
    return yamlio.dump(data)


@pytest.mark.parametrize("name", sorted(ODD_APPS))
@pytest.mark.parametrize("where", ["argo/apps/odd-app.yaml", "argo/root-apps.yaml", "argo/odd.yaml"])
def test_odd_application_shapes_never_crash(tmp_path, name, where):
    model = make_model(tmp_path, {where: HEADER + ODD_APPS[name]})
    for module in APP_CHECKS:
        for hit in module.check(model, {}):
            assert isinstance(hit.pos[0], int) and isinstance(hit.pos[1], int) and hit.message


def test_odd_bundle_files_never_crash(tmp_path):
    model = make_model(tmp_path, ODD_BUNDLE_FILES)
    for module in APP_CHECKS:
        list(module.check(model, {}))


def test_odd_shapes_through_the_engine(tmp_path):
    files = {f"argo/apps/odd{i}-app.yaml": HEADER + text for i, text in enumerate(ODD_APPS.values())}
    root = reference_copy(tmp_path / "repo")
    overlay(root, {**files, **ODD_BUNDLE_FILES})
    report = run_lint(root, select=["layout", "sync-wave", "helm-pattern", "namespace-suffix",
                                    "one-app-per-namespace"])
    assert not [f for f in report.findings if "internal error" in f.message]


def test_reference_is_clean(tmp_path):
    model = make_model(tmp_path, {})
    for module in APP_CHECKS:
        assert hits(module, model) == [], module.__name__


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
    model = make_model(tmp_path, files)
    assert [h.pos[0] for h in hits(layout, model, FILEBROWSER)] == [line_of(files[FILEBROWSER], "manifests/nope")]


@pytest.mark.parametrize("repo,revision", [("https://github.com/example/other.git", "master")])
def test_other_repositories_and_revisions_are_not_checked(tmp_path, repo, revision):
    model = make_model(tmp_path, _manifests_source(repo, revision, "apps/manifests/nope"))
    assert hits(layout, model, FILEBROWSER) == []


@pytest.mark.parametrize("revision", ["release-2", "v1.4.0"])
def test_this_repository_at_another_revision_is_reported_not_its_paths(tmp_path, revision):
    # Issue 15: a source of this repository must read repo.branch (it deploys what is linted);
    # its paths are not checked, since another revision may hold files the working tree does not.
    files = _manifests_source("https://gitlab.example.com/platform/gitops.git", revision, "apps/manifests/nope")
    model = make_model(tmp_path, files)
    found = hits(layout, model, FILEBROWSER)
    assert [h.pos[0] for h in found] == [line_of(files[FILEBROWSER], f"targetRevision: {revision}")]
    assert f'at revision "{revision}", not repo.branch "master"' in found[0].message


@pytest.mark.parametrize("revision", ["HEAD", "''", "master"])
def test_head_and_configured_branch_are_checked(tmp_path, revision):
    model = make_model(tmp_path, _manifests_source("https://gitlab.example.com/platform/gitops.git", revision,
                                                   "apps/manifests/nope"))
    assert len(hits(layout, model, FILEBROWSER)) == 1


def test_build_environment_value_files_are_not_checked(tmp_path):
    text = reference_copy_text(FILEBROWSER).replace(
        "- $values/apps/helm/filebrowser/values.yaml",
        "- $values/apps/helm/filebrowser/values.yaml\n          - $values/apps/helm/$ARGOCD_APP_NAME/extra.yaml"
        "\n          - $ARGOCD_APP_NAME/values.yaml\n          - https://example.com/values.yaml")
    model = make_model(tmp_path, {FILEBROWSER: text})
    assert hits(layout, model) == []
    assert hits(helm_pattern, model) == []


def test_without_repo_url_the_first_root_defines_this_repository(tmp_path):
    cfg = reference_config_with(tmp_path, lambda d: d.pop("repo", None))
    model = make_model(tmp_path, {".gitops-kit.yaml": cfg,
                                  **_manifests_source("https://gitlab.example.com/platform/gitops.git", "master",
                                                      "apps/manifests/nope")})
    assert [h.path for h in hits(layout, model)] == [FILEBROWSER]


def test_without_any_repo_url_roots_are_not_reported_as_foreign(tmp_path):
    cfg = reference_config_with(tmp_path, lambda d: d.pop("repo", None))
    model = make_model(tmp_path, {".gitops-kit.yaml": cfg, "argo/root-bootstrap.yaml": None})
    assert [(h.path, h.pos) for h in hits(layout, model)] == [("argo/root-bootstrap.yaml", (1, 1))]


def test_hits_carry_app_and_line_free_keys(tmp_path):
    text = reference_copy_text(FILEBROWSER).replace("path: apps/manifests/filebrowser",
                                                    "path: apps/manifests/nope")
    shifted = "# a comment\n# another\n" + text
    keys = []
    for content in (text, shifted):
        found = hits(layout, make_model(tmp_path / str(len(keys)), {FILEBROWSER: content}))
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
    model = make_model(tmp_path, {".gitops-kit.yaml": reference_config_with(tmp_path, change),
                                  "clusters/root-base.yaml": root_base, "clusters/root-apps.yaml": root_apps,
                                  "clusters/base/.keep.yaml": "a: 1\n", "clusters/apps/web-app.yaml": child})
    found = [h for h in hits(layout, model) if h.path.startswith("clusters/")]
    assert found == []
