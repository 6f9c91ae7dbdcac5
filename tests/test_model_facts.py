"""The model's facts layer (issue 14): Helm values in ArgoCD's merge order with origins, value-file
resolution, and what each Application source delivers. Small synthetic repositories, built in
tmp_path; no rule runs here."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_kit.model.values import helm_values, value_file_path, value_files
from helpers import model_of

REPO = "https://gitlab.example.com/platform/gitops.git"


def _repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in {".gitops-kit.yaml": f"repo:\n  url: {REPO}\n", **files}.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def _app(name: str, sources: str) -> str:
    return ("apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
            f"metadata:\n  name: {name}\n  namespace: argocd-system\n"
            f"spec:\n  destination: {{namespace: {name}, server: https://kubernetes.default.svc}}\n"
            + sources)


WEB = _app("web", f"""\
  sources:
    - repoURL: https://charts.example.com
      chart: web
      targetRevision: 1.0.0
      helm:
        valueFiles:
          - $values/values/common.yaml
          - $values/apps/helm/web/values.yaml
          - https://example.com/remote.yaml
        values: |
          image:
            tag: "2.0"
          gone: null
        valuesObject:
          image:
            repository: ghcr.io/x/web
        parameters:
          - name: replicas
            value: "3"
          - name: text
            value: "5"
            forceString: true
    - repoURL: {REPO}
      targetRevision: main
      ref: values
""")
COMMON = 'image:\n  repository: a\n  tag: "1.0"\ngone: 1\nkeep: [1, 2]\nnested: {a: 1, b: 2}\n'
WEB_VALUES = "keep: null\nnested: {b: null, c: 3}\n"


@pytest.fixture
def web(tmp_path):
    root = _repo(tmp_path, {"argo/apps/web-app.yaml": WEB, "values/common.yaml": COMMON,
                            "apps/helm/web/values.yaml": WEB_VALUES})
    model = model_of(root)
    app = model.applications[0]
    return model, app, app.sources[0]


def test_value_files_resolve_ref_against_the_referenced_repository_root(web):
    model, app, src = web
    files = value_files(model, app, src)
    assert [(f.rel, f.exists, f.remote) for f in files] == [
        ("values/common.yaml", True, False), ("apps/helm/web/values.yaml", True, False), (None, False, True)]
    assert files[0].pos == (14, 13)


def test_values_merge_in_argocd_order(web):
    model, app, src = web
    values = helm_values(model, app, src)
    # valueFiles in order, then the values string (over the files), then valuesObject, then parameters
    assert values.tree == {"image": {"repository": "ghcr.io/x/web", "tag": "2.0"},
                           "nested": {"a": 1, "c": 3}, "replicas": 3, "text": "5"}
    assert [f.raw for f in values.unresolved] == ["https://example.com/remote.yaml"]
    assert values.problems == []
    assert helm_values(model, app, src) is values  # memoised


def test_null_deletes_the_key(web):
    model, app, src = web
    tree = helm_values(model, app, src).tree
    assert "gone" not in tree and "keep" not in tree and "b" not in tree["nested"]


def test_origins_point_at_the_leaf_that_set_it(web):
    model, app, src = web
    values = helm_values(model, app, src)
    assert values.origin(("image", "tag")) == ("argo/apps/web-app.yaml", (19, 18))  # inside the block scalar
    assert values.origin(("image", "repository")) == ("argo/apps/web-app.yaml", (23, 25))
    assert values.origin(("nested", "a")) == ("values/common.yaml", (6, 13))
    assert values.origin(("nested", "c")) == ("apps/helm/web/values.yaml", (2, 22))
    assert values.origin(("replicas",)) == ("argo/apps/web-app.yaml", (26, 20))
    # not set: its deepest ancestor that was
    assert values.origin(("nested", "zzz")) == ("apps/helm/web/values.yaml", (2, 1))
    assert values.origin(("absent",)) is None


def test_values_object_wins_over_values_string(tmp_path):
    root = _repo(tmp_path, {"argo/apps/a-app.yaml": _app("a", f"""\
  source:
    repoURL: {REPO}
    path: apps/helm/a
    helm:
      values: |
        x: from-string
        y: kept
      valuesObject:
        x: from-object
""")})
    model = model_of(root)
    app = model.applications[0]
    values = helm_values(model, app, app.sources[0])
    assert values.tree == {"x": "from-object", "y": "kept"}
    assert values.origin(("y",)) == ("argo/apps/a-app.yaml", (14, 12))


def test_relative_and_absolute_value_files(tmp_path):
    root = _repo(tmp_path, {"argo/apps/a-app.yaml": _app("a", f"""\
  source:
    repoURL: {REPO}
    path: apps/helm/a
    helm:
      valueFiles: [values.yaml, ../shared.yaml, /top.yaml, ../../../../out.yaml, $ARGOCD_APP_NAME/v.yaml]
"""), "apps/helm/a/values.yaml": "a: 1\n", "apps/helm/shared.yaml": "b: 2\n", "top.yaml": "c: 3\n"})
    model = model_of(root)
    app = model.applications[0]
    src = app.sources[0]
    assert [value_file_path(model, app, src, f.raw) for f in value_files(model, app, src)] == [
        "apps/helm/a/values.yaml", "apps/helm/shared.yaml", "top.yaml", None, None]
    assert helm_values(model, app, src).tree == {"a": 1, "b": 2, "c": 3}


def test_value_file_of_another_repository_is_remote(tmp_path):
    root = _repo(tmp_path, {"argo/apps/a-app.yaml": _app("a", """\
  sources:
    - {repoURL: https://charts.example.com, chart: a, targetRevision: 1.0.0,
       helm: {valueFiles: [$other/values.yaml, values-prod.yaml]}}
    - {repoURL: https://github.com/someone/else.git, targetRevision: main, ref: other}
""")})
    model = model_of(root)
    app = model.applications[0]
    files = value_files(model, app, app.sources[0])
    assert [(f.rel, f.remote) for f in files] == [(None, True), (None, True)]
    assert len(helm_values(model, app, app.sources[0]).unresolved) == 2


def test_values_file_that_is_not_a_mapping_is_a_problem(tmp_path):
    root = _repo(tmp_path, {"argo/apps/a-app.yaml": _app("a", f"""\
  source:
    repoURL: {REPO}
    path: apps/helm/a
    helm:
      valueFiles: [values.yaml, missing.yaml]
"""), "apps/helm/a/values.yaml": "- a\n- b\n"})
    model = model_of(root)
    app = model.applications[0]
    values = helm_values(model, app, app.sources[0])
    assert values.tree == {}
    assert [(f, m) for f, _, m in values.problems] == [
        ("apps/helm/a/values.yaml", "values file is a YSeq, not a mapping"),
        ("argo/apps/a-app.yaml", "value file 'missing.yaml' does not exist (apps/helm/a/missing.yaml)")]


def test_parameters_use_helm_set_syntax(tmp_path):
    pytest.importorskip("helm_python")
    root = _repo(tmp_path, {"argo/apps/a-app.yaml": _app("a", f"""\
  source:
    repoURL: {REPO}
    path: apps/helm/a
    helm:
      valuesObject:
        list: [{{name: a, port: 1}}, {{name: b}}]
        drop: 1
      parameters:
        - {{name: "list[0].port", value: "8080"}}
        - {{name: "with\\\\.dot", value: "a,b"}}
        - {{name: drop, value: "null"}}
        - {{name: flag, value: "true", forceString: true}}
      fileParameters:
        - {{name: config.text, path: files/cfg.yaml}}
"""), "apps/helm/a/files/cfg.yaml": "k: v\n"})
    model = model_of(root)
    app = model.applications[0]
    values = helm_values(model, app, app.sources[0])
    assert values.problems == []
    assert values.tree == {"list": [{"name": "a", "port": 8080}, {"name": "b"}], "with.dot": "a,b",
                           "flag": "true", "config": {"text": "k: v\n"}}
    assert values.origin(("list", 0, "port"))[1][0] == 16
    assert values.origin(("list", 1, "name"))[1][0] == 13


def test_nulled_keys_keep_where_the_null_was(web):
    model, app, src = web
    values = helm_values(model, app, src)
    assert values.nulled[("gone",)] == ("argo/apps/web-app.yaml", (20, 17))  # "gone: null" in the block scalar
    assert values.nulled[("keep",)][0] == "apps/helm/web/values.yaml"


# --- delivery ----------------------------------------------------------------------------------------

MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"


def _delivery_repo(tmp_path: Path, directory: str = "") -> Path:
    return _repo(tmp_path, {
        "argo/apps/plain-app.yaml": _app("plain", f"""\
  source:
    repoURL: {REPO}
    path: apps/manifests/plain
{directory}"""),
        "argo/apps/kust-app.yaml": _app("kust", f"""\
  source:
    repoURL: {REPO}
    path: apps/manifests/kust/overlay
"""),
        "argo/apps/chart-app.yaml": _app("chart", f"""\
  source:
    repoURL: {REPO}
    path: apps/helm/chart
    helm: {{valueFiles: [values-prod.yaml]}}
"""),
        "apps/manifests/plain/a.yaml": MANIFEST % "a",
        "apps/manifests/plain/sub/b.yaml": MANIFEST % "b",
        "apps/manifests/plain/notes.txt": "not a manifest\n",
        "apps/manifests/kust/base/kustomization.yaml": "resources: [cm.yaml]\ncommonLabels: {team: x}\n",
        "apps/manifests/kust/base/cm.yaml": MANIFEST % "base",
        "apps/manifests/kust/base/unused.yaml": MANIFEST % "unused",
        "apps/manifests/kust/overlay/kustomization.yaml": (
            "namespace: kust\nnamePrefix: p-\nresources: [../base]\n"
            "patches: [{path: patch.yaml}, legacy.yaml]\npatchesStrategicMerge: [smp.yaml]\n"
            "patchesJson6902: [{path: json.yaml, target: {kind: ConfigMap, name: base}}]\n"
            "configMapGenerator: [{name: g, files: [conf=settings.conf]}]\n"),
        "apps/manifests/kust/overlay/patch.yaml": MANIFEST % "base",
        "apps/manifests/kust/overlay/legacy.yaml": MANIFEST % "base",
        "apps/manifests/kust/overlay/smp.yaml": MANIFEST % "base",
        "apps/manifests/kust/overlay/json.yaml": "- {op: remove, path: /data}\n",
        "apps/manifests/kust/overlay/settings.conf": "a=b\n",
        "apps/helm/chart/Chart.yaml": "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
        "apps/helm/chart/values.yaml": "a: 1\n",
        "apps/helm/chart/values-prod.yaml": "a: 2\n",
    })


def _source(model, name):
    app = next(a for a in model.applications if a.name == name)
    return app, app.sources[0]


def test_plain_directory_source_reads_its_top_level_only(tmp_path):
    from gitops_kit.model.delivery import delivered_files, deliveries, source_delivery

    model = model_of(_delivery_repo(tmp_path))
    app, src = _source(model, "plain")
    assert source_delivery(model, app, src).kind == "directory"
    assert delivered_files(model, app, src) == {"apps/manifests/plain/a.yaml"}
    assert deliveries(model, "apps/manifests/plain/sub/b.yaml") == []


def test_recursing_directory_source_reads_subdirectories(tmp_path):
    from gitops_kit.model.delivery import delivered_files, deliveries

    model = model_of(_delivery_repo(tmp_path, "    directory: {recurse: true, exclude: 'sub/x*'}\n"))
    app, src = _source(model, "plain")
    assert delivered_files(model, app, src) == {"apps/manifests/plain/a.yaml", "apps/manifests/plain/sub/b.yaml"}
    assert [d.app.name for d in deliveries(model, "apps/manifests/plain/sub/b.yaml")] == ["plain"]


def test_kustomize_source_reads_what_its_kustomizations_name(tmp_path):
    from gitops_kit.model.delivery import delivered_files, source_delivery

    model = model_of(_delivery_repo(tmp_path))
    app, src = _source(model, "kust")
    assert source_delivery(model, app, src).kind == "kustomize"
    overlay = "apps/manifests/kust/overlay/"
    assert delivered_files(model, app, src) == {
        overlay + "kustomization.yaml", overlay + "patch.yaml", overlay + "legacy.yaml", overlay + "smp.yaml",
        overlay + "json.yaml", overlay + "settings.conf",
        "apps/manifests/kust/base/kustomization.yaml", "apps/manifests/kust/base/cm.yaml"}


def test_patches_are_marked_and_kustomize_effects_are_known(tmp_path):
    from gitops_kit.model import kustomize

    model = model_of(_delivery_repo(tmp_path))
    patched = {o.path.rsplit("/", 1)[1] for o in model.objects if o.patch}
    assert patched == {"patch.yaml", "legacy.yaml", "smp.yaml"}
    effect = kustomize.effective(model, "apps/manifests/kust/base/cm.yaml")
    assert (effect.namespace, effect.name_prefix, effect.selector_labels) == ("kust", "p-", {"team": "x"})
    assert effect.kustomizations == ("apps/manifests/kust/base/kustomization.yaml",
                                     "apps/manifests/kust/overlay/kustomization.yaml")


def test_chart_directory_source_reads_its_chart_and_value_files(tmp_path):
    from gitops_kit.model.delivery import delivered_files, source_delivery

    model = model_of(_delivery_repo(tmp_path))
    app, src = _source(model, "chart")
    assert source_delivery(model, app, src).kind == "helm"
    assert delivered_files(model, app, src) == {
        "apps/helm/chart/Chart.yaml", "apps/helm/chart/values.yaml", "apps/helm/chart/values-prod.yaml"}


def test_parent_of_an_application_is_any_app_of_apps(tmp_path):
    from gitops_kit.model.ownership import parents

    root = _repo(tmp_path, {
        "argo/apps/team-app.yaml": _app("team", f"  source: {{repoURL: {REPO}, path: teams/one}}\n"),
        "teams/one/child-app.yaml": _app("child", "  source: {repoURL: https://charts.example.com, chart: c}\n"),
        "teams/two/orphan-app.yaml": _app("orphan", "  source: {repoURL: https://charts.example.com, chart: c}\n"),
    })
    model = model_of(root)
    by_name = {a.name: a for a in model.applications}
    assert [p.name for p in parents(model, by_name["child"])] == ["team"]
    assert parents(model, by_name["orphan"]) == []


# --- the parse cache's one decision -----------------------------------------------------------------

def test_cache_filter_is_the_one_decision(tmp_path):
    from gitops_kit.cache_policy import cache_filter

    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2hunter2}\n"
    root = _repo(tmp_path, {"a/secret.yaml": secret, "a/plain.yaml": MANIFEST % "p", "b/other.yaml": secret})
    model = model_of(root)
    files = model.files
    model.cache_fresh = set(files)
    # the rule did not run: nothing vouches for a file that may hold a secret
    keep = cache_filter(model, None, None)
    assert keep("a/plain.yaml", files["a/plain.yaml"]) and not keep("a/secret.yaml", files["a/secret.yaml"])
    # the rule ran: its findings are never cached; outside the focus, the scan decides
    model.focus = frozenset({"a/secret.yaml", "a/plain.yaml"})
    scanned = []
    keep = cache_filter(model, {"a/secret.yaml"}, lambda rel, sf: scanned.append(rel) or ["hit"])
    assert not keep("a/secret.yaml", files["a/secret.yaml"])
    assert keep("a/plain.yaml", files["a/plain.yaml"])
    assert not keep("b/other.yaml", files["b/other.yaml"]) and scanned == ["b/other.yaml"]
    # a file that came from the cache was vetted when it was written
    model.cache_fresh = set()
    keep = cache_filter(model, {"a/secret.yaml"}, lambda rel, sf: ["hit"])
    assert keep("b/other.yaml", files["b/other.yaml"])
