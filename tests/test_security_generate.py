"""Security of the write side (init, new-app, --write-baseline): the repository is untrusted input.

Nothing a blueprint, a committed symlink or `.gitops-kit.yaml` says may make gitops-kit write outside
the repository; a full disk is one clear message and exit 2; a run killed mid-write leaves only
temporary files git ignores, and the next write removes stale ones.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from generate_helpers import CHART, run, snapshot
from gitops_kit import safepaths
from gitops_kit.generate import plan as plan_mod, writer

NEW_APP = ["new-app", "wiki", "--layer", "apps", *CHART]

# The name renders to a harmless file the first time and to ``cookiecutter.evil`` (a path outside the
# repository) every later time: a path check that renders names separately from the real render
# approves one path while another is written.
SIDE_EFFECT_NAME = ("{{ 'ok.yaml' if (cookiecutter.calls.append(1) or cookiecutter.calls)|length == 1 "
                    "else cookiecutter.evil }}")
APP_BODY = "name: {{ cookiecutter.name }}\n"


def tree(path: Path) -> dict[str, str | None]:
    """Every entry below ``path`` (not following links): file digests, link targets, None for dirs."""
    out: dict[str, str | None] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath, name)
            rel = p.relative_to(path).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = None
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() + f":{os.stat(p).st_mode & 0o7777:o}"
    return out


def blueprint(root: Path, files: dict[str, str], **context) -> Path:
    """A user blueprint at ``root/bp``: ``files`` below its template directory."""
    bp = root / "bp"
    template = bp / "{{cookiecutter.repository}}"
    template.mkdir(parents=True)
    (bp / "cookiecutter.json").write_text(json.dumps({"repository": ".", "name": "x", **context}))
    for rel, text in files.items():
        (template / rel).parent.mkdir(parents=True, exist_ok=True)
        (template / rel).write_text(text)
    return bp


# --- item 1: untrusted blueprints --------------------------------------------------------------

@pytest.mark.parametrize("trusted", [False, True])
def test_a_file_name_rendering_differently_the_second_time_never_writes_outside(repo, tmp_path, capsys, trusted):
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = outside / "pwned.sh"
    bp = blueprint(tmp_path, {f"argo/apps/{SIDE_EFFECT_NAME}": "#!/bin/sh\necho owned\n",
                              "argo/apps/{{cookiecutter.name}}-app.yaml": APP_BODY},
                   calls=[], evil="../" * 40 + str(evil).lstrip("/"))  # from any render directory
    os.chmod(next((bp / "{{cookiecutter.repository}}" / "argo/apps").glob("*append*")), 0o755)
    before_parent = tree(tmp_path)
    before_repo = snapshot(repo)
    argv = [*NEW_APP, "--repo", repo, "--blueprint", bp] + (["--trust-blueprint"] if trusted else [])
    code, out, err = run(capsys, *argv)
    assert not evil.exists()
    after = tree(tmp_path)
    if trusted:
        # Rendered once: the name the path check sees is the name written.
        assert (repo / "argo/apps/ok.yaml").is_file(), out + err
        changed = {k for k in set(after) | set(before_parent) if after.get(k) != before_parent.get(k)}
        assert changed and all(k.startswith("repo/") for k in changed), changed
    else:
        # The immutable sandbox refuses the list mutation itself.
        assert code == 2 and "cannot render blueprint" in err, out + err
        assert after == before_parent
        assert snapshot(repo) == before_repo


def test_a_project_directory_rendering_to_an_absolute_path_writes_nothing_there(repo, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    bp = blueprint(tmp_path, {"argo/apps/{{cookiecutter.name}}-app.yaml": APP_BODY})
    ctx = json.loads((bp / "cookiecutter.json").read_text())
    (bp / "cookiecutter.json").write_text(json.dumps({**ctx, "repository": str(outside)}))
    before = tree(tmp_path)
    code, out, err = run(capsys, *NEW_APP, "--repo", repo, "--blueprint", bp)
    assert code == 2, out + err
    assert tree(tmp_path) == before


@pytest.mark.parametrize("trusted", [False, True])
def test_a_blueprint_symlink_to_a_file_outside_is_refused_by_name(repo, tmp_path, capsys, trusted):
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY----- TOPSECRET\n")
    bp = blueprint(tmp_path, {"argo/apps/{{cookiecutter.name}}-app.yaml": APP_BODY})
    (bp / "{{cookiecutter.repository}}" / "argo/apps/leak.yaml").symlink_to(secret)
    before = snapshot(repo)
    argv = [*NEW_APP, "--repo", repo, "--blueprint", bp] + (["--trust-blueprint"] if trusted else [])
    code, out, err = run(capsys, *argv)
    assert code == 2, out + err
    assert "leak.yaml" in err and "symlink" in err
    assert snapshot(repo) == before
    assert not any(b"TOPSECRET" in v[0] for v in snapshot(repo).values() if v)


def test_a_symlink_inside_a_trusted_blueprint_that_stays_inside_is_allowed(repo, tmp_path, capsys):
    bp = blueprint(tmp_path, {"argo/apps/{{cookiecutter.name}}-app.yaml": APP_BODY, "shared/notes.yaml": "a: 1\n"})
    (bp / "{{cookiecutter.repository}}" / "argo/apps/notes.yaml").symlink_to("../../shared/notes.yaml")
    code, out, err = run(capsys, *NEW_APP, "--repo", repo, "--blueprint", bp, "--trust-blueprint")
    assert code in (0, 1), out + err
    assert (repo / "argo/apps/notes.yaml").read_text() == "a: 1\n"
    assert not (repo / "argo/apps/notes.yaml").is_symlink()


def test_a_symlink_inside_an_untrusted_blueprint_is_refused_even_when_it_stays_inside(repo, tmp_path, capsys):
    bp = blueprint(tmp_path, {"argo/apps/{{cookiecutter.name}}-app.yaml": APP_BODY, "shared/notes.yaml": "a: 1\n"})
    (bp / "{{cookiecutter.repository}}" / "argo/apps/notes.yaml").symlink_to("../../shared/notes.yaml")
    code, _, err = run(capsys, *NEW_APP, "--repo", repo, "--blueprint", bp)
    assert code == 2 and "notes.yaml" in err and "symlink" in err


def test_a_blueprint_cannot_write_into_dot_git(repo, tmp_path, capsys):
    """A file in .git/hooks would be a program git runs later: not a repository file."""
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    bp = blueprint(tmp_path, {"argo/apps/{{cookiecutter.name}}-app.yaml": APP_BODY,
                              ".git/hooks/post-checkout": "#!/bin/sh\necho owned\n"})
    before = tree(repo / ".git")
    code, out, err = run(capsys, *NEW_APP, "--repo", repo, "--blueprint", bp)
    assert code == 2 and ".git" in err, out + err
    assert tree(repo / ".git") == before


# --- item 3: new-app and init never write outside the repository ----------------------------------

def _move_out(repo: Path, rel: str, outside: Path) -> None:
    """Replace ``repo/rel`` by a symlink to ``outside`` holding its former contents."""
    shutil.move(str(repo / rel), str(outside))
    (repo / rel).symlink_to(outside, target_is_directory=True)


@pytest.mark.parametrize("dry_run", [False, True])
def test_new_app_does_not_write_through_a_symlinked_bundle_directory(repo, tmp_path, capsys, dry_run):
    outside = tmp_path / "elsewhere"
    _move_out(repo, "apps/helm", outside)
    before_out, before_repo = tree(outside), tree(repo)
    code, out, err = run(capsys, *NEW_APP, "--repo", repo, *(["--dry-run"] if dry_run else []))
    assert code == 2, out + err
    assert "apps/helm" in err and "outside the repository" in err
    assert tree(outside) == before_out
    assert tree(repo) == before_repo


@pytest.mark.parametrize("dry_run", [False, True])
def test_init_force_does_not_overwrite_through_a_symlinked_bundle_directory(tmp_path, capsys, dry_run):
    from gitops_kit.cli import main

    target = tmp_path / "gitops"
    assert main(["init", str(target)]) == 0
    outside = tmp_path / "elsewhere"
    _move_out(target, "apps/helm", outside)
    (outside / ".gitkeep").write_text("mine\n")
    before_out, before_target = tree(outside), tree(target)
    code, out, err = run(capsys, "init", target, "--force", *(["--dry-run"] if dry_run else []))
    assert code == 2, out + err
    assert "apps/helm" in err
    assert tree(outside) == before_out
    assert tree(target) == before_target


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("key", ["helm_dir", "manifests_dir"])
def test_a_bundle_directory_outside_the_repository_is_refused_on_the_write_side(
        repo, tmp_path, capsys, monkeypatch, dry_run, key):
    """Defence in depth: even when configuration loading lets `../outside` through."""
    real_load = plan_mod.config_mod.load

    def load(root, *args, **kwargs):
        cfg = real_load(root, *args, **kwargs)
        cfg.data = {**cfg.data, "bundles": {**cfg.data["bundles"], key: "../outside"}}
        return cfg

    monkeypatch.setattr(plan_mod.config_mod, "load", load)
    before = tree(tmp_path)
    code, out, err = run(capsys, *NEW_APP, "--repo", repo, *(["--dry-run"] if dry_run else []))
    assert code == 2, out + err
    assert "outside the repository" in err
    assert tree(tmp_path) == before


def test_the_writer_refuses_unsafe_paths_and_writes_nothing(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    for rel in ("../escaped.yaml", "/" + str(tmp_path / "abs.yaml").lstrip("/"), "a/../../escaped.yaml"):
        with pytest.raises(safepaths.UnsafePath):
            writer.apply(root, [writer.Change("ok.yaml", b"a: 1\n"), writer.Change(rel, b"x: 1\n")])
        with pytest.raises(safepaths.UnsafePath):
            writer.check_targets(root, [writer.Change(rel, b"x: 1\n")])
    assert tree(tmp_path) == {"repo": None}


def test_new_app_dry_run_writes_nothing_at_all(repo, capsys):
    before = tree(repo)  # the cache folder and the lock file included
    code, out, err = run(capsys, *NEW_APP, "--repo", repo, "--dry-run", "--tier", "control", "--secret", "k")
    assert code == 0, out + err
    assert tree(repo) == before


# --- item 14: full disks, killed runs ------------------------------------------------------------

def _full_disk(monkeypatch) -> None:
    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)


def test_new_app_on_a_full_disk_is_one_message_and_exit_2(repo, capsys, monkeypatch):
    before = snapshot(repo)
    _full_disk(monkeypatch)
    code, out, err = run(capsys, *NEW_APP, "--repo", repo)
    assert code == 2
    assert "No space left on device" in err and str(repo) in err
    assert "Traceback" not in err
    assert snapshot(repo) == before
    assert not (repo / writer.LOCK_NAME).exists()


def test_init_on_a_full_disk_is_one_message_and_exit_2(tmp_path, capsys, monkeypatch):
    _full_disk(monkeypatch)
    code, out, err = run(capsys, "init", tmp_path / "a" / "gitops")
    assert code == 2
    assert "No space left on device" in err and str(tmp_path / "a" / "gitops") in err
    assert list(tmp_path.iterdir()) == []


def test_write_baseline_on_a_full_disk_is_one_message_and_exit_2(repo, capsys, monkeypatch):
    target = repo / ".gitops-kit-baseline.json"
    _full_disk(monkeypatch)
    code, out, err = run(capsys, "lint", repo, "--no-cache", "--write-baseline", target)
    assert code == 2
    assert "No space left on device" in err and str(target) in err
    assert not target.exists()
    assert not [p for p in repo.rglob("*.tmp")]


def test_write_baseline_does_not_write_through_a_symlinked_directory(repo, tmp_path, capsys):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (repo / "ci").symlink_to(outside, target_is_directory=True)
    code, out, err = run(capsys, "lint", repo, "--no-cache", "--write-baseline", repo / "ci" / "baseline.json")
    assert code == 2 and "outside the repository" in err, out + err
    assert list(outside.iterdir()) == []


def _git_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def _spy_temp_files(monkeypatch, root: Path) -> list[tuple[str, int, str]]:
    """On every rename of a temporary file: (its path, `git check-ignore` status, `git status` of it).

    That moment is where SIGKILL would leave the file behind."""
    seen: list[tuple[str, int, str]] = []
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        src = os.fspath(src)
        if os.path.basename(src).startswith(safepaths.TEMP_PREFIX):
            ignored = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", src]).returncode
            status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
                                    capture_output=True, text=True).stdout
            seen.append((src, ignored, status))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return seen


def test_new_app_temporary_files_are_ignored_by_git(repo, capsys, monkeypatch):
    _git_repo(repo)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    seen = _spy_temp_files(monkeypatch, repo)
    code, out, err = run(capsys, *NEW_APP, "--repo", repo, "--tier", "control")
    assert code == 0, out + err
    written = int(re.search(r"wrote (\d+) file", out).group(1))
    assert written >= 5 and len(seen) == written  # the edit of .gitops-kit.yaml included
    for src, ignored, status in seen:
        assert ignored == 0, src
        assert safepaths.TEMP_PREFIX not in status, status


def test_write_baseline_temporary_file_is_ignored_by_git(repo, capsys, monkeypatch):
    _git_repo(repo)
    seen = _spy_temp_files(monkeypatch, repo)
    code, out, err = run(capsys, "lint", repo, "--no-cache", "--write-baseline", repo / ".gitops-kit-baseline.json")
    assert code == 0, out + err
    assert len(seen) == 1 and seen[0][1] == 0, seen


def test_a_killed_write_leaves_only_an_ignored_temp_file_which_a_later_write_removes(repo, capsys, monkeypatch):
    """SIGKILL between writing the temporary file and renaming it: no handler runs. Simulated by a
    rename that raises an exception the writer's own clean-up never sees (the unlink is disabled)."""
    _git_repo(repo)
    real_replace, real_unlink = os.replace, os.unlink
    left: list[str] = []

    def killed(src, dst, *a, **kw):
        left.append(os.fspath(src))
        raise KeyboardInterrupt

    def no_unlink(path, *a, **kw):
        if os.path.basename(os.fspath(path)).startswith(safepaths.TEMP_PREFIX):
            return None  # a killed process cleans nothing up
        return real_unlink(path, *a, **kw)

    monkeypatch.setattr(os, "replace", killed)
    monkeypatch.setattr(os, "unlink", no_unlink)
    code = run(capsys, *NEW_APP, "--repo", repo)[0]
    monkeypatch.setattr(os, "replace", real_replace)
    monkeypatch.setattr(os, "unlink", real_unlink)
    assert code == 2 and len(left) == 1 and os.path.exists(left[0])
    assert subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", left[0]]).returncode == 0
    porcelain = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True).stdout
    assert safepaths.TEMP_PREFIX not in porcelain

    old = time.time() - safepaths.STALE_SECONDS - 60
    os.utime(left[0], (old, old))
    code, out, err = run(capsys, *NEW_APP, "--repo", repo)
    assert code == 0, out + err
    assert not os.path.exists(left[0])


def test_write_baseline_removes_a_stale_temporary_file(repo, capsys):
    cache = repo / safepaths.CACHE_DIR
    cache.mkdir(exist_ok=True)
    (cache / ".gitignore").write_text(safepaths.IGNORE_TEXT)
    stale = cache / f"{safepaths.TEMP_PREFIX}killed{safepaths.TEMP_SUFFIX}"
    stale.write_text("half a baseline")
    old = time.time() - safepaths.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    code, out, err = run(capsys, "lint", repo, "--no-cache", "--write-baseline", repo / "baseline.json")
    assert code == 0, out + err
    assert not stale.exists()
    assert json.loads((repo / "baseline.json").read_text())["tool"] == "gitops-kit"
