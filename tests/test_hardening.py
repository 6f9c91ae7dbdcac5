"""Attacks on the linter: random documents, mutations of the reference, huge files, no network,
and failures while fixing. Each test fails if the protection it names is removed."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_kit import safepaths, yamlio
from gitops_kit.api import lint
from gitops_kit.cli import main
from helpers import REFERENCE, reference_copy

# --- random YAML documents ------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["Application", "argoproj.io/v1alpha1", "v1", "Secret",
                                                           "0", "-1", "true", "<path:kv/data/x#y>"]))
keys = st.sampled_from(["apiVersion", "kind", "metadata", "name", "namespace", "spec", "source", "sources",
                        "syncPolicy", "automated", "prune", "selfHeal", "annotations", "destination", "data",
                        "stringData", "helm", "valueFiles", "nodeSelector", "replicas", "password", "chart",
                        "targetRevision", "path", "repoURL", "template", "containers", "helmCharts", "x"])
documents = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=6)), max_leaves=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(docs=st.lists(documents, min_size=1, max_size=3))
def test_random_documents_never_crash_any_rule(tmp_path_factory, docs):
    root = tmp_path_factory.mktemp("rand")
    (root / "argo" / "apps").mkdir(parents=True)
    text = "---\n".join(yamlio.dump(d) for d in docs)
    for rel in ("argo/apps/x-app.yaml", "apps/helm/x/values.yaml", "apps/manifests/x/objects.yaml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    report = lint([str(root)])
    assert report.crashed == ()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_random_mutations_of_the_reference_never_crash(tmp_path_factory, data):
    root = reference_copy(tmp_path_factory.mktemp("mut") / "repo")
    # the configuration is not linted but validated: a broken one is exit 2, tested in test_cli
    files = sorted(p for p in root.rglob("*.yaml") if p.is_file() and p.name != ".gitops-kit.yaml")
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(files))
        lines = target.read_text().split("\n")
        i = data.draw(st.integers(0, max(0, len(lines) - 1)))
        op = data.draw(st.sampled_from(["delete", "dup", "indent", "dedent", "garble", "null"]))
        if op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip()
        elif op == "garble":
            lines[i] = lines[i].replace(":", "", 1) + data.draw(st.sampled_from([" [", " {", ": &a", " *b", "\t"]))
        else:
            lines[i] = lines[i].split(":")[0] + ": null" if ":" in lines[i] else lines[i]
        target.write_text("\n".join(lines))
    report = lint([str(root)])
    assert report.crashed == ()


# --- size, permissions, network -------------------------------------------------------------

def test_fifty_megabyte_file_is_skipped_with_a_finding(tmp_path):
    root = reference_copy(tmp_path / "repo")
    big = root / "apps" / "manifests" / "huge.yaml"
    with open(big, "wb") as fh:  # sparse: 50 MB on paper, nothing on disk
        fh.truncate(50 * 1024 * 1024)
    report = lint([str(root)])
    hits = [f for f in report.findings if f.path == "apps/manifests/huge.yaml"]
    assert hits and "limit" in hits[0].message
    assert report.files_checked > 100  # everything else was still read


def test_permission_denied_is_a_finding_not_a_crash(tmp_path, monkeypatch):
    root = reference_copy(tmp_path / "repo")
    from gitops_kit import model

    real = model.read_bytes

    def deny(path, *limit):
        if path.endswith("netbox/quota.yaml"):
            raise PermissionError(13, "Permission denied")
        return real(path, *limit)

    monkeypatch.setattr(model, "read_bytes", deny)
    report = lint([str(root)])
    hits = [f for f in report.findings if f.path == "apps/manifests/netbox/quota.yaml"]
    assert hits and "Permission denied" in hits[0].message


def test_lint_makes_no_network_calls(tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network call attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    root = reference_copy(tmp_path / "repo")
    assert main(["lint", str(root), "--format", "json"]) == 0
    assert '"error": 0' in capsys.readouterr().out


def test_same_repository_gives_the_same_output(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    (root / "dup.yaml").write_text("a: 1\na: 2\n")
    outs = []
    for _ in range(2):
        main(["lint", str(root), "--format", "json"])
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]


# --- --fix never loses data -----------------------------------------------------------------

def _broken_reference(tmp_path: Path) -> Path:
    root = reference_copy(tmp_path / "repo")
    for name in ("netbox", "awx", "filebrowser"):
        app = root / "argo" / "apps" / f"{name}-app.yaml"
        app.write_text(app.read_text().replace("selfHeal: true", "selfHeal: false"))
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fail_at", [1, 2, 3])
@pytest.mark.parametrize("phase", ["write", "rename"])
def test_fix_failure_on_the_nth_file_leaves_the_repository_byte_identical(tmp_path, monkeypatch, capsys,
                                                                          fail_at, phase):
    root = _broken_reference(tmp_path)
    # the git-ignored folder of temporary files, as an earlier run leaves it: its .gitignore is
    # written (and synced) once, which would take one of the counted calls
    assert safepaths.temp_dir(root)
    before = _snapshot(root)
    calls = {"n": 0}
    real_fsync, real_replace = os.fsync, os.replace

    def counting(real):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise OSError(28, "No space left on device")
            return real(*args, **kwargs)
        return wrapper

    if phase == "write":
        monkeypatch.setattr(os, "fsync", counting(real_fsync))
    else:
        monkeypatch.setattr(os, "replace", counting(real_replace))
    # --no-cache: the parse cache's own (failure-tolerant) write would take one of the counted calls
    assert main(["lint", str(root), "--fix", "--unsafe-fixes", "--no-cache"]) == 2
    assert "wrote nothing" in capsys.readouterr().err
    monkeypatch.undo()
    assert _snapshot(root) == before


def test_fix_without_failure_fixes_every_file(tmp_path):
    root = _broken_reference(tmp_path)
    assert main(["lint", str(root), "--fix", "--unsafe-fixes"]) == 0
    for name in ("netbox", "awx", "filebrowser"):
        assert "selfHeal: true" in (root / "argo" / "apps" / f"{name}-app.yaml").read_text()


def test_atomic_write_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.yaml"
    target.write_text("old: 1\n")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        yamlio.atomic_write(target, "new: 2\n", overwrite=True)
    assert target.read_text() == "old: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.yaml"]


def test_reference_is_untouched_by_the_test_suite():
    assert (REFERENCE / "argo" / "root-bootstrap.yaml").is_file()


def test_reuse_parses_reparses_a_changed_file(tmp_path):
    from gitops_kit import config, model

    root = reference_copy(tmp_path / "repo")
    cfg = config.load(root)
    with model.reuse_parses():
        first = model.build(root, cfg)
        again = model.build(root, cfg)
        assert again.files["argo/root-apps.yaml"] is first.files["argo/root-apps.yaml"]
        target = root / "argo" / "apps" / "awx-app.yaml"
        target.write_text(target.read_text() + "# changed\n")
        third = model.build(root, cfg)
        assert third.files["argo/apps/awx-app.yaml"] is not first.files["argo/apps/awx-app.yaml"]
        assert third.files["argo/apps/awx-app.yaml"].text.endswith("# changed\n")
    outside = model.build(root, cfg)
    assert outside.files["argo/root-apps.yaml"] is not first.files["argo/root-apps.yaml"]
