"""The parse cache treats everything in the repository as untrusted (security issue, items 4, 10, 11).

4. shards are regular files of bounded size, signed in a header checked before the payload is
   read: a shard linked to /dev/zero, a FIFO, a huge file or a linked cache folder never hangs,
   exhausts memory or is followed;
10. a file that may hold a secret plaintext-secret cannot see (a syntax error, a number, a
    placeholder next to a literal) is never cached;
11. the cache's ``.gitignore`` is written atomically, and an empty or wrong one is repaired.

Lint runs that could hang or eat memory on a regression run in a subprocess with a timeout and
an address-space limit, so a regression fails fast instead of taking the machine down.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gitops_kit import cache
from gitops_kit.cli import main
from helpers import count_parses, overlay, reference_copy

SECRET = "hunter2-Sup3r-s3cret-value"
NUMBER = "86753091234567"  # a password YAML reads as an int
OURS = "# written by gitops-kit: the parse cache is never committed\n*\n"

# Far above what linting the reference example needs, far below what reading /dev/zero or a
# sparse multi-GiB shard would take.
ADDRESS_SPACE = 1 << 30
TIMEOUT = 120

_RUNNER = textwrap.dedent("""
    import resource, signal, sys
    space, fsize = int(sys.argv[2]), int(sys.argv[3])
    if space:
        resource.setrlimit(resource.RLIMIT_AS, (space, space))
    if fsize >= 0:  # a full disk: writes that grow a file fail with EFBIG instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    from gitops_kit.cli import main
    sys.exit(main(["lint", sys.argv[1]]))
""")


@pytest.fixture(autouse=True)
def private_key_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CI", raising=False)  # the cache is not written in CI
    monkeypatch.delenv("GITOPS_KIT_NO_CACHE", raising=False)


def lint_subprocess(root: Path, *, space: int = ADDRESS_SPACE, fsize: int = -1, ci: bool = False
                    ) -> subprocess.CompletedProcess:
    """``gitops-kit lint root`` in a child limited to ``space`` bytes of address space (and
    ``fsize`` bytes per written file, when not negative); a hang fails the test at TIMEOUT."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-c", _RUNNER, str(root), str(space), str(fsize)],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT)


def blob(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (root / cache.DIR).glob("*.bin"))


def shard_names() -> list[str]:
    return [cache._file(s) for s in range(cache.SHARDS)]


# --- 4: shards are bounded regular files, signed in a header read first ------------------------

@pytest.mark.parametrize("ci", [True, False])
def test_shards_linked_to_dev_zero_are_never_read(tmp_path, ci):
    root = reference_copy(tmp_path / "repo")
    folder = root / cache.DIR
    folder.mkdir()
    for name in shard_names():
        (folder / name).symlink_to("/dev/zero")
    cache._key()  # a key exists: the shards would be read and their HMAC checked
    done = lint_subprocess(root, ci=ci)
    assert done.returncode == 0, done.stderr[-2000:]
    if ci:
        assert all((folder / name).is_symlink() for name in shard_names())  # CI writes nothing
    else:
        # rewritten as regular files of ours (the link itself replaced, /dev/zero untouched)
        assert not any((folder / name).is_symlink() for name in shard_names())


def test_a_fifo_shard_never_hangs(tmp_path):
    root = reference_copy(tmp_path / "repo")
    folder = root / cache.DIR
    folder.mkdir()
    os.mkfifo(folder / cache._file(0))
    cache._key()
    done = lint_subprocess(root, ci=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_huge_unsigned_shard_is_rejected_from_its_header(tmp_path):
    root = reference_copy(tmp_path / "repo")
    folder = root / cache.DIR
    folder.mkdir()
    with open(folder / cache._file(0), "wb") as fh:
        fh.truncate(4 << 30)  # sparse: 4 GiB of zeros costs no disk, but would cost 4 GiB to read
    cache._key()
    done = lint_subprocess(root, ci=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_signed_shard_over_the_cap_is_not_loaded(tmp_path, monkeypatch, capsys):
    root = reference_copy(tmp_path / "repo")
    assert main(["lint", str(root)]) == 0
    assert blob(root)
    policy = _policy(root)
    loaded, unused = cache.load(root, policy)
    assert loaded and not unused
    monkeypatch.setattr(cache, "MAX_SHARD_BYTES", 64)
    loaded, unused = cache.load(root, policy)
    assert loaded == {} and unused == set(range(cache.SHARDS))


def test_a_cache_folder_that_is_a_symlink_is_never_read(tmp_path, monkeypatch, capsys):
    root = reference_copy(tmp_path / "repo")
    assert main(["lint", str(root)]) == 0
    elsewhere = tmp_path / "elsewhere"
    (root / cache.DIR).rename(elsewhere)
    (root / cache.DIR).symlink_to(elsewhere)
    calls = count_parses(monkeypatch)
    assert main(["lint", str(root)]) == 0
    assert calls["n"] >= 100  # every file parsed again: nothing came through the link


def test_a_shard_that_is_a_directory_is_not_an_error(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    (root / cache.DIR / cache._file(3)).mkdir(parents=True)
    assert main(["lint", str(root)]) == 0
    assert main(["lint", str(root)]) == 0


def _policy(root: Path) -> str:
    from gitops_kit import catalog, config as config_mod

    cfg = config_mod.load(root, None)
    spec = catalog.load().get("plaintext-secret")
    return cache.policy(spec.params if spec else None, cfg.rule_settings("plaintext-secret").get("params"))


# --- 10: what plaintext-secret cannot see is never cached --------------------------------------

HIDDEN = {
    "syntax-error": (f"netbox:\n  superuserPassword: {SECRET}\n  broken: [\n", SECRET),
    "number": f"netbox:\n  superuserPassword: {NUMBER}\n",
    "placeholder-and-literal": f'netbox:\n  superuserPassword: "<path:kv/data/netbox#pw> {SECRET}"\n',
    "duplicate-key": f"netbox:\n  superuserPassword: {SECRET}\n  superuserPassword: <path:kv/data/netbox#pw>\n",
    "env-pair-number": f"netbox:\n  env:\n    - name: DB_PASSWORD\n      value: {NUMBER}\n",
    "list-under-secret-key": f"netbox:\n  superuserPassword:\n    - {SECRET}\n",
    "connection-string": f"netbox:\n  url: postgres://app:<path:kv/data/netbox#pw>{SECRET}@db:5432/app\n",
    "secret-data-number": ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  namespace: netbox\n"
                           f"stringData:\n  pin: {NUMBER}\n"),
    "inline-helm-number": ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: extra\n"
                           "  namespace: argocd\nspec:\n  source:\n    helm:\n      values: |\n"
                           f"        adminPassword: {NUMBER}\n"),
    "escaped-placeholder": f'netbox:\n  superuserPassword: "\\u003cpath:kv/data/netbox#pw> {SECRET}"\n',
}
HIDDEN_FILE = "apps/helm/netbox/values.yaml"


def _hidden(case: str) -> tuple[str, str]:
    value = HIDDEN[case]
    if isinstance(value, tuple):
        return value
    return value, NUMBER if NUMBER in value else SECRET


@pytest.mark.parametrize("case", sorted(HIDDEN))
@pytest.mark.parametrize("focused", [False, True])
def test_a_secret_the_rule_cannot_see_is_never_cached(tmp_path, capsys, case, focused):
    content, secret = _hidden(case)
    root = reference_copy(tmp_path / "repo")
    overlay(root, {HIDDEN_FILE: content})
    # focused: the rule reads only the named file, so the hidden file is vetted by the cache writer
    target = root / "argo" / "apps" / "awx-app.yaml" if focused else root
    main(["lint", str(target)])
    capsys.readouterr()
    data = blob(root)
    assert data  # the other files were cached
    assert secret.encode() not in data


def test_a_file_the_rule_did_not_read_is_not_cached_when_it_may_hold_a_secret(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    overlay(root, {HIDDEN_FILE: f"netbox:\n  superuserPassword: {SECRET}\n"})
    main(["lint", str(root), "--ignore", "plaintext-secret"])
    capsys.readouterr()
    data = blob(root)
    assert data and SECRET.encode() not in data


def test_placeholder_only_files_are_still_cached(tmp_path, monkeypatch, capsys):
    # the policy refuses what the rule cannot see, not every file with a secret-looking key
    root = reference_copy(tmp_path / "repo")
    overlay(root, {HIDDEN_FILE: "netbox:\n  superuserPassword: <path:kv/data/netbox#pw>\n"
                                "  env:\n    - name: DB_PASSWORD\n      value: <path:kv/data/netbox#db>\n"
                                "  automountServiceAccountToken: false\n"})
    main(["lint", str(root)])
    calls = count_parses(monkeypatch)
    main(["lint", str(root)])
    capsys.readouterr()
    assert calls["n"] == 0


def test_may_cache_is_the_one_decision(tmp_path):
    from gitops_kit.cache_policy import may_cache
    from gitops_kit.model import _parse_raw

    clean = _parse_raw("a.yaml", b"kind: ConfigMap\ndata:\n  colour: blue\n")
    maybe = _parse_raw("b.yaml", b"password: <path:kv/data/x#y>\n")
    number = _parse_raw("c.yaml", f"password: {NUMBER}\n".encode())
    assert may_cache(clean, None)  # nothing secret-looking: no verdict needed
    assert not may_cache(maybe, None)  # the rule did not run: nothing vouches for it
    assert may_cache(maybe, lambda: True)
    assert not may_cache(maybe, lambda: False)
    assert not may_cache(number, lambda: True)  # the rule's "clear" does not cover numbers

    def crash() -> bool:
        raise KeyError("a scanner bug")

    assert not may_cache(maybe, crash)


# --- 11: the cache's .gitignore ------------------------------------------------------------------

def test_a_full_disk_leaves_no_empty_gitignore(tmp_path):
    root = reference_copy(tmp_path / "repo")
    cache._key()  # made before the disk is full: the run gets as far as the .gitignore
    done = lint_subprocess(root, fsize=0)
    assert done.returncode == 0, done.stderr[-2000:]
    ignore = root / cache.DIR / ".gitignore"
    assert not ignore.exists() or ignore.read_text() == OURS
    assert not blob(root)  # without a .gitignore, no shard git could pick up
    assert not [p for p in (root / cache.DIR).iterdir() if p.name != ".gitignore"]  # no temporary left
    assert lint_subprocess(root).returncode == 0
    assert ignore.read_text() == OURS and blob(root)


@pytest.mark.parametrize("content", ["", "# written by gitops-kit", "!*\n", "*\n!parse-v2-00.bin\n"])
def test_an_empty_or_wrong_gitignore_is_repaired(tmp_path, capsys, content):
    root = reference_copy(tmp_path / "repo")
    (root / cache.DIR).mkdir()
    ignore = root / cache.DIR / ".gitignore"
    ignore.write_text(content)
    assert main(["lint", str(root)]) == 0
    assert ignore.read_text() == OURS and not ignore.is_symlink()
    assert blob(root)


def test_a_gitignore_link_to_a_file_is_never_written_through(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    (root / cache.DIR).mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("precious\n")
    (root / cache.DIR / ".gitignore").symlink_to(target)
    assert main(["lint", str(root)]) == 0
    assert target.read_text() == "precious\n"
    assert (root / cache.DIR / ".gitignore").is_symlink()
    assert not blob(root)


def test_a_fifo_gitignore_never_hangs(tmp_path):
    root = reference_copy(tmp_path / "repo")
    (root / cache.DIR).mkdir()
    os.mkfifo(root / cache.DIR / ".gitignore")
    cache._key()
    done = lint_subprocess(root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not blob(root)
