"""Security of ``lint --fix`` and ``--fix --diff`` (the repository is untrusted input):

* hostile Application names and namespaces never build a path or file content, nothing is written
  outside the repository (also through a symlinked bundle folder), and ``--diff`` writes nothing;
* the diff masks every line that holds a secret, and alias/anchor names are never quoted;
* the diff and the edit's line matching take linear time on a large reformatted file;
* temporary files of a write killed before its rename are git-ignored, and removed once stale.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from gitops_kit import fix, safepaths, yamlio
from gitops_kit.cli import FORMATS, main
from gitops_kit.model import SourceFile
from helpers import PROJECT, overlay, reference_copy, run_lint

# --- helpers ------------------------------------------------------------------------------------


def _tree(top: Path, skip: tuple[str, ...] = ()) -> dict[str, object]:
    """Every entry below ``top``: files by content, links by target, directories as such."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, top)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                out[rel] = "dir"
            else:
                with open(full, "rb") as fh:
                    out[rel] = fh.read()
    return out


@contextmanager
def _deadline(seconds: float):
    """Fail (TimeoutError) instead of hanging when the block runs longer than ``seconds``."""
    class Expired(Exception):
        pass

    def expired(signum, frame):
        raise Expired

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Expired:
        # the interrupted frames' traceback is not worth formatting (and can trip pytest up)
        pytest.fail(f"took more than {seconds} s", pytrace=False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _q(value: str) -> str:
    return json.dumps(value)  # a double-quoted YAML string, newlines escaped


def _hostile_app(root: Path, name: str, namespace: str = "hostile", source: str | None = None) -> None:
    """A child Application whose bundle has no quota and no network policy: both fixes apply."""
    bundle = source if source is not None else f"apps/manifests/{name}"
    (root / "argo" / "apps" / "hostile-app.yaml").write_text(f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {_q(name)}
  namespace: argocd-system
  annotations:
    argocd.argoproj.io/sync-wave: "0"
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: {_q(namespace)}
  source:
    repoURL: https://gitlab.example.com/platform/gitops.git
    targetRevision: master
    path: {_q(bundle)}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
""")


# --- item 2: hostile names, symlinked bundles, --diff writes nothing ------------------------------

ESCAPE = "ESCAPE"  # replaced by a name that climbs out of any folder to <tmp_path>/pwned

HOSTILE = [
    ("../../x", "hostile"),
    (ESCAPE, "hostile"),
    ("/abs", "hostile"),
    ("a/../../b", "hostile"),
    ("bad\nname", "hostile"),
    ("..", "hostile"),
    ("UPPER", "hostile"),
    ("hostile", "hostile\n  injected: true"),
    ("hostile", "../../ns"),
    ("hostile", "ns/../../../x"),
]


@pytest.mark.parametrize("diff", [False, True], ids=["fix", "fix-diff"])
@pytest.mark.parametrize("name,namespace", HOSTILE)
def test_hostile_app_name_or_namespace_is_never_a_path(tmp_path, capsys, name, namespace, diff):
    root = reference_copy(tmp_path / "box" / "repo")
    if name == ESCAPE:
        name = "../" * 30 + str(tmp_path / "pwned").lstrip("/")
    _hostile_app(root, name, namespace)
    findings = {(f.rule, f.path) for f in run_lint(root).findings}
    assert ("resource-quota", "argo/apps/hostile-app.yaml") in findings
    before = _tree(tmp_path, skip=(".gitops-kit-cache",))
    args = ["lint", str(root), "--fix", "--unsafe-fixes"] + (["--diff"] if diff else [])
    code = main(args)
    out = capsys.readouterr().out
    assert _tree(tmp_path, skip=(".gitops-kit-cache",)) == before, "something was written"
    # not a refusal of the whole run (exit 2): the other fixes and the report go on
    assert code == (0 if diff else 1)
    assert diff or "hostile-app.yaml" in out
    assert "quota.yaml" not in out and "network-policy.yaml" not in out  # the fix is not offered
    after = {(f.rule, f.path) for f in run_lint(root).findings}
    assert ("resource-quota", "argo/apps/hostile-app.yaml") in after  # the finding stays
    assert ("network-policy", "argo/apps/hostile-app.yaml") in after


def test_a_valid_name_is_still_fixed(tmp_path):
    root = reference_copy(tmp_path / "repo")
    _hostile_app(root, "hostile")
    main(["lint", str(root), "--fix", "--unsafe-fixes"])
    text = (root / "apps/manifests/hostile/quota.yaml").read_text()
    assert "name: hostile-quota\n  namespace: hostile\n" in text
    assert (root / "apps/manifests/hostile/network-policy.yaml").is_file()


@pytest.mark.parametrize("diff", [False, True], ids=["fix", "fix-diff"])
def test_fix_refuses_a_bundle_folder_symlinked_outside(tmp_path, capsys, diff):
    root = reference_copy(tmp_path / "box" / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "apps" / "manifests" / "linked").symlink_to(outside, target_is_directory=True)
    _hostile_app(root, "linked")
    before = _tree(tmp_path, skip=(".gitops-kit-cache",))
    main(["lint", str(root), "--fix", "--unsafe-fixes"] + (["--diff"] if diff else []))
    err = capsys.readouterr().err
    assert list(outside.iterdir()) == []
    assert _tree(tmp_path, skip=(".gitops-kit-cache",)) == before
    assert "symlink" in err and "not fixed" in err


def test_fix_refuses_an_edit_through_a_symlinked_file_outside(tmp_path, capsys):
    root = reference_copy(tmp_path / "box" / "repo")
    app = root / "argo" / "apps" / "netbox-app.yaml"
    outside = tmp_path / "outside-netbox-app.yaml"
    outside.write_text(app.read_text().replace("selfHeal: true", "selfHeal: false"))
    app.unlink()
    app.symlink_to(outside)
    before = _tree(tmp_path, skip=(".gitops-kit-cache",))
    main(["lint", str(root), "--fix", "--unsafe-fixes"])
    capsys.readouterr()
    assert _tree(tmp_path, skip=(".gitops-kit-cache",)) == before


def test_fix_diff_writes_nothing_at_all(tmp_path, capsys, monkeypatch):
    root = reference_copy(tmp_path / "repo")
    overlay(root, {"apps/manifests/netbox/quota.yaml": None, "apps/manifests/netbox/network-policy.yaml": None})
    app = root / "argo" / "apps" / "awx-app.yaml"
    app.write_text(app.read_text().replace("selfHeal: true", "selfHeal: false"))
    monkeypatch.delenv("CI", raising=False)  # the parse cache would be written outside CI
    monkeypatch.delenv("GITOPS_KIT_NO_CACHE", raising=False)
    xdg = Path(os.environ["XDG_CACHE_HOME"])
    before, before_xdg = _tree(tmp_path), _tree(xdg)
    calls: list[str] = []

    def recording(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls.append(f"{name}{args[:1]!r}")
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, wrapper)

    for module, name in ((os, "mkdir"), (os, "makedirs"), (os, "replace"), (os, "rename"), (os, "link"),
                         (os, "symlink"), (tempfile, "mkstemp"), (tempfile, "mkdtemp")):
        recording(module, name)
    code = main(["lint", str(root), "--fix", "--unsafe-fixes", "--diff"])
    monkeypatch.undo()
    out = capsys.readouterr().out
    assert code == 1 and "+++ b/apps/manifests/netbox/quota.yaml" in out and "+      selfHeal: true" in out
    assert calls == []
    assert _tree(tmp_path) == before
    assert _tree(xdg) == before_xdg


# --- item 6: secrets in the diff, alias names in messages -----------------------------------------

DIFF_PASSWORD = "CanaryDiffPw0-ctx-7Qa"
DIFF_URL_PASSWORD = "CanaryDiffPw1-url-8Rb"
DIFF_TOKEN = "ghp_CANARYdiffCANARYdiffCANARYdiffCA001"
DIFF_PEM_BODY = "Q0FOQVJZLWRpZmYta2V5LWJvZHktMDAwMw"
DIFF_FLOW_PASSWORD = "CanaryDiffPw2-flow-9Sc"
DIFF_REFORMAT_PASSWORD = "CanaryDiffPw3-moved-1Td"
DIFF_SECRETS = [DIFF_PASSWORD, DIFF_URL_PASSWORD, DIFF_TOKEN, DIFF_PEM_BODY, DIFF_FLOW_PASSWORD,
                DIFF_REFORMAT_PASSWORD]

SECRET_APP = f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: netbox
  namespace: argocd-system
  annotations:
    example.com/db-password: {DIFF_PASSWORD}
    example.com/database-url: postgres://netbox:{DIFF_URL_PASSWORD}@db.example.com:5432/netbox
    argocd.argoproj.io/sync-wave: 0
    example.com/private-key: |
      -----BEGIN RSA PRIVATE KEY-----
      {DIFF_PEM_BODY}
      -----END RSA PRIVATE KEY-----
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: netbox
  sources:
    - repoURL: https://gitlab.example.com/platform/gitops.git
      targetRevision: master
      path: apps/helm/netbox
      plugin:
        name: avp-helm
    - repoURL: https://gitlab.example.com/platform/gitops.git
      targetRevision: master
      path: apps/manifests/netbox
  syncPolicy:
    automated: {{prune: false, selfHeal: true, token: {DIFF_TOKEN}, password: {DIFF_FLOW_PASSWORD}}}
"""


def _fragments(secret: str) -> list[str]:
    mid = len(secret) // 2
    return [secret, secret[:8], secret[-8:], secret[mid - 4:mid + 4]]


def _assert_no_secret(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        for fragment in _fragments(secret):
            assert fragment not in text, f"{where} shows part of a planted secret ({fragment[:3]}...)"


def test_fix_diff_masks_every_line_holding_a_secret(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    overlay(root, {"argo/apps/netbox-app.yaml": SECRET_APP})
    assert main(["lint", str(root), "--fix", "--unsafe-fixes", "--diff", "--select", "sync-wave,automated-sync"]) == 1
    captured = capsys.readouterr()
    out = captured.out
    # the fixes are shown: the wave is quoted, the flow mapping rewritten, context kept
    assert '+    argocd.argoproj.io/sync-wave: "0"' in out and "-    argocd.argoproj.io/sync-wave: 0" in out
    assert "-    automated: ***\n+    automated: ***\n" in out  # a changed line with secrets: key kept
    assert "    example.com/db-password: ***\n" in out  # context lines too
    assert "-----BEGIN" not in out.replace("***", "")
    _assert_no_secret(out + captured.err, DIFF_SECRETS, "--fix --diff")


def test_fix_diff_masks_secrets_in_a_reformatted_file(tmp_path, capsys):
    # More than _MAX_UNDO_BLOCKS reformatted blocks: the file comes back as ruamel writes it, so
    # lines holding secrets are changed lines, not context.
    root = reference_copy(tmp_path / "repo")
    items = "".join(f"      - name: item{i}\n        values:\n        - a{i}\n" for i in range(260))
    text = SECRET_APP.replace("  syncPolicy:\n", f"  info:\n    list:\n{items}"
                              f"      - name: db\n        values:\n        - password: {DIFF_REFORMAT_PASSWORD}\n"
                              "  syncPolicy:\n")
    overlay(root, {"argo/apps/netbox-app.yaml": text})
    main(["lint", str(root), "--fix", "--unsafe-fixes", "--diff", "--select", "automated-sync"])
    out = capsys.readouterr().out
    assert "-        - a1\n+          - a1\n" in out  # really reformatted
    assert "-        - password: ***\n+          - password: ***\n" in out
    _assert_no_secret(out, DIFF_SECRETS, "--fix --diff of a reformatted file")


ALIAS_SECRET = "hunter2xyzCanary"


@pytest.mark.parametrize("fmt", FORMATS)
def test_alias_names_are_never_quoted_in_findings(tmp_path, capsys, fmt):
    root = reference_copy(tmp_path / "repo")
    values = root / "apps" / "helm" / "netbox" / "values.yaml"
    values.write_text(values.read_text() + f"extraPassword: *{ALIAS_SECRET}\n")
    outputs = [f"{name}={tmp_path / ('report.' + name)}" for name in FORMATS]
    code = main(["lint", str(root), "--format", fmt] + [a for o in outputs for a in ("--output", o)])
    captured = capsys.readouterr()
    assert code == 1
    assert "yaml-syntax" in captured.out or fmt == "junit" and "yaml" in captured.out.lower()
    assert "alias" in captured.out  # the finding still says what is wrong
    texts = [captured.out, captured.err] + [(tmp_path / f"report.{name}").read_text() for name in FORMATS]
    _assert_no_secret("\n".join(texts), [ALIAS_SECRET], f"{fmt} report")


def test_alias_names_are_never_quoted_by_fix_diff(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    values = root / "apps" / "helm" / "netbox" / "values.yaml"
    values.write_text(values.read_text() + f"extraPassword: *{ALIAS_SECRET}\n")
    app = root / "argo" / "apps" / "netbox-app.yaml"
    app.write_text(app.read_text().replace("selfHeal: true", "selfHeal: false"))
    main(["lint", str(root), "--fix", "--unsafe-fixes", "--diff"])
    captured = capsys.readouterr()
    _assert_no_secret(captured.out + captured.err, [ALIAS_SECRET], "--fix --diff")


def test_alias_names_are_never_quoted_in_configuration_errors(tmp_path, capsys):
    root = reference_copy(tmp_path / "repo")
    (root / ".gitops-kit.yaml").write_text(f"repo:\n  url: *{ALIAS_SECRET}\n")
    assert main(["lint", str(root)]) == 2
    captured = capsys.readouterr()
    assert "alias" in captured.err
    _assert_no_secret(captured.out + captured.err, [ALIAS_SECRET], "configuration error")


@pytest.mark.parametrize("text", [
    f"password: *{ALIAS_SECRET}\n",
    f"password: *{ALIAS_SECRET}\nother: 1\n---\nkey: *{ALIAS_SECRET}x\n",
    f"- *{ALIAS_SECRET}\n",
])
def test_yamlio_messages_never_quote_alias_names(text):
    problems = yamlio.load_text(text).problems
    assert problems and all(p.fatal for p in problems)
    assert all(ALIAS_SECRET[:8] not in p.message for p in problems)


# --- item 7: linear diffs -----------------------------------------------------------------------

def _mixed_sequences(n: int) -> str:
    """An Application with n list items whose sequences alternate between indented and flush."""
    out = ["apiVersion: argoproj.io/v1alpha1", "kind: Application", "metadata:", "  name: demo",
           "  namespace: argocd-system", "spec:", "  syncPolicy:", "    automated:", "      prune: false",
           "  info:"]
    for i in range(n):
        out += [f"    - name: item{i}", f"      value: v{i}", "      list:"]
        dent = "      " if i % 2 else "        "
        out += [f"{dent}- a{i}", f"{dent}- b{i}"]
    return "\n".join(out) + "\n"


def _reformatted(n: int) -> tuple[str, str]:
    """(old, new) as ruamel rewrites _mixed_sequences: every flush sequence indented, one edit."""
    old = _mixed_sequences(n)
    new = old.replace("\n      - a", "\n        - a").replace("\n      - b", "\n        - b")
    return old, new.replace("prune: false", "prune: true")


def test_fix_diff_of_a_large_reformatted_file_takes_linear_time():
    # 30,000 lines, half of them changed: difflib.unified_diff took 13 s on this
    old, new = _reformatted(6000)
    model = SimpleNamespace(files={"big.yaml": SourceFile("big.yaml", old, [], [])})
    fixes = [fix.FileFix("big.yaml", new_text=new)]
    start = time.perf_counter()
    with _deadline(4):
        out = fix.diff(model, fixes)
    elapsed = time.perf_counter() - start
    assert elapsed < 4
    assert out.startswith("--- a/big.yaml\n+++ b/big.yaml\n@@ -")
    assert "-      prune: false\n+      prune: true\n" in out
    assert "-      - a1\n" in out and "+        - a1\n" in out
    # the diff is a correct patch: applying it to old gives new
    assert _apply_unified(old, out) == new


def test_edit_line_matching_takes_linear_time():
    # the line matching of edit_text (blank-line settling, undoing reformatting) was difflib
    # without autojunk: cubic here (a 5,000-line file took 39 s to edit)
    old, new = _reformatted(1000)
    wanted = yamlio._data_of(new)
    start = time.perf_counter()
    with _deadline(4):
        settled = yamlio._settle_blank_lines(old, new)
        undone = yamlio._undo_reformatting(old, new, wanted)
    assert time.perf_counter() - start < 4
    assert settled == new  # nothing inserted after a gap
    assert yamlio._data_of(undone) == wanted


def test_line_opcodes_match_difflib_on_small_inputs():
    import difflib
    import random

    rng = random.Random(7)
    for _ in range(300):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 30))]
        b = [x for x in a if rng.random() > 0.2]
        for _ in range(rng.randint(0, 5)):
            b.insert(rng.randint(0, len(b)), rng.choice("abcxyz"))
        ops = yamlio.line_opcodes(a, b)
        rebuilt = []
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                assert a[i1:i2] == b[j1:j2]
            rebuilt.extend(b[j1:j2])
        assert rebuilt == b
        assert sum(i2 - i1 for _, i1, i2, _, _ in ops) == len(a)
        if max(len(a), len(b)) < 40:  # small inputs: exactly difflib's answer
            assert ops == difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def _apply_unified(old: str, patch: str) -> str:
    """Apply a unified diff (from fix.diff) to ``old``: the test's own reading of the format."""
    a = old.splitlines(True)
    out: list[str] = []
    pos = 0
    lines = patch.splitlines(True)[2:]
    i = 0
    while i < len(lines):
        header = lines[i]
        assert header.startswith("@@ -"), header
        start = int(header.split()[1][1:].split(",")[0])
        length = header.split()[1].split(",")
        first = start - 1 if len(length) == 1 or int(length[1]) else start
        out.extend(a[pos:first])
        pos = first
        i += 1
        while i < len(lines) and not lines[i].startswith("@@ "):
            tag, text = lines[i][0], lines[i][1:]
            if tag == " ":
                assert a[pos] == text
                out.append(text)
                pos += 1
            elif tag == "-":
                assert a[pos] == text
                pos += 1
            elif tag == "+":
                out.append(text)
            i += 1
    out.extend(a[pos:])
    return "".join(out)


# --- item 14: temporary files of a killed write ---------------------------------------------------

def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)


def _git_repo(tmp_path: Path) -> Path:
    root = reference_copy(tmp_path / "repo")
    assert _git(root, "init", "-q").returncode == 0
    app = root / "argo" / "apps" / "netbox-app.yaml"
    app.write_text(app.read_text().replace("selfHeal: true", "selfHeal: false"))
    return root


def _temps(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"{safepaths.TEMP_PREFIX}*{safepaths.TEMP_SUFFIX}")]


def _ours(path: object) -> bool:
    name = os.path.basename(os.fspath(path))  # type: ignore[arg-type]
    return name.startswith(safepaths.TEMP_PREFIX) and name.endswith(safepaths.TEMP_SUFFIX)


# lint --fix, killed (SIGKILL: no cleanup runs) when it renames its first temporary file into place
CRASH = (
    "import os, signal, sys\n"
    "from gitops_kit.cli import main\n"
    "real = os.replace\n"
    "def replace(src, dst, *a, **k):\n"
    "    name = os.path.basename(src)\n"
    "    if name.startswith('.gitops-kit-') and name.endswith('.tmp'):\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "    return real(src, dst, *a, **k)\n"
    "os.replace = replace\n"
    "main(['lint', sys.argv[1], '--fix', '--unsafe-fixes', '--no-cache'])\n"
)


def test_fix_killed_before_its_rename_leaves_only_git_ignored_temporary_files(tmp_path):
    root = _git_repo(tmp_path)
    proc = subprocess.run([sys.executable, "-c", CRASH, str(root)], capture_output=True, text=True,
                          timeout=120, cwd=PROJECT)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = _temps(root)
    assert left, "the crash left no temporary file: the test did not crash between write and rename"
    for temp in left:
        assert _git(root, "check-ignore", "-q", str(temp)).returncode == 0, f"{temp} is not git-ignored"
    assert ".tmp" not in _git(root, "status", "--porcelain", "--untracked-files=all").stdout
    assert "selfHeal: false" in (root / "argo" / "apps" / "netbox-app.yaml").read_text()


def test_fix_failing_its_rename_and_cleanup_leaves_only_git_ignored_temporary_files(tmp_path, monkeypatch, capsys):
    root = _git_repo(tmp_path)
    real_unlink, real_replace = os.unlink, os.replace

    def no_replace(src, dst, *args, **kwargs):
        if _ours(src):
            raise OSError(5, "Input/output error")
        return real_replace(src, dst, *args, **kwargs)

    def unlink(path, *args, **kwargs):
        if _ours(path):
            raise OSError(5, "Input/output error")  # as if the process died before cleaning up
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "replace", no_replace)
    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(OSError):
        yamlio.write_all({str(root / "argo/apps/netbox-app.yaml"): "x: 1\n"},
                         {str(root / "argo/apps/netbox-app.yaml"): b"old"}, root=root)
    monkeypatch.undo()
    left = _temps(root)
    assert left
    for temp in left:
        assert _git(root, "check-ignore", "-q", str(temp)).returncode == 0, f"{temp} is not git-ignored"


def test_a_stale_temporary_file_is_removed_by_the_next_fix(tmp_path):
    root = _git_repo(tmp_path)
    proc = subprocess.run([sys.executable, "-c", CRASH, str(root)], capture_output=True, timeout=120, cwd=PROJECT)
    assert proc.returncode == -signal.SIGKILL
    left = _temps(root)
    assert left
    old = time.time() - safepaths.STALE_SECONDS - 60
    for temp in left:
        os.utime(temp, (old, old))
    assert main(["lint", str(root), "--fix", "--unsafe-fixes", "--no-cache"]) == 0
    assert "selfHeal: true" in (root / "argo" / "apps" / "netbox-app.yaml").read_text()
    assert [p for p in left if os.path.lexists(p)] == []
    assert _git(root, "status", "--porcelain", "--untracked-files=all").stdout.count(".tmp") == 0


def test_atomic_write_in_a_repository_puts_its_temporary_file_in_the_ignored_cache(tmp_path, monkeypatch):
    root = _git_repo(tmp_path)
    seen: list[str] = []
    real_replace = os.replace

    def spy(src, dst, *args, **kwargs):
        seen.append(str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", spy)
    yamlio.atomic_write(root / "argo" / "new.yaml", "a: 1\n", root=root)
    monkeypatch.undo()
    assert (root / "argo" / "new.yaml").read_text() == "a: 1\n"
    assert seen and all(Path(s).parent == root / safepaths.CACHE_DIR for s in seen)
