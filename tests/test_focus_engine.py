"""The focus decision is the engine's; checks skip work only through ``model.relevant``; the
two-process run is declared by the check modules; this repository's URL and ``.gitignore`` are
model facts."""

from __future__ import annotations

import ast
import os
from pathlib import Path

from helpers import PROJECT, model_of, reference_copy, reference_model

from gitops_kit import adopt, catalog, checks, engine
from gitops_kit.model.assemble import implied_repo
from gitops_kit.model.paths import gitignored

CHECKS = PROJECT / "gitops_kit" / "checks"


# --- the focus --------------------------------------------------------------------------------------

def test_relevant_answers_for_files_directories_and_the_directories_above_a_focused_path(tmp_path):
    model = reference_model(tmp_path)
    assert model.relevant("anything.yaml")  # an unfocused run
    model.focus = frozenset({"apps/manifests/awx/deployment.yaml", "argo/apps"})
    assert model.relevant("apps/manifests/awx/deployment.yaml")
    assert model.relevant("argo/apps/awx-app.yaml")  # in a focused directory
    assert model.relevant("apps/manifests/awx")  # a directory that holds a focused path
    assert model.relevant("elsewhere.yaml", "apps/manifests/awx")  # any of the paths
    assert not model.relevant("apps/manifests/netbox/deployment.yaml")
    assert not model.relevant("apps/manifests/aw")
    model.focus = frozenset({"apps/manifests/gone/x.yaml"})  # a staged deletion: the bundle's directory holds it
    assert model.relevant("apps/manifests/gone") and not model.relevant("apps/manifests/other")


def test_the_engine_reports_only_what_the_focus_covers_whatever_the_checks_yield(tmp_path):
    model = reference_model(tmp_path)
    spec = catalog.load()["automated-sync"]

    def everywhere(model, params):
        from gitops_kit.findings import Hit

        yield Hit("argo/apps/awx-app.yaml", (1, 1), "in focus")
        yield Hit("argo/apps/netbox-app.yaml", (1, 1), "elsewhere")
        yield Hit("argo/apps/netbox-app.yaml", (2, 1), "about a focused file", key="rel",
                  related=(("argo/apps/awx-app.yaml", (3, 1)),))
        yield Hit("argo/apps/netbox-app.yaml", (3, 1), "about a focused directory's file", key="dir",
                  related=(("apps/manifests", (1, 1)),))

    original = checks.get
    try:
        checks.get = lambda name: everywhere if name == spec.check else original(name)
        model.focus = frozenset({"argo/apps/awx-app.yaml"})
        focused = engine.run(model, [spec]).findings
        model.focus = None
        full = engine.run(model, [spec]).findings
    finally:
        checks.get = original
    assert [f.message for f in focused] == ["in focus", "about a focused file"]
    assert len(full) == 4


def test_a_focused_run_equals_the_full_run_in_scope_for_a_rule_that_no_longer_filters(tmp_path):
    root = reference_copy(tmp_path / "repo")
    for name in ("awx", "netbox"):
        app = root / "argo" / "apps" / f"{name}-app.yaml"
        app.write_text(app.read_text().replace("selfHeal: true", "selfHeal: false"))
    from helpers import run_lint

    full = [f for f in run_lint(root).findings if f.rule == "automated-sync"]
    assert {f.path for f in full} == {"argo/apps/awx-app.yaml", "argo/apps/netbox-app.yaml"}
    focused = [f for f in run_lint(root / "argo/apps/awx-app.yaml").findings if f.rule == "automated-sync"]
    assert focused == [f for f in full if f.path == "argo/apps/awx-app.yaml"]


def test_no_check_reads_the_focus_itself():
    """A check asks model.relevant (what it may skip); what is reported is the engine's decision."""
    for path in sorted(CHECKS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        reads = [node.lineno for node in ast.walk(tree)
                 if isinstance(node, ast.Attribute) and node.attr in ("focus", "_focus_dirs")]
        assert reads == [], f"{path.name} reads model.focus at lines {reads}"
    assert not (CHECKS / "_focus.py").exists()


# --- two cores ----------------------------------------------------------------------------------------

def test_the_engine_names_no_check():
    """What the two-process run needs to know of a check is declared by the check's module (the
    rule ids of missing-object findings are a focus rule, not a check's name)."""
    text = (PROJECT / "gitops_kit" / "engine.py").read_text(encoding="utf-8")
    for name in checks.REGISTRY:
        assert f'"{name}"' not in text or name in engine.MISSING_RULES, name


def test_shared_facts_are_built_before_the_checks_are_shared(tmp_path):
    model = reference_model(tmp_path)
    specs = catalog.load()
    jobs = [(specs[rid], {}, None) for rid in ("network-policy", "resource-quota", "node-tier")]
    assert "bundle_owners" not in model.memo
    engine._build_shared_facts(model, jobs)
    assert "bundle_owners" in model.memo
    for name in checks.REGISTRY:
        module = checks.module(name)
        assert isinstance(getattr(module, "COST", 0), int)
        assert all(callable(f) for f in getattr(module, "SHARED_FACTS", ()))
    # the checks that share the ownership index declare it (else each process would build its own)
    for name in ("network_policy", "resource_quota", "node_tier"):
        assert checks.module(name).SHARED_FACTS


# --- this repository's URL ------------------------------------------------------------------------------

_APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  destination: {{namespace: {name}, server: https://kubernetes.default.svc}}
  source: {{repoURL: {url}, path: {path}, targetRevision: {rev}}}
"""


def _unconfigured(tmp_path: Path, apps: dict[str, tuple[str, str, str]]) -> Path:
    root = tmp_path / "repo"
    (root / "argo").mkdir(parents=True)
    (root / ".gitops-kit.yaml").write_text("layers: []\n")
    for name, (url, path, rev) in apps.items():
        (root / "argo" / f"{name}.yaml").write_text(_APP.format(name=name, url=url, path=path, rev=rev))
        if path != "missing":
            (root / path).mkdir(parents=True, exist_ok=True)
            (root / path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    return root


def test_the_implied_url_is_the_one_most_existing_paths_read_and_adopt_proposes_it(tmp_path):
    root = _unconfigured(tmp_path, {
        "a": ("https://git.example.com/team/gitops.git", "apps/a", "main"),
        "b": ("git@git.example.com:team/gitops", "apps/b", "main"),
        "c": ("https://git.example.com/other/lib", "apps/c", "HEAD"),
        "d": ("https://git.example.com/team/gitops", "missing", "main"),
    })
    model = model_of(root)
    guess = implied_repo(model, "")
    assert guess.key == "git.example.com/team/gitops" and guess.revision == "main"
    assert guess.votes[guess.key] == 2 and not guess.from_remote
    assert adopt.norm_url(adopt.propose(root).repo_url.value) == guess.key


def test_the_git_remote_wins_when_a_source_reads_it(tmp_path):
    root = _unconfigured(tmp_path, {
        "a": ("https://git.example.com/team/gitops", "apps/a", "main"),
        "b": ("https://git.example.com/team/gitops", "apps/b", "main"),
        "c": ("https://git.example.com/fork/gitops", "missing", "main"),
    })
    guess = implied_repo(model_of(root), "https://user:token@git.example.com/fork/gitops.git")
    assert guess.from_remote and guess.url == "https://git.example.com/fork/gitops.git"


# --- .gitignore ---------------------------------------------------------------------------------------------

def test_gitignored_reads_the_repositorys_gitignore_files_only(tmp_path):
    root = reference_copy(tmp_path / "repo")
    (root / "apps" / "manifests" / "awx" / ".gitignore").write_text("# generated\n*.yaml\n!keep.yaml\n")
    outside = tmp_path / "outside.gitignore"
    outside.write_text("*.yaml\n")
    os.symlink(outside, root / "apps" / "manifests" / "netbox" / ".gitignore")
    model = model_of(root)
    assert gitignored(model, "apps/manifests/awx/all.yaml")
    assert not gitignored(model, "apps/manifests/awx/keep.yaml")
    assert not gitignored(model, "apps/manifests/netbox/all.yaml")  # a link out of the repository is not read
