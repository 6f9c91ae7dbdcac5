"""Property: whatever a merge request puts in the repository (Application names and namespaces,
configuration paths, a blueprint's file names), no write lands outside it.

Each example builds a repository inside a fresh sandbox folder, runs the writing commands
(``lint --fix``, ``lint --fix --diff``, ``new-app`` with and without ``--dry-run``) and compares a
listing of the whole sandbox, less the repository, before and after (docs/security.md)."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitops_kit.cli import main

# Fragments an attacker combines into a name or a path: traversal, absolute paths, separators,
# Jinja and YAML syntax, control characters.
FRAGMENTS = ["..", "../", "/", "/tmp", "./", "x", "evil", "a/../..", "\\..\\", "\n", "\t", "%2e%2e",
             "{{ '../' }}", "~", "*", ":", "#", "\x00", "quota.yaml", "..\\", "//", "-"]
hostile = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6).map("".join)

SLOW = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def listing(sandbox: Path, repo: Path) -> dict[str, tuple[int, int]]:
    """Every path below ``sandbox`` outside ``repo``, with its size and mtime (links not followed).
    The temporary folder's own times are left out: runs create and delete their work folders there."""
    out = {}
    scratch = sandbox / "t1" / "t2" / "t3"
    for folder, dirs, files in os.walk(sandbox):
        if Path(folder) == repo:
            dirs[:] = []
            continue
        for name in dirs + files:
            path = os.path.join(folder, name)
            if Path(path) == repo:
                continue
            st_ = os.lstat(path)
            out[os.path.relpath(path, sandbox)] = (0, 0) if Path(path) == scratch else (st_.st_size, st_.st_mtime_ns)
    return out


def _in(repo: Path, args: list[str]) -> int:
    return main([*args, "--repo", str(repo), "--no-input"])


@contextmanager
def _sandbox(tmp_path_factory, base_repo) -> Iterator[tuple[Path, Path]]:
    """A repository three levels down in a fresh folder, with the temporary folder three levels
    down beside it, so a path that climbs out of either lands where the listing sees it."""
    import shutil
    import tempfile

    sandbox = tmp_path_factory.mktemp("sandbox")
    scratch = sandbox / "t1" / "t2" / "t3"
    scratch.mkdir(parents=True)
    # the repository sits three levels down, so '../../..' from its folders still lands in the sandbox
    repo = sandbox / "a" / "b" / "repo"
    shutil.copytree(base_repo, repo, symlinks=True)
    (sandbox / "a" / "b" / "decoy.yaml").write_text("keep: me\n")
    previous = tempfile.tempdir
    tempfile.tempdir = str(scratch)
    try:
        yield sandbox, repo
    finally:
        tempfile.tempdir = previous


APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd-system
  annotations:
    argocd.argoproj.io/sync-wave: "10"
spec:
  project: default
  source:
    repoURL: {url}
    path: {path}
  destination:
    server: https://kubernetes.default.svc
    namespace: {namespace}
  syncPolicy:
    automated: {{prune: true, selfHeal: true}}
"""


@SLOW
@given(name=hostile, namespace=hostile)
@example(name="../../../../evil", namespace="evil")  # the case: four levels up from the render folder
@example(name="../../../evil", namespace="x\nkind: ClusterRoleBinding")
def test_hostile_application_names_never_write_outside(tmp_path_factory, base_repo, name, namespace):
    with _sandbox(tmp_path_factory, base_repo) as (sandbox, repo):
        url = _repo_url(repo)
        text = APP.format(name=json.dumps(name), url=json.dumps(url), namespace=json.dumps(namespace),
                          path=json.dumps(f"apps/manifests/{name}"))
        (repo / "argo" / "apps" / "hostile-app.yaml").write_text(text)
        before = listing(sandbox, repo)
        for extra in (["--fix", "--diff"], ["--fix"]):
            code = main(["lint", "--no-cache", str(repo), *extra])
            assert code in (0, 1, 2)
            assert listing(sandbox, repo) == before


@SLOW
@given(value=hostile, key=st.sampled_from(["helm_dir", "manifests_dir"]))
@example(value="../../outside", key="helm_dir")
def test_hostile_config_paths_never_write_outside(tmp_path_factory, base_repo, value, key):
    with _sandbox(tmp_path_factory, base_repo) as (sandbox, repo):
        (repo / ".gitops-kit.yaml").write_text(f"bundles: {{{key}: {json.dumps(value)}}}\n")
        before = listing(sandbox, repo)
        for extra in (["--dry-run"], []):
            code = _in(repo, ["new-app", "wiki", "--layer", "apps", "--chart", "wikijs", "--chart-repo",
                              "https://charts.js.wiki", "--chart-version", "2.2.0", *extra])
            assert code in (0, 1, 2)
            assert listing(sandbox, repo) == before


@SLOW
@given(fname=hostile)
@example(fname="../../../evil")
def test_hostile_blueprint_file_names_never_write_outside(tmp_path_factory, base_repo, fname):
    with _sandbox(tmp_path_factory, base_repo) as (sandbox, repo):
        blueprint = sandbox / "bp"
        project = blueprint / "{{ cookiecutter.repository }}"
        project.mkdir(parents=True)
        (blueprint / "cookiecutter.json").write_text(json.dumps({"repository": ".", "name": "x", "evil": fname}))
        (project / "{{ cookiecutter.evil }}").write_text("payload: 1\n")
        (project / "{{ cookiecutter.evil }}-{{ cookiecutter.name }}.yaml").write_text("payload: 2\n")
        before = listing(sandbox, repo)
        for extra in (["--dry-run"], []):
            code = _in(repo, ["new-app", "wiki", "--layer", "apps", "--chart", "wikijs", "--chart-repo",
                              "https://charts.js.wiki", "--chart-version", "2.2.0", "--blueprint", str(blueprint),
                              *extra])
            assert code in (0, 1, 2)
            assert listing(sandbox, repo) == before


def _repo_url(repo: Path) -> str:
    from gitops_kit import config

    return config.load(repo).repo_url or "https://git.example.com/platform/gitops.git"
