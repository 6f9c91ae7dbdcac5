"""Issue 20, the layouts teams already use: argocd-vault-plugin sidecars that take directories by
``discover`` (avp-placeholder), charts of the repository itself (helm-pattern), and kustomizations
that name files nobody committed (kustomize-files)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gitops_kit import config, model
from gitops_kit.checks import _cmp, helm_pattern, kustomize_files
from gitops_kit.checks._kustomize import documents
from gitops_kit.yamlio import load_text
from helpers import PROJECT, reference_model, run_check

# --- helpers -----------------------------------------------------------------------------------------

PLUGIN = """apiVersion: v1
kind: ConfigMap
metadata: {{name: cmp-plugin, namespace: argocd-system}}
data:
{blocks}"""
PLUGIN_BLOCK = """  {name}.yaml: |
    apiVersion: argoproj.io/v1alpha1
    kind: ConfigManagementPlugin
    metadata:
      name: {name}
    spec:
      discover:
        {discover}
      generate:
        command: [sh, -c, "{command}"]
"""
AVP = "cat ./*.yaml | argocd-vault-plugin generate -"
SECRET = """apiVersion: v1
kind: Secret
metadata: {name: netbox-smtp, namespace: netbox}
stringData:
  password: <path:kv/data/argocd/apps/helm/netbox#smtp_password>
"""


def plugins(*specs: tuple[str, str, str]) -> str:
    """A cmp-plugin ConfigMap with one plugin per (name, discover rule, generate command)."""
    return PLUGIN.format(blocks="".join(PLUGIN_BLOCK.format(name=n, discover=d, command=c) for n, d, c in specs))


def avp_hits(tmp_path: Path, files: dict[str, str | None]) -> list:
    return [h for h in run_check(reference_model(tmp_path, files), "avp-placeholder") if h.key.endswith(":plugin")]


# --- avp-placeholder follows the discover rule -------------------------------------------------------

def test_discovered_directory_is_rendered_by_the_plugin(tmp_path):
    glob = 'find: {glob: "**/*.vault.yaml"}'
    files = {"apps/manifests/argocd/cmp-plugin.yaml": plugins(("avp-directory", glob, AVP)),
             "apps/manifests/netbox/smtp.vault.yaml": SECRET}
    assert avp_hits(tmp_path / "a", files) == []
    # the same file under a name the rule does not match: a plain directory source
    files["apps/manifests/netbox/smtp.vault.yaml"] = None
    files["apps/manifests/netbox/smtp-secret.yaml"] = SECRET
    missed = avp_hits(tmp_path / "b", files)
    assert len(missed) == 1 and "a plain directory source" in missed[0].message


def test_file_name_is_matched_at_the_top_of_the_source_only(tmp_path):
    # filepath.Glob joined to the source directory: a marker in a sub-directory takes nothing.
    # The source recurses, so that the plain directory source reads the sub-directory.
    # Part a: the source recurses (an explicit directory block), so its plain directory walk reads
    # the sub-directory; part b: no block, so discovery runs and the top-level marker matches.
    original = (PROJECT / "examples/reference/argo/apps/netbox-app.yaml").read_text()
    app = original.replace("      path: apps/manifests/netbox\n", "      path: apps/manifests/netbox\n"
                           "      directory: {recurse: true}\n")
    files = {"apps/manifests/argocd/cmp-plugin.yaml": plugins(("avp-directory", 'fileName: "*.vault.yaml"', AVP)),
             "apps/manifests/netbox/secrets/smtp.vault.yaml": SECRET, "argo/apps/netbox-app.yaml": app}
    assert len(avp_hits(tmp_path / "a", files)) == 1
    files["argo/apps/netbox-app.yaml"] = original
    files["apps/manifests/netbox/marker.vault.yaml"] = "# marks the directory for the plugin\n"
    assert avp_hits(tmp_path / "b", files) == []  # the whole source is rendered, sub-directories too


def test_an_explicit_block_skips_discovery(tmp_path):
    text = (PROJECT / "examples/reference/argo/apps/netbox-app.yaml").read_text()
    explicit = text.replace("      path: apps/manifests/netbox\n",
                            "      path: apps/manifests/netbox\n      directory: {recurse: true}\n")
    assert explicit != text
    files = {"apps/manifests/argocd/cmp-plugin.yaml": plugins(("avp-directory", 'find: {glob: "**/*.vault.yaml"}', AVP)),
             "apps/manifests/netbox/smtp.vault.yaml": SECRET, "argo/apps/netbox-app.yaml": explicit}
    assert len(avp_hits(tmp_path, files)) == 1


def test_the_first_plugin_by_name_takes_the_directory(tmp_path):
    glob = 'find: {glob: "**/*.vault.yaml"}'
    files = {"apps/manifests/argocd/cmp-plugin.yaml": plugins(("avp-directory", glob, AVP),
                                                              ("aaa-plain", glob, "cat ./*.yaml")),
             "apps/manifests/netbox/smtp.vault.yaml": SECRET}
    hits = avp_hits(tmp_path, files)
    assert len(hits) == 1 and "plugin 'aaa-plain'" in hits[0].message


def test_an_avp_find_command_counts_as_rendering(tmp_path):
    # the argocd-vault-plugin docs' rule: grep for placeholders; it cannot run offline
    command = "find: {command: [sh, -c, \"grep -rl '<path' .\"]}"
    files = {"apps/manifests/argocd/cmp-plugin.yaml": plugins(("avp-directory", command, AVP)),
             "apps/manifests/netbox/smtp-secret.yaml": SECRET}
    assert avp_hits(tmp_path / "a", files) == []
    files["apps/manifests/argocd/cmp-plugin.yaml"] = plugins(("plain", command, "cat ./*.yaml"))
    assert len(avp_hits(tmp_path / "b", files)) == 1  # not argocd-vault-plugin: passed over


def test_a_named_plugin_of_the_repository_that_runs_avp(tmp_path):
    text = (PROJECT / "examples/reference/argo/apps/netbox-app.yaml").read_text()
    named = text.replace("      path: apps/manifests/netbox\n",
                         "      path: apps/manifests/netbox\n      plugin: {name: vault-files}\n")
    files = {"argo/apps/netbox-app.yaml": named, "apps/manifests/netbox/smtp-secret.yaml": SECRET,
             "apps/manifests/argocd/cmp-plugin.yaml": plugins(("vault-files", 'fileName: "./*.yaml"', AVP))}
    assert avp_hits(tmp_path / "a", files) == []
    files["apps/manifests/argocd/cmp-plugin.yaml"] = plugins(("vault-files", 'fileName: "./*.yaml"', "cat ./*.yaml"))
    hits = avp_hits(tmp_path / "b", files)
    assert len(hits) == 1 and "plugin 'vault-files'" in hits[0].message


def test_a_base_the_kustomization_pulls_in_is_delivered(tmp_path):
    base = {"apps/manifests/shared-vault/kustomization.yaml": "resources: [smtp-secret.yaml]\n",
            "apps/manifests/shared-vault/smtp-secret.yaml": SECRET}
    kust = (PROJECT / "examples/reference/apps/manifests/argocd/kustomization.yaml").read_text()
    files = {**base, "apps/manifests/argocd/kustomization.yaml": kust.replace(
        "  - network-policy.yaml\n", "  - network-policy.yaml\n  - ../shared-vault\n")}
    hits = avp_hits(tmp_path / "a", files)
    # delivered by the argocd app's plain kustomize source: the literal string would be applied
    assert len(hits) == 1 and "Application 'argocd'" in hits[0].message and "a kustomize source" in hits[0].message
    assert avp_hits(tmp_path / "b", base) == []  # nothing renders it: not judged (no app owns the file)


def test_discovering_order_and_certainty(tmp_path):
    files = {"apps/manifests/argocd/cmp-plugin.yaml": plugins(
        ("b-glob", 'find: {glob: "**/namespace.yaml"}', AVP), ("a-command", "find: {command: [sh]}", AVP),
        ("c-after", 'fileName: "./namespace.yaml"', AVP))}
    repo = reference_model(tmp_path, files)
    taken = [(p.name, certain) for p, certain in _cmp.discovering(repo, "apps/manifests/netbox")]
    assert taken == [("a-command", False), ("b-glob", True)]  # c-after is never asked
    assert all(p.runs_avp for p in _cmp.plugins(repo))
    assert [(p.name, c) for p, c in _cmp.discovering(repo, "argo/apps")] == [("a-command", False)]


# --- helm-pattern: charts of this repository have no version to pin ----------------------------------

@pytest.mark.parametrize("repository,local", [(None, True), ("", True), ("  ", True), ("file://../x", True),
                                              ("FILE://./x", True), ("https://charts.example.com", False),
                                              ("oci://registry.example.com/charts", False), ("@stable", False),
                                              (5, False)])
def test_is_local_chart(repository, local):
    assert helm_pattern.is_local_chart(repository) is local


def test_local_dependencies_and_helm_charts_are_not_pinned(tmp_path):
    chart = """apiVersion: v2
name: netbox
version: 0.1.0
dependencies:
  - {name: netbox, version: 5.0.30, repository: https://charts.netbox.oss.netboxlabs.com/}
  - {name: extras, repository: "file://./extras"}
  - {name: vendored, version: ">=1.0.0"}
  - {name: floating, version: ^2.0.0, repository: https://charts.example.com}
"""
    kust = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
helmCharts:
  - {name: local-only, releaseName: a}
  - {name: unpinned, repo: https://charts.example.com, releaseName: b}
"""
    repo = reference_model(tmp_path, {"apps/helm/netbox/Chart.yaml": chart,
                                      "apps/helm/asset-mgmt/kustomization.yaml": kust})
    found = {(h.path, h.message.split("'")[1]) for h in run_check(repo, "helm-pattern")}
    assert found == {("apps/helm/netbox/Chart.yaml", "floating"), ("apps/helm/asset-mgmt/kustomization.yaml", "unpinned")}


# --- kustomize-files ---------------------------------------------------------------------------------

def refs_of(text: str) -> list[tuple[str, str]]:
    return [(r.field, r.ref) for r in kustomize_files.refs(load_text(text).documents[0].data)]


def test_refs_forms():
    text = """resources: [a.yaml, "https://example.com/x.yaml", "example.com/org/repo//d?ref=v1", "git@github.com:o/r"]
patchesStrategicMerge:
  - p.yaml
  - |-
    apiVersion: v1
    kind: ConfigMap
  - "{apiVersion: v1, kind: ConfigMap}"
patches: [{path: q.yaml}, {patch: "- op: remove"}]
configMapGenerator:
  - {name: c, files: [k=f.conf, g.conf], envs: [e.env], literals: [a=b]}
secretGenerator: [{name: s, env: s.env}]
transformers: [t.yaml, "apiVersion: builtin\\nkind: LabelTransformer"]
"""
    assert refs_of(text) == [
        ("resources entry", "a.yaml"), ("patchesStrategicMerge entry", "p.yaml"),
        ("transformers entry", "t.yaml"), ("patches[0].path", "q.yaml"),
        ("configMapGenerator[0].files entry", "f.conf"), ("configMapGenerator[0].files entry", "g.conf"),
        ("configMapGenerator[0].envs entry", "e.env"), ("secretGenerator[0].env", "s.env")]


def kf_hits(tmp_path: Path, files: dict[str, str | None]) -> list:
    return run_check(reference_model(tmp_path, files), "kustomize-files")


def test_unknowable_paths_are_not_reported(tmp_path):
    kust = """resources:
  - ../../../../outside.yaml
  - /etc/passwd
  - ../../helm/netbox/templates/not-walked.yaml
  - ../../helm/netbox/templates
  - excluded/x.yaml
"""
    cfg = (PROJECT / "examples/reference/.gitops-kit.yaml").read_text() + "exclude: [apps/manifests/cnpg/excluded]\n"
    files = {"apps/manifests/cnpg/kustomization.yaml": kust, ".gitops-kit.yaml": cfg}
    assert kf_hits(tmp_path / "a", files) == []
    files[".gitops-kit.yaml"] = None
    files["apps/manifests/cnpg/kustomization.yaml"] = kust + "  - missing.yaml\n"
    # without the exclusion both are missing; the chart's templates/ stays unknowable
    assert sorted(h.message.split("'")[1] for h in kf_hits(tmp_path / "b", files)) == ["excluded/x.yaml", "missing.yaml"]


def test_a_component_and_a_missing_chart_home_once(tmp_path):
    comp = """apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources: [gone.yaml]
helmGlobals: {chartHome: nowhere}
helmCharts: [{name: local, releaseName: local}]
"""
    files = {"apps/manifests/cnpg/parts/kustomization.yaml": comp}
    repo = reference_model(tmp_path, files)
    assert ("apps/manifests/cnpg/parts/kustomization.yaml", repo.files[
        "apps/manifests/cnpg/parts/kustomization.yaml"].documents[0].data) in documents(repo)
    hits = run_check(repo, "kustomize-files")
    # the chart under the missing chartHome is not reported again
    assert sorted((h.pos[0], h.message.split(" ")[0]) for h in hits) == [(3, "resources"), (4, "helmGlobals.chartHome")]


def test_a_directory_resource_needs_a_kustomization_and_the_root_counts(tmp_path):
    files = {"apps/manifests/cnpg/kustomization.yaml": "resources: [../netbox, ../argocd, ../../..]\n"}
    hits = kf_hits(tmp_path, files)
    # netbox is plain YAML: no kustomization; argocd has one; the repository root has none
    assert sorted(h.message.split("'")[1] for h in hits) == ["../../..", "../netbox"]
    assert all("directory without a kustomization.yaml" in h.message for h in hits)


def test_reference_is_clean_and_fast():
    root = PROJECT / "examples" / "reference"
    repo = model.build(root, config.load(root))
    start = time.perf_counter()
    for rule in ("kustomize-files", "avp-placeholder", "helm-pattern"):
        assert run_check(repo, rule) == []
    assert time.perf_counter() - start < 0.1
