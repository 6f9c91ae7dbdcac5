"""A repository's configuration and root are untrusted input (docs/security.md): paths stay in
the repository, ``crds:`` entries are read within bounds, the root search stops at git's top."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gitops_kit import config, discover, safepaths
from gitops_kit.cli import main
from gitops_kit.errors import UsageError


def _git_init(path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True)


@pytest.mark.parametrize("key,value", [
    ("bundles", {"helm_dir": "../outside"}),
    ("bundles", {"manifests_dir": "/etc"}),
    ("bundles", {"helm_dir": "apps/../../x"}),
    ("bundles", {"manifests_dir": "apps\\..\\x"}),
])
def test_bundle_dirs_must_stay_inside(tmp_path, key, value):
    import json

    (tmp_path / ".gitops-kit.yaml").write_text(f"{key}: {json.dumps(value)}\n")
    with pytest.raises(UsageError) as err:
        config.load(tmp_path)
    assert f"bundles.{next(iter(value))}" in str(err.value)
    assert ".gitops-kit.yaml:1:" in str(err.value)


@pytest.mark.parametrize("field", ["dir", "root"])
def test_layer_paths_must_stay_inside(tmp_path, field):
    layers = [{"name": "apps", "dir": "argo/apps", "root": "argo/root-apps.yaml", "wave": "0"}]
    layers[0][field] = "../../escape"
    import json

    (tmp_path / ".gitops-kit.yaml").write_text("layers: " + json.dumps(layers) + "\n")
    with pytest.raises(UsageError) as err:
        config.load(tmp_path)
    assert f"layers.0.{field}" in str(err.value) and "'..'" in str(err.value)


def test_new_app_dry_run_with_escaping_config_writes_nothing(tmp_path):
    repo = tmp_path / "repo"
    assert main(["init", str(repo)]) == 0
    (repo / ".gitops-kit.yaml").write_text("bundles: {helm_dir: ../../outside}\n")
    before = sorted(os.listdir(tmp_path))
    for dry in (["--dry-run"], []):
        assert _new_app(repo, dry) == 2
    assert sorted(os.listdir(tmp_path)) == before
    assert not (tmp_path / "outside").exists() and not (tmp_path.parent / "outside").exists()


def _new_app(repo: Path, extra: list[str]) -> int:
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        return main(["new-app", "wiki", "--layer", "apps", "--chart", "wikijs", "--chart-repo",
                     "https://charts.js.wiki", "--chart-version", "2.2.0", *extra])
    finally:
        os.chdir(cwd)


def test_config_symlink_leaving_the_repository_is_refused(tmp_path, capsys):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("rules: {layout: {enabled: false}}\n")
    repo = tmp_path / "repo"
    (repo / "argo").mkdir(parents=True)
    _git_init(repo)
    (repo / ".gitops-kit.yaml").symlink_to(outside)
    assert main(["lint", "--no-cache", str(repo)]) == 2
    assert "symlink" in capsys.readouterr().err


def test_config_inside_link_and_fifo(tmp_path, capsys):
    repo = tmp_path / "repo"
    (repo / "argo").mkdir(parents=True)
    (repo / "conf").mkdir()
    (repo / "conf" / "real.yaml").write_text("max_file_bytes: 1234\n")
    (repo / ".gitops-kit.yaml").symlink_to("conf/real.yaml")
    assert config.load(repo).max_file_bytes == 1234  # a link that stays inside is the user's layout
    (repo / ".gitops-kit.yaml").unlink()
    os.mkfifo(repo / ".gitops-kit.yaml")
    # never opened for reading without O_NONBLOCK: a FIFO would hang the run (is_file() skips it)
    assert config.load(repo).path is None


def test_huge_config_is_refused(tmp_path):
    (tmp_path / ".gitops-kit.yaml").write_text("# " + "x" * (config.MAX_CONFIG_BYTES + 10) + "\n")
    with pytest.raises(UsageError) as err:
        config.load(tmp_path)
    assert "limit" in str(err.value)


def test_root_search_stops_at_git_top_level(tmp_path):
    (tmp_path / ".gitops-kit.yaml").write_text("rules: {layout: {enabled: false}}\n")
    (tmp_path / "argo").mkdir()
    repo = tmp_path / "checkout"
    (repo / "apps").mkdir(parents=True)
    _git_init(repo)
    assert discover.find_root(repo / "apps") == repo.resolve()
    # without git, the parent's marker is still found (nothing says where the repository ends)
    plain = tmp_path / "plain" / "sub"
    plain.mkdir(parents=True)
    assert discover.find_root(plain) == tmp_path.resolve()


def _crd_repo(tmp_path: Path, entry: str) -> Path:
    repo = tmp_path / "repo"
    (repo / "argo").mkdir(parents=True, exist_ok=True)
    (repo / ".gitops-kit.yaml").write_text(f"crds: [{entry!r}]\n")
    return repo


def test_crds_entry_over_the_size_limit_is_not_read(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.truncate(50 << 20)  # sparse; the case was 3 GB (6.3 GB of memory when read whole)
    repo = _crd_repo(tmp_path, str(big))
    assert main(["lint", "--no-cache", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "max_file_bytes" in err and ".gitops-kit.yaml:1:" in err


def test_crds_entry_that_is_a_device_is_refused(tmp_path, capsys):
    repo = _crd_repo(tmp_path, "/dev/zero")
    assert main(["lint", "--no-cache", str(repo)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_crds_root_of_the_file_system_is_bounded(tmp_path, capsys):
    import time

    repo = _crd_repo(tmp_path, "/")
    start = time.monotonic()
    assert main(["lint", "--no-cache", str(repo)]) == 2
    assert time.monotonic() - start < 10
    assert "crds: '/'" in capsys.readouterr().err


def test_crds_walk_is_bounded_and_does_not_follow_links(tmp_path, capsys, monkeypatch):
    from gitops_kit import model

    crds = tmp_path / "crds"
    crds.mkdir()
    for i in range(30):
        (crds / f"f{i}.txt").write_text("")
    (crds / "loop").symlink_to(crds)  # a folder link is never walked into
    monkeypatch.setattr(model, "MAX_CRD_ENTRIES", 20)
    repo = _crd_repo(tmp_path, str(crds))
    assert main(["lint", "--no-cache", str(repo)]) == 2
    assert "more than 20" in capsys.readouterr().err
    monkeypatch.setattr(model, "MAX_CRD_ENTRIES", 100)
    assert main(["lint", "--no-cache", str(repo)]) == 1  # runs (the layout findings of a bare argo/)


def test_unreadable_crds_file_is_an_error_not_silence(tmp_path, capsys):
    crds = tmp_path / "crds"
    crds.mkdir()
    (crds / "gone.yaml").symlink_to(tmp_path / "missing.yaml")  # listed, but cannot be opened
    repo = _crd_repo(tmp_path, str(crds))
    assert main(["lint", "--no-cache", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "gone.yaml" in err and "cannot read" in err


@pytest.mark.parametrize("rel", ["../x", "/abs", "a/../../b", "", ".", "a\\b", "a\x00b", "a\nb"])
def test_rel_problem_refuses(rel):
    assert safepaths.rel_problem(rel) is not None


@pytest.mark.parametrize("rel", ["apps/helm", "./apps", "apps/", "a..b/c", "..."])
def test_rel_problem_accepts(rel):
    assert safepaths.rel_problem(rel) is None


def test_quoted_keys_in_config_are_keys(tmp_path):
    # flow style with quoted keys (JSON written as YAML) once crashed the validator
    (tmp_path / ".gitops-kit.yaml").write_text('{"max_file_bytes": 1234, "bundles": {"helm_dir": "h"}}\n')
    cfg = config.load(tmp_path)
    assert cfg.max_file_bytes == 1234 and cfg.helm_dir == "h"


def test_exclude_glob_from_config_is_linear(tmp_path):
    # the regex translation took 27 s for a 36-character name; the matcher is pattern x path
    import time

    start = time.monotonic()
    assert not discover.matches("a" * 4000 + ".yaml", ["*a*a*a*a*a*a*a*a*a*a*a*b"])
    assert discover.matches("x/" + "a" * 4000 + "b", ["*a*a*a*a*a*a*a*a*a*a*a*b"])
    assert time.monotonic() - start < 2


def test_exclude_glob_end_to_end(tmp_path):
    repo = tmp_path / "repo"
    (repo / "argo").mkdir(parents=True)
    (repo / "argo" / ("a" * 40 + ".yaml")).write_text("x: 1\n")
    (repo / ".gitops-kit.yaml").write_text('exclude: ["*a*a*a*a*a*a*a*a*a*a*a*b"]\n')
    import time

    start = time.monotonic()
    main(["lint", "--no-cache", str(repo)])
    assert time.monotonic() - start < 5


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=3000, deadline=None)
@given(pattern=st.text("ab/*?.", min_size=1, max_size=9), path=st.text("ab/.", max_size=12))
def test_linear_glob_answers_what_the_regex_answers(pattern, path):
    path = path.strip("/")
    if "//" in path:
        return
    assert discover._Glob(pattern).match(path) == bool(discover.glob_regex(pattern).match(path))
