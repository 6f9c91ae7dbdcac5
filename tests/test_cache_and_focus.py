"""The parse cache (never wrong, never code, never a secret) and focused (pre-commit) runs."""

from __future__ import annotations

import hashlib
import hmac
import pickle

import pytest

from gitops_kit import cache, engine
from gitops_kit.cli import main
from helpers import count_parses, overlay, reference_copy, run_lint

SECRET = "hunter2-Sup3r-s3cret-value"
SECRET_MANIFEST = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  namespace: netbox\n"
                   f"stringData:\n  password: {SECRET}\n")
EXEMPT_SECRETS = "rules:\n  plaintext-secret:\n    params:\n      skip_kinds: [Secret]\n"


@pytest.fixture(autouse=True)
def private_key_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CI", raising=False)  # the cache is not written in CI


def broken(tmp_path):
    root = reference_copy(tmp_path / "repo")
    overlay(root, {
        "dup.yaml": "a: 1\na: 2\n",
        "apps/helm/netbox/values.yaml": f"netbox:\n  superuserPassword: {SECRET}\n",
        "apps/manifests/netbox/quota.yaml": None,
        "apps/manifests/ci-runner/network-policy.yaml": None,
        "apps/manifests/filebrowser/secret.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
                                                  "  namespace: filebrowser\ndata:\n"
                                                  "  token: <path:kv/data/argocd/apps/helm/filebrowser#token>\n",
    })
    db = root / "apps" / "manifests" / "asset-mgmt" / "mariadb-database.yaml"
    db.write_text(db.read_text().replace("  cleanupPolicy: Skip", "  cleanupPolicy: Delete"))
    app = root / "argo" / "apps" / "awx-app.yaml"
    app.write_text(app.read_text().replace("selfHeal: true", "selfHeal: false").replace('sync-wave: "0"', "sync-wave: 0"))
    values = root / "apps" / "helm" / "filebrowser" / "values.yaml"
    values.write_text(values.read_text().replace("example.com/role: worker", "example.com/role: control"))
    vault = root / "apps" / "helm" / "vault-ha" / "values.yaml"
    vault.write_text(vault.read_text().replace("example.com/role", "example.com/zone"))
    return root


# --- focus ------------------------------------------------------------------------------------

@pytest.mark.parametrize("rel", ["dup.yaml", "apps/helm/netbox/values.yaml", "argo/apps/awx-app.yaml",
                                 "argo/apps/netbox-app.yaml", "apps/manifests/awx", "argo/root-apps.yaml",
                                 "apps/helm/filebrowser/values.yaml", "argo/apps/filebrowser-app.yaml",
                                 "apps/helm/vault-ha/values.yaml", "argo/platform/vault-ha-app.yaml",
                                 "apps/manifests/postgres/cluster.yaml", "argo/apps/ci-runner-app.yaml",
                                 "apps/manifests/ci-runner/network-policy.yaml",
                                 "apps/manifests/filebrowser/secret.yaml",
                                 "apps/manifests/asset-mgmt/mariadb-database.yaml",
                                 "apps/helm/asset-mgmt/kustomization.yaml"])
def test_a_focused_run_reports_exactly_what_the_full_run_reports_there(tmp_path, rel):
    root = broken(tmp_path)
    full = run_lint(root).findings
    focused = run_lint(root / rel).findings
    # what stands in the file, and what is about it elsewhere (issue 15: a related location in it)
    want = [f for f in full if engine.in_scope(f, {rel})]
    assert focused == want
    assert want or rel in ("argo/root-apps.yaml", "argo/apps/filebrowser-app.yaml",
                           "argo/platform/vault-ha-app.yaml", "apps/manifests/postgres/cluster.yaml",
                           "apps/manifests/awx", "apps/manifests/ci-runner/network-policy.yaml",
                           "apps/helm/asset-mgmt/kustomization.yaml")


def test_focused_run_does_not_report_config_ignores_as_unused(tmp_path):
    root = broken(tmp_path)
    cfg = root / ".gitops-kit.yaml"
    cfg.write_text(cfg.read_text() + 'ignore:\n  - {rules: [yaml-syntax], path: "dup.yaml", reason: "legacy"}\n')
    assert [f for f in run_lint(root).findings if f.rule == "suppression"] == []
    focused = run_lint(root / ".gitops-kit.yaml").findings
    assert [f for f in focused if f.rule == "suppression"] == []


# --- cache --------------------------------------------------------------------------------------

def test_second_run_parses_only_changed_files_and_reports_the_same(tmp_path, monkeypatch, capsys):
    root = broken(tmp_path)
    assert main(["lint", str(root), "--format", "json"]) == 1
    first = capsys.readouterr().out
    calls = count_parses(monkeypatch)
    assert main(["lint", str(root), "--format", "json"]) == 1
    assert capsys.readouterr().out == first
    assert calls["n"] == 1  # only the file with the secret, which is never cached
    target = root / "argo" / "apps" / "filebrowser-app.yaml"
    target.write_text(target.read_text().replace("selfHeal: true", "selfHeal: false"))
    calls["n"] = 0
    main(["lint", str(root), "--format", "json"])
    out = capsys.readouterr().out
    assert calls["n"] == 2 and "filebrowser-app.yaml" in out


def test_cache_never_holds_a_secret_and_is_ignored_by_git(tmp_path, capsys):
    root = broken(tmp_path)
    main(["lint", str(root)])
    blob = b"".join(p.read_bytes() for p in (root / cache.DIR).glob("*.bin"))
    assert blob
    assert SECRET.encode() not in blob and b"superuserPassword" not in blob
    assert "*" in (root / cache.DIR / ".gitignore").read_text()


def test_a_focused_run_never_caches_a_secret_of_another_file(tmp_path, capsys):
    # pre-commit names one file: plaintext-secret reads only that one, so it cannot vouch for the rest
    root = broken(tmp_path)
    assert main(["lint", str(root / "argo" / "apps" / "filebrowser-app.yaml")]) in (0, 1)
    blob = b"".join(p.read_bytes() for p in (root / cache.DIR).glob("*.bin"))
    assert blob
    assert SECRET.encode() not in blob and b"superuserPassword" not in blob


def test_focused_runs_still_reuse_the_cache_for_files_that_might_hold_secrets(tmp_path, monkeypatch, capsys):
    root = broken(tmp_path)
    focus = str(root / "argo" / "apps" / "filebrowser-app.yaml")
    main(["lint", focus])
    capsys.readouterr()
    calls = count_parses(monkeypatch)
    main(["lint", focus])
    # only the values file with the secret is parsed again: every other file, values files with
    # secret-looking keys but placeholder values included, came from the cache
    assert calls["n"] == 1


def test_an_older_cache_format_is_removed(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    (root / cache.DIR).mkdir()
    old = root / cache.DIR / "parse-v1-00.bin"
    old.write_bytes(b"x" * 40)
    main(["lint", str(root)])
    assert not old.exists() and list((root / cache.DIR).glob("parse-v2-*.bin"))


def test_a_crafted_cache_is_never_loaded(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    main(["lint", str(root)])

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pwned')",))

    payload = pickle.dumps({"version": "0.1.0", "entries": {"x.yaml": (b"", Boom())}})
    for shard in (root / cache.DIR).glob("*.bin"):
        shard.write_bytes(hmac.new(b"k" * 32, payload, hashlib.sha256).digest() + payload)
    assert main(["lint", str(root)]) == 0  # the HMAC does not match: ignored, never unpickled
    assert "pwned" not in capsys.readouterr().out


def test_no_cache_writes_nothing(tmp_path):
    root = reference_copy(tmp_path / "repo")
    assert main(["lint", str(root), "--no-cache"]) == 0
    assert not (root / cache.DIR).exists()


def test_unwritable_cache_is_not_an_error(tmp_path):
    root = reference_copy(tmp_path / "repo")
    (root / cache.DIR).write_text("a file where the folder should be")
    assert main(["lint", str(root)]) == 0


def test_a_commit_rewrites_only_the_shards_it_touches(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    main(["lint", str(root)])
    shards = sorted((root / cache.DIR).glob("*.bin"))
    before = {p.name: p.stat().st_mtime_ns for p in shards}
    target = root / "argo" / "apps" / "awx-app.yaml"
    target.write_text(target.read_text() + "# touched\n")
    main(["lint", str(target)])
    changed = {p.name for p in (root / cache.DIR).glob("*.bin") if p.stat().st_mtime_ns != before.get(p.name)}
    assert changed == {cache._file(cache.shard_of('argo/apps/awx-app.yaml'))}


def test_not_written_in_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    root = reference_copy(tmp_path / "repo")
    assert main(["lint", str(root)]) == 0
    assert not (root / cache.DIR).exists()


def _cache_blob(root) -> bytes:
    return b"".join(p.read_bytes() for p in (root / cache.DIR).glob("*.bin"))


REREAD = "apps/helm/netbox/values.yaml"


def _lint_all_changed_while(root, monkeypatch, on_first_read) -> int:
    """With a warm cache, change every file (so lint reads each twice: hashed, then parsed on
    both cores) and lint with ``on_first_read()`` run right after the first read of REREAD;
    then put REREAD's bytes of that first read back. Returns how often REREAD was read."""
    from gitops_kit import model

    main(["lint", str(root)])
    for path in root.rglob("*.yaml"):
        if cache.DIR not in path.parts:
            with open(path, "a") as fh:
                fh.write("# touched\n")
    first = (root / REREAD).read_bytes()
    real = model.read_bytes
    reads = {"n": 0}

    def hooked(path, *limit):
        data = real(path, *limit)
        if path.endswith(REREAD):
            reads["n"] += 1
            if reads["n"] == 1:
                on_first_read()
        return data

    monkeypatch.setattr(model, "PARALLEL_PARSE_MIN_FILES", 1)
    monkeypatch.setattr(model, "read_bytes", hooked)
    main(["lint", str(root)])
    monkeypatch.setattr(model, "read_bytes", real)
    (root / REREAD).write_bytes(first)
    return reads["n"]


def test_a_file_saved_while_lint_reads_it_is_not_cached_under_the_old_bytes(tmp_path, monkeypatch, capsys):
    # an editor saving between the two reads must not leave a parse of the new bytes under the
    # old bytes' digest
    root = reference_copy(tmp_path / "repo")
    target = root / REREAD
    reads = _lint_all_changed_while(root, monkeypatch, lambda: target.write_bytes(target.read_bytes() + b"broken: [\n"))
    assert reads == 2  # the re-read path was taken
    capsys.readouterr()
    main(["lint", str(root), "--format", "json"])
    cached = capsys.readouterr().out
    main(["lint", str(root), "--format", "json", "--no-cache"])
    assert cached == capsys.readouterr().out and "yaml-syntax" not in cached


def test_a_crashed_secret_scan_vouches_for_nothing(tmp_path, monkeypatch):
    from gitops_kit.checks import plaintext_secret

    root = broken(tmp_path)
    real = plaintext_secret.file_hits

    def buggy(path, sf, params):
        if path == "apps/helm/netbox/values.yaml":
            raise KeyError("a scanner bug")
        return real(path, sf, params)

    monkeypatch.setattr(plaintext_secret, "file_hits", buggy)
    assert run_lint(root, use_cache=True).crashed == ("plaintext-secret",)
    blob = _cache_blob(root)
    assert blob and SECRET.encode() not in blob


def test_files_vetted_under_other_secret_settings_are_not_served(tmp_path, capsys):
    # cached while the config exempted Secrets, then the exemption is removed
    root = reference_copy(tmp_path / "repo")
    overlay(root, {"apps/manifests/netbox/extra-secret.yaml": SECRET_MANIFEST})
    cfg = root / ".gitops-kit.yaml"
    original = cfg.read_text()
    cfg.write_text(original + EXEMPT_SECRETS)
    main(["lint", str(root)])
    assert "extra-secret.yaml" not in capsys.readouterr().out
    assert SECRET.encode() in _cache_blob(root)  # exempt, so cached: the case under test
    cfg.write_text(original)
    main(["lint", str(root)])
    assert "extra-secret.yaml" in capsys.readouterr().out
    blob = _cache_blob(root)
    assert blob and SECRET.encode() not in blob


def test_a_cache_folder_that_is_a_symlink_is_never_written_through(tmp_path):
    root = reference_copy(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bystander = elsewhere / "parse-v1-00.bin"
    bystander.write_bytes(b"not ours")
    (root / cache.DIR).symlink_to(elsewhere)
    assert main(["lint", str(root)]) == 0
    assert [p.name for p in elsewhere.iterdir()] == ["parse-v1-00.bin"]


def test_any_plaintext_secret_params_are_fingerprinted_without_crashing(tmp_path, capsys):
    # YAML allows mixed key types; a fingerprint that sorts keys would crash before the usage error
    root = reference_copy(tmp_path / "repo")
    cfg = root / ".gitops-kit.yaml"
    cfg.write_text(cfg.read_text() + "rules:\n  plaintext-secret:\n    params:\n      1: x\n      skip_kinds: []\n")
    assert main(["lint", str(root)]) == 2
    assert "has no parameter '1'" in capsys.readouterr().err  # configuration keys are read as strings


def test_a_shard_vetted_under_other_settings_is_rewritten_even_when_its_files_are_gone(tmp_path, capsys):
    # a small repository, so that the secret's shard holds no other file that would get it rewritten
    root = tmp_path / "repo"
    (root / "argo").mkdir(parents=True)
    cfg = root / ".gitops-kit.yaml"
    cfg.write_text("version: 1\n")
    others = {cache.shard_of(".gitops-kit.yaml")}
    name = next(f"secret-{i}.yaml" for i in range(100) if cache.shard_of(f"secret-{i}.yaml") not in others)
    (root / name).write_text(SECRET_MANIFEST)
    cfg.write_text("version: 1\n" + EXEMPT_SECRETS)
    main(["lint", str(root)])
    assert SECRET.encode() in _cache_blob(root)  # exempt, so cached: the case under test
    cfg.write_text("version: 1\n")
    (root / name).unlink()
    main(["lint", str(root)])
    assert SECRET.encode() not in _cache_blob(root)


def test_a_file_that_vanishes_between_the_two_reads_is_not_cached(tmp_path, monkeypatch, capsys):
    root = reference_copy(tmp_path / "repo")
    _lint_all_changed_while(root, monkeypatch, (root / REREAD).unlink)  # gone before the worker reads it
    capsys.readouterr()
    main(["lint", str(root), "--format", "json"])
    assert "cannot read" not in capsys.readouterr().out


def test_a_planted_gitignore_link_is_never_written_through(tmp_path):
    root = reference_copy(tmp_path / "repo")
    (root / cache.DIR).mkdir()
    target = tmp_path / "elsewhere" / "created-by-lint"
    target.parent.mkdir()
    (root / cache.DIR / ".gitignore").symlink_to(target)  # dangling: exists() is False
    assert main(["lint", str(root)]) == 0
    assert not target.exists()
    assert not list((root / cache.DIR).glob("*.bin"))  # no cache where git might track it


def test_a_run_that_only_reads_the_cache_creates_no_key(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")  # reads the cache, never writes it
    root = reference_copy(tmp_path / "repo")
    assert main(["lint", str(root)]) == 0
    assert not (tmp_path / "xdg").exists()
