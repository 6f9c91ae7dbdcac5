"""Repository content cannot make lint super-linear, and one file's problem stays that file's finding.

Each timed case runs the work in a forked child that is killed after ``HARD`` seconds, so a
regression fails the test instead of hanging the suite; the child reports how long the work took,
which must stay under ``LIMIT``. Sizes are chosen so the code before the fix took well over ten
seconds (measured: see each test) and the fixed code a fraction of one.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from gitops_kit.api import lint
from gitops_kit.checks import _secrets, retain_policy
from gitops_kit.checks._apps import argo_glob, glob_match
from helpers import model_of, overlay, run_check

LIMIT = 5.0  # seconds the work may take (the fixed code needs well under one)
HARD = 60.0  # the child is killed after this: the old code needed minutes for some cases

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the time bound runs the work in a forked child")


def bounded(work: Callable[[], Any]) -> Any:
    """``work()`` run in a forked child: its result, after asserting it took less than LIMIT."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        start = time.perf_counter()
        try:
            result = work()
        except BaseException as exc:
            send.send((time.perf_counter() - start, None, repr(exc)))
        else:
            send.send((time.perf_counter() - start, result, None))

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    try:
        if not receive.poll(HARD):
            pytest.fail(f"still running after {HARD:.0f} s: super-linear again")
        elapsed, result, error = receive.recv()
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
    assert error is None, error
    assert elapsed < LIMIT, f"took {elapsed:.1f} s (limit {LIMIT} s)"
    return result


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    (root / "argo").mkdir(parents=True)
    overlay(root, files)
    return root


def _hits(rule: str, root: Path) -> Callable[[], list[tuple[str, tuple[int, int], str]]]:
    """The model built now (not timed); the returned work runs one rule's check over it."""
    model = model_of(root)

    def work() -> list[tuple[str, tuple[int, int], str]]:
        return [(h.path, h.pos, h.message) for h in run_check(model, rule)]

    return work


def _findings(root: Path, rule: str) -> Callable[[], list[tuple[str, int, str]]]:
    def work() -> list[tuple[str, int, str]]:
        report = lint([str(root)], select=[rule])
        return [(f.path, f.line, f.message) for f in report.findings if f.rule == rule]

    return work


APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd-system}}
spec:
  project: default
  destination: {{server: https://kubernetes.default.svc, namespace: {name}-app}}
  source:
{source}
"""
CHART = "    repoURL: https://charts.example.com\n    chart: x\n    targetRevision: 1.0.0\n"
TOKEN = "ghp_" + "A" * 36


# --- 7a: the line scanner of inline Helm values and kustomize patches ---------------------------

def test_long_line_in_helm_values_is_linear(tmp_path):
    """Before: a 200 KB values line took 128 s (measured here: 60 KB, 14 s; lazy key and value
    groups retried every run of spaces at every length). After: 0.03 s for 200 KB."""
    values = "    helm:\n      values: |\n        password: a" + " " * 200_000 + "b\n" \
             "        k" + " " * 100_000 + "x\n"
    root = _repo(tmp_path, {"argo/apps/x-app.yaml": APP.format(name="x", source=CHART + values)})
    found = bounded(_findings(root, "plaintext-secret"))
    assert [(path, line) for path, line, _ in found] == [("argo/apps/x-app.yaml", 13)]
    assert "secret-looking key 'password' has a literal value" in found[0][2]


def test_scan_lines_long_lines_are_linear():
    lines = ["k: a" + " " * 200_000 + "b", "a" + " " * 200_000 + "x", "a" + " " * 200_000 + "#",
             '"k"' + " " * 200_000 + "x", "- " + " " * 200_000 + "k" + " " * 200_000 + ": v"]

    def work() -> list[tuple[str, str | None]]:
        return [(e.key, e.value) for e in _secrets.scan_lines("\n".join(lines))]

    assert bounded(work) == [("k", "a" + " " * 200_000 + "b"), ("k", "v")]


# The pattern the scanner had before it was made linear: the oracle for its answers.
_OLD_LINE = re.compile(r"""^(?P<indent>[ ]*)(?P<dash>-[ ]+)?(?P<key>"[^"]*"|'[^']*'|[^\s#'"\-{\[][^:#]*?|"""
                       r"""-[^\s:#][^:#]*?)[ ]*:(?:[ ]+(?P<value>.*?))?[ ]*$""")


def test_scan_lines_reads_lines_as_before(monkeypatch):
    rnd = random.Random(7)
    pieces = ["a", "b", " ", " ", "  ", ":", ": ", "#", " #", "-", "- ", '"', "'", "\t", "{", "[", "|", ">", "&x ",
              "*", "!", "1", "~", "\r", "---"]

    def part() -> str:
        return "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 4)))

    def line() -> str:  # mostly shaped like "  - key: value", with odd pieces anywhere
        return " " * rnd.randint(0, 4) + rnd.choice(["", "- "]) + part() + rnd.choice(["", ":", ": "]) + part()

    texts = ["\n".join(line() for _ in range(6)) for _ in range(4000)]
    new = [list(_secrets.scan_lines(t)) for t in texts]
    monkeypatch.setattr(_secrets, "_LINE", _OLD_LINE)
    old = [list(_secrets.scan_lines(t)) for t in texts]
    assert new == old
    assert sum(len(entries) for entries in new) > 5000  # many of the random lines are entries


# --- 7b: ArgoCD's directory include/exclude globs -------------------------------------------------

STARS = "*a*a*a*a*a*a*a*a*a*a*a*b"


def test_glob_with_many_stars_is_linear():
    """Before: 20 s for a 41-character name (36 a's), x4 per 4 more characters; 44 a's would
    take five minutes. After: well under a millisecond, also for 1000 characters."""
    def work() -> list[bool]:
        return [glob_match(STARS, "a" * 44 + ".yaml"), glob_match(STARS, "a" * 1000 + "b"),
                glob_match("{a,a}" * 40 + "b", "a" * 40 + "c"), glob_match("{" * 5000 + "a" + "}" * 5000, "a")]

    assert bounded(work) == [False, True, False, True]


def test_include_and_exclude_globs_in_lint_are_linear(tmp_path):
    name = "a" * 44
    root_app = APP.format(name="root-apps", source=(
        "    repoURL: https://git.example.com/x.git\n    path: argo/apps\n    targetRevision: HEAD\n"
        f"    directory: {{include: '{{new-app.yaml,{STARS}}}', exclude: '{STARS}'}}"))
    root = _repo(tmp_path, {"argo/root-apps.yaml": root_app,
                            f"argo/apps/{name}.yaml": APP.format(name=name, source=CHART)})
    found = bounded(_findings(root, "layout"))
    assert any(path == f"argo/apps/{name}.yaml" and "is not deployed by root" in message
               and "does not match" in message for path, _, message in found), found


# The translation to a regex that the matcher replaced: the oracle for its answers.
def _old_glob(pattern: str) -> re.Pattern[str] | None:
    out: list[str] = []
    i, depth, n = 0, 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                return None
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append(".*")
            continue
        if ch == "?":
            out.append(".")
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "]") else i + 1)
            if end < 0:
                return None
            body = pattern[i + 1:end]
            negate = body.startswith("!")
            if negate:
                body = body[1:]
            if not body:
                return None
            body = body.replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[").replace("]", "\\]")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end + 1
            continue
        elif ch == "{":
            depth += 1
            out.append("(?:")
        elif ch == "}" and depth:
            depth -= 1
            out.append(")")
        elif ch == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(ch))
        i += 1
    if depth:
        return None
    try:
        return re.compile("".join(out) + r"\Z", re.DOTALL)
    except re.error:
        return None


@pytest.mark.filterwarnings("ignore::FutureWarning")  # the oracle's regex classes may hold "--" or "&&"
def test_glob_answers_as_before():
    rnd = random.Random(11)
    chars = "ab*?{},[]!-\\/.^"
    agreed = matched = 0
    for _ in range(20_000):
        pattern = "".join(rnd.choice(chars) for _ in range(rnd.randint(0, 9)))
        old = _old_glob(pattern)
        assert (old is None) == (argo_glob(pattern) is None), pattern
        if old is None:
            continue
        for _ in range(4):
            if rnd.random() < 0.5:  # a text built from the pattern matches more often
                text = "".join(rnd.choice("ab") if c in "*?{},[]!\\" else c for c in pattern)
            else:
                text = "".join(rnd.choice("ab/.-]![{},*?\\^\n") for _ in range(rnd.randint(0, 7)))
            expected = old.match(text) is not None
            assert glob_match(pattern, text) is expected, (pattern, text)
            agreed += 1
            matched += expected
    assert agreed > 40_000 and matched > 8_000


# --- 7c: node-tier on one large multi-document file ------------------------------------------

def test_node_tier_on_a_file_of_many_objects_is_linear(tmp_path):
    """Before: 47 s for 48k objects in one file (the file's text searched for the tier label once
    per object; 30k objects: about 18 s). After: 0.06 s for 48k."""
    docs = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(30_000))
    docs += "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n"
    root = _repo(tmp_path, {"argo/x.yaml": "", "apps/manifests/x/big.yaml": docs})
    hits = bounded(_hits("node-tier", root))
    assert [(path, message.split(" of app")[0]) for path, _, message in hits] == \
        [("apps/manifests/x/big.yaml", 'Deployment "web"')]
    assert "selects no node tier" in hits[0][2]


# --- 7d: positions of many matches in one block scalar ---------------------------------------

def test_many_tokens_on_one_block_line_are_linear(tmp_path):
    """Before: 28 s for 40k tokens on one line of a block scalar (the line re-read for every
    token). After: 0.55 s."""
    body = "    " + " ".join([TOKEN] * 40_000) + "\n"
    root = _repo(tmp_path, {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  x: |\n" + body})
    hits = bounded(_hits("plaintext-secret", root))
    assert len(hits) == 40_000
    assert [pos for _, pos, _ in hits[:3]] == [(6, 5), (6, 46), (6, 87)]
    assert hits[-1][1] == (6, 5 + 41 * 39_999)


def test_many_token_lines_in_a_block_are_linear(tmp_path):
    """Before: 20 s for 40k lines with a token each (the newlines before each match counted from
    the start). After: 0.6 s."""
    body = "".join(f"    {TOKEN}\n" for _ in range(40_000))
    root = _repo(tmp_path, {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  x: |\n" + body})
    hits = bounded(_hits("plaintext-secret", root))
    assert len(hits) == 40_000
    assert hits[0][1] == (6, 5) and hits[-1][1] == (6 + 39_999, 5)


def test_many_tokens_in_helm_values_are_linear(tmp_path):
    """Before: 42 s for 40k token lines in an Application's helm.values (the newlines before each
    match counted from the start). After: 0.5 s."""
    values = "    helm:\n      values: |\n        x:\n" + "".join(f"        - {TOKEN}\n" for _ in range(40_000))
    root = _repo(tmp_path, {"argo/apps/x-app.yaml": APP.format(name="x", source=CHART + values)})
    hits = bounded(_hits("plaintext-secret", root))
    assert len(hits) == 40_000
    assert hits[0][1] == (14, 11) and "line 2 contains a GitHub token" in hits[0][2]
    assert hits[-1][1] == (14 + 39_999, 11)


def test_many_reclaim_policies_in_one_patch_are_linear():
    """Before: 13 s for 5k ``reclaimPolicy: Delete`` in one kustomize patch with ``storage_classes``
    configured (the patch's names were read again for each); 20k would take two minutes. After:
    0.14 s for 20k."""
    text = "".join(f"name: sc{i}\nreclaimPolicy: Delete\n" for i in range(20_000))
    source = "patch: |\n" + "".join(f"  {line}\n" for line in text.split("\n"))

    def work() -> list[tuple[int, int]]:
        return [h.pos for h in retain_policy._patch_text("k.yaml", text, (1, 8), _secrets.SourceLines(source), None,
                                                         {"sc7"}, "p")]

    positions = bounded(work)
    assert len(positions) == 20_000
    assert positions[:2] == [(3, 3), (5, 3)]
    assert bounded(lambda: [h.pos for h in retain_policy._patch_text(
        "k.yaml", text, (1, 8), _secrets.SourceLines(source), None, {"other"}, "p")]) == []


# --- 12: a document nested deeper than Python's stack ------------------------------------------

@pytest.mark.parametrize("depth", [300, 990, 1000])
def test_deeply_nested_document_is_its_own_finding(tmp_path, depth):
    """The schema rule reports the deep document (libyaml reads up to 1000 levels; beyond that
    yaml-syntax reports it) and still checks every other file: before, RecursionError turned
    schema checking off for the whole repository."""
    nested = "".join(" " * (i + 1) + f"k{i}:\n" for i in range(depth))
    root = _repo(tmp_path, {
        "a-deep.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n" + nested,
        "z-bad.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: 7}\n",
    })
    report = lint([str(root)], select=["schema", "yaml-syntax"])
    assert report.crashed == ()
    assert not [f for f in report.findings if f.path == "."]
    by_file = {(f.path, f.rule): f.message for f in report.findings}
    assert "spec.ports: expected list, got integer" in by_file[("z-bad.yaml", "schema")]
    if depth < 1000:  # deeper than Python's stack, or than the validator's own limit (256 levels)
        assert "cannot be validated" in by_file[("a-deep.yaml", "schema")]
        assert f"nests mappings and lists {depth + 1} levels deep" in by_file[("a-deep.yaml", "schema")]
    else:
        assert ("a-deep.yaml", "yaml-syntax") in by_file
