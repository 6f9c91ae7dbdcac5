"""gitops-kit adopt: the configuration it proposes for an existing repository (issue 17)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from gitops_kit import adopt, config as config_mod
from gitops_kit.cli import main
from gitops_kit.yamlio import load_text, plain

from helpers import REFERENCE, reference_copy, run_lint

REF_URL = "https://gitlab.example.com/platform/gitops.git"


def _proposed(text: str) -> dict:
    return plain(load_text(text).documents[0].data, str_keys=True)


@pytest.fixture(scope="module")
def reference_proposal() -> tuple[str, adopt.Proposal]:
    text, proposal, _, _ = adopt.proposal_text(REFERENCE, with_counts=False)
    return text, proposal


def test_reference_proposal_is_the_shipped_defaults(reference_proposal):
    text, _ = reference_proposal
    got = _proposed(text)
    shipped = config_mod.defaults().data
    assert got["argocd_namespace"] == shipped["argocd_namespace"]
    assert got["tier_label"] == shipped["tier_label"]
    assert got["tiers"] == shipped["tiers"]
    # shipped repo.url null means "root-bootstrap's repoURL"; the reference's file names it
    assert got["repo"] == {"url": REF_URL, "branch": shipped["repo"]["branch"]}
    assert len(got["layers"]) == len(shipped["layers"])
    for mine, theirs in zip(got["layers"], shipped["layers"]):
        for key in ("name", "dir", "root", "wave", "child_waves", "tier", "owns_namespaces"):
            assert mine[key] == theirs[key], (mine["name"], key)
        ns, want = mine["namespace"], theirs["namespace"]
        assert set(ns["suffixes"]) == set(want["suffixes"]), mine["name"]
        assert set(ns["forbid_suffixes"]) == set(want["forbid_suffixes"]), mine["name"]
        assert set(ns["allow"]) <= set(want["allow"]), mine["name"]


def test_reference_proposal_lints_like_its_configuration(tmp_path, reference_proposal):
    text, _ = reference_proposal
    root = reference_copy(tmp_path / "ref")
    shipped = run_lint(root, use_cache=False)
    (root / ".gitops-kit.yaml").write_text(text)
    proposed = run_lint(root, use_cache=False)
    assert sorted(f.fingerprint for f in proposed.findings) == sorted(f.fingerprint for f in shipped.findings)
    assert proposed.rules_run == shipped.rules_run


def test_reference_without_configuration_needs_none(tmp_path):
    """With no .gitops-kit.yaml at all, what adopt infers (tiers, node agents) gives no finding."""
    root = reference_copy(tmp_path / "ref")
    (root / ".gitops-kit.yaml").unlink()
    text, proposal, before, after = adopt.proposal_text(root)
    assert after is not None and after.failure is None and after.total == 0, text
    assert before is not None and before.failure is None
    assert {"promtail", "traefik", "metallb", "longhorn"} <= set(proposal.daemonsets)
    assert proposal.app_tiers == {"kube-prometheus-stack": "worker", "loki": "worker"}


def test_reference_conventions_stay_on(reference_proposal):
    """The reference follows every convention: adopt turns no rule off and changes no parameter."""
    assert "rules" not in _proposed(reference_proposal[0])


def test_automated_sync_requires_what_most_apps_set(tmp_path):
    root = _homelab(tmp_path)
    for rel in ("clusters/apps/grafana.yaml", "clusters/apps/paperless.yaml", "clusters/infra/cert-manager.yaml"):
        path = root / rel
        path.write_text(path.read_text() + "  syncPolicy: {automated: {prune: true}}\n")
    got = _proposed(adopt.proposal_text(root, with_counts=False)[0])
    # the two parents sync by hand: the convention is an opinion here, a warning
    assert got["rules"]["automated-sync"] == {"params": {"require": ["prune"]}, "severity": "warning"}


def test_automated_sync_followed_by_all_but_one_is_a_warning(tmp_path):
    """Most Applications heal and prune, one does not (a demo synced by hand): the requirement
    stays, as a warning; when every Application follows it, the rule stays as shipped."""
    root = _homelab(tmp_path)
    files = sorted((root / "clusters").rglob("*.yaml"))
    for path in files:
        path.write_text(path.read_text() + "  syncPolicy: {automated: {prune: true, selfHeal: true}}\n")
    assert "automated-sync" not in _proposed(adopt.proposal_text(root, with_counts=False)[0]).get("rules", {})
    files[0].write_text(files[0].read_text().replace("selfHeal: true", "selfHeal: false"))
    got = _proposed(adopt.proposal_text(root, with_counts=False)[0])
    assert got["rules"]["automated-sync"] == {"severity": "warning"}


def test_every_key_says_what_it_saw(reference_proposal):
    text, _ = reference_proposal
    assert "# 28 of 28 Applications are in namespace argocd-system\nargocd_namespace: argocd-system" in text
    assert "# 34 of 34 sources whose path exists here read this URL\n  url: " in text
    assert "'root-platform' (argo/root-platform.yaml) deploys 9 Applications of argo/platform/" in text


# --- a stranger's repository ----------------------------------------------------------------------

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
spec:
  project: default
  destination: {{server: https://kubernetes.default.svc, namespace: {dest}}}
  source:
    repoURL: {url}
    targetRevision: HEAD
    path: {path}
"""
URL = "https://github.com/someone/homelab"


def _homelab(root: Path) -> Path:
    """An app-of-apps in clusters/ (not argo/root-*.yaml), Applications in argocd, a kustomize
    parent, nodeSelectors on one label, no namespace suffix convention."""
    files = {
        "clusters/root.yaml": APP.format(name="root", ns="argocd", dest="argocd", url=URL + ".git",
                                         path="clusters/apps"),
        "clusters/apps/kustomization.yaml": "resources: [grafana.yaml, paperless.yaml, infra.yaml]\n",
        "clusters/apps/grafana.yaml": APP.format(name="grafana", ns="argocd", dest="monitoring", url=URL,
                                                 path="apps/grafana"),
        "clusters/apps/paperless.yaml": APP.format(name="paperless", ns="argocd", dest="paperless", url=URL,
                                                   path="apps/paperless"),
        "clusters/apps/infra.yaml": APP.format(name="infra", ns="argocd", dest="argocd", url=URL,
                                               path="clusters/infra"),
        "clusters/infra/cert-manager.yaml": APP.format(name="cert-manager", ns="argocd", dest="cert-manager",
                                                       url=URL, path="apps/cert-manager"),
        "apps/grafana/deploy.yaml": _deploy("grafana", "big"),
        "apps/paperless/deploy.yaml": _deploy("paperless", "big"),
        "apps/cert-manager/deploy.yaml": _deploy("cert-manager", "small"),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git = root / ".git"
    git.mkdir()
    (git / "HEAD").write_text("ref: refs/heads/trunk\n")
    (git / "config").write_text(textwrap.dedent("""\
        [core]
        \tbare = false
        [remote "origin"]
        \turl = https://someone:ghp_SECRETTOKEN@github.com/someone/homelab.git
        \tfetch = +refs/heads/*:refs/remotes/origin/*
        [branch "trunk"]
        \tremote = origin
        \tmerge = refs/heads/trunk
        """))
    return root


def _deploy(name: str, size: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: {name}}}
        spec:
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec:
              nodeSelector: {{node.example/size: {size}, kubernetes.io/os: linux}}
              containers: [{{name: main, image: "nginx:1.27.0"}}]
        """)


def test_stranger_repository(tmp_path):
    root = _homelab(tmp_path)
    text, p, before, after = adopt.proposal_text(root)
    got = _proposed(text)
    assert got["argocd_namespace"] == "argocd"
    assert got["repo"] == {"url": URL, "branch": "trunk"}  # the spelling most sources use
    assert "SECRETTOKEN" not in text and "someone:" not in text
    assert got["tier_label"] == "node.example/size" and got["tiers"] == ["big", "small"]
    layers = {layer["name"]: layer for layer in got["layers"]}
    assert set(layers) == {"apps", "infra"}
    assert layers["apps"]["dir"] == "clusters/apps" and layers["apps"]["root"] == "clusters/root.yaml"
    assert layers["infra"]["root"] == "clusters/apps/infra.yaml"
    assert [layer["name"] for layer in got["layers"]] == ["apps", "infra"]  # tree order
    assert layers["apps"]["tier"] == "big" and layers["infra"]["tier"] == "small"
    assert layers["apps"]["namespace"]["suffixes"] == []  # monitoring, paperless: no convention
    assert all(v is None for v in got["apps"].values())  # the seed's app settings dropped
    # none of its Applications syncs automatically, and no child has a sync wave: the seed's
    # conventions on both are not this repository's
    assert got["rules"]["automated-sync"] == {"enabled": False}
    assert got["rules"]["app-health-check"] == {"enabled": False}
    assert "# 0 of 5 Applications sync automatically" in text
    assert before.failure is None and after.failure is None, (before, after)
    assert after.total < before.total, (before, after)
    cfg_path = tmp_path / "proposal.yaml"
    cfg_path.write_text(text)
    config_mod.load(root, cfg_path)  # the proposal is a valid configuration


def test_no_app_of_apps_means_no_layers(tmp_path):
    (tmp_path / "a.yaml").write_text(APP.format(name="a", ns="openshift-gitops", dest="a", url=URL, path="x"))
    (tmp_path / "b.yaml").write_text(APP.format(name="b", ns="openshift-gitops", dest="b", url=URL, path="x"))
    (tmp_path / "x").mkdir()
    got = _proposed(adopt.proposal_text(tmp_path, with_counts=False)[0])
    assert got["layers"] == []
    assert got["argocd_namespace"] == "openshift-gitops"
    assert "tier_label" not in got


def test_git_is_read_as_text_only_from_a_real_directory(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "config").write_text('[remote "origin"]\n\turl = https://evil.example/x\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    os.symlink(outside, repo / ".git")
    assert adopt.read_git(repo) == (None, None, None)
    (repo / ".git").unlink()
    (repo / ".git").write_text(f"gitdir: {outside}\n")  # a worktree's pointer: not followed
    assert adopt.read_git(repo) == (None, None, None)


@pytest.mark.parametrize(("url", "clean"), [
    ("https://user:tok@github.com/a/b.git", "https://github.com/a/b.git"),
    ("ssh://git@github.com/a/b.git", "ssh://github.com/a/b.git"),
    ("git@github.com:a/b.git", "git@github.com:a/b.git"),
])
def test_strip_credentials(url, clean):
    assert adopt.strip_credentials(url) == clean


def test_norm_url_matches_spellings():
    assert adopt.norm_url("git@github.com:A/b.git") == adopt.norm_url("https://github.com/a/b/")


# --- the command ----------------------------------------------------------------------------------

def test_cli_prints_writes_and_refuses_to_overwrite(tmp_path, capsys):
    root = _homelab(tmp_path)
    assert main(["adopt", str(root), "--no-lint"]) == 0
    printed = capsys.readouterr().out
    assert "argocd_namespace: argocd" in printed
    assert not (root / ".gitops-kit.yaml").exists()  # printing writes nothing
    assert main(["adopt", str(root), "--write"]) == 0
    out = capsys.readouterr()
    written = (root / ".gitops-kit.yaml").read_text()
    assert "# lint with this proposal:" in written and "lint:" in out.err
    (root / ".gitops-kit.yaml").write_text("# mine\n")
    assert main(["adopt", str(root), "--write", "--no-lint"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (root / ".gitops-kit.yaml").read_text() == "# mine\n"
    assert main(["adopt", str(root), "--write", "--force", "--no-lint"]) == 0
    assert (root / ".gitops-kit.yaml").read_text().startswith("# .gitops-kit.yaml proposed")
    assert not list(root.glob(".gitops-kit.yaml.*"))  # no temporary file left beside it
    report = run_lint(root, use_cache=False)  # the written file loads and every rule runs on it
    assert report.crashed == () and not [f for f in report.findings if f.path == ".gitops-kit.yaml"]


def test_cli_force_needs_write(tmp_path, capsys):
    assert main(["adopt", str(tmp_path), "--force"]) == 2


def test_write_refuses_a_symlinked_configuration(tmp_path):
    root = _homelab(_mk(tmp_path / "repo"))
    target = tmp_path / "outside.yaml"
    target.write_text("x: 1\n")
    os.symlink(target, root / ".gitops-kit.yaml")
    assert main(["adopt", str(root), "--write", "--force", "--no-lint"]) == 2
    assert target.read_text() == "x: 1\n"


def _mk(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def test_existing_configuration_keys_are_kept(tmp_path):
    root = _homelab(tmp_path)
    (root / ".gitops-kit.yaml").write_text(textwrap.dedent("""\
        rules:
          image-pin: {severity: warning}
        apps:
          grafana: {after: [cert-manager]}
        """))
    got = _proposed(adopt.proposal_text(root, with_counts=False)[0])
    assert got["rules"]["image-pin"] == {"severity": "warning"}
    assert got["apps"]["grafana"]["after"] == ["cert-manager"]


def test_layout_sub_checks_the_repository_does_not_follow_are_off(tmp_path):
    """Each layout sub-check is a rule parameter: adopt turns off those this repository's shape
    does not follow (child files not in <name>-app.yaml, Applications applied by hand), keeps the
    others on, and the proposal lints without the findings of the conventions it turned off."""
    root = _homelab(tmp_path)
    (root / "clusters/loose.yaml").write_text(APP.format(name="loose", ns="argocd", dest="x", url=URL, path="apps"))
    text, _, before, after = adopt.proposal_text(root)
    got = _proposed(text)
    # no child is in <name>-app.yaml; 'loose' is applied by hand; the layers have roots
    assert got["rules"]["layout"] == {"params": {"file_names": False, "placement": False}}
    assert "child Applications are in <name>-app.yaml" in text
    declared = adopt._declared("layout")
    assert set(got["rules"]["layout"]["params"]) <= set(declared)  # never a parameter the rule lacks
    (root / ".gitops-kit.yaml").write_text(text)
    messages = [f.message for f in run_lint(root, use_cache=False).findings if f.rule == "layout"]
    assert not [m for m in messages if "-app.yaml" in m or "no root deploys it" in m], messages
    assert after.total < before.total, (before, after)