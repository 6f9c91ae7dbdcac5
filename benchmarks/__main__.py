"""``python -m benchmarks``: generate corpora, measure gitops-kit against the parse floor, judge issue 6.

For each N of ``--sizes`` the corpus of :mod:`benchmarks.corpus` is generated into a temporary
directory (or ``--keep DIR``), then measured in this one run:

- the parse floor: read every ``.yaml``/``.yml`` file and compose all its documents with libyaml
  (``yaml.compose_all`` with ``yaml.CSafeLoader``), in this process, median of ``--runs``;
- ``gitops-kit lint <dir> --format json`` as a whole process, median wall time of ``--runs``
  (after one untimed warm-up run that also supplies ``summary.objects`` and the finding counts);
- peak RSS of the lint process: ``ru_maxrss`` of that very process from ``os.wait4`` (exact per
  process, unlike a RUSAGE_CHILDREN delta, which only moves when a new maximum is reached);
  on Linux also the peak sum of RSS over the process tree, sampled during the warm-up run, which
  is what counts if lint ever uses a process pool;
- the pre-commit case: ``gitops-kit lint <one Application file>`` run from the repository root;
- once per run: ``gitops-kit --version``, ``python -c pass`` (interpreter start), ``gitops-kit
  new-app`` on a fresh copy of examples/reference, and ``yamllint -d relaxed`` and
  ``argocd-source-lint`` on the 1000-app tree when they are installed.

Prints a table and the targets of issue 6 with PASS/FAIL, and writes everything as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import yaml

from . import corpus

PROJECT = Path(__file__).resolve().parent.parent
REFERENCE = PROJECT / "examples" / "reference"
CACHE_DIR = ".gitops-kit-cache"
SKIP_DIRS = {".git", CACHE_DIR}
MIN_RUNS_FAST = 5  # sub-second commands (--version, python -c pass) get at least this many runs
GB = 1024 ** 3


# --- measuring -----------------------------------------------------------------------------------------

@dataclass
class Run:
    """One finished subprocess: wall seconds, its own peak RSS, exit code and output."""

    wall: float
    maxrss: int  # bytes
    code: int
    stdout: str
    stderr: str
    tree_peak: int | None = None  # bytes, peak RSS summed over the process tree (sampled), Linux only


def _maxrss_bytes(ru_maxrss: int) -> int:
    return ru_maxrss if sys.platform == "darwin" else ru_maxrss * 1024


def _tree_rss(pid: int) -> int:
    """Memory of ``pid`` and its descendants, from /proc (0 once they are gone).

    Proportional set size (Pss) where the kernel offers it: lint forks a child that shares the
    parent's model copy-on-write, and summing plain RSS would count the shared pages twice."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            try:
                fh = open(f"/proc/{p}/smaps_rollup", encoding="ascii", errors="replace")
                field = "Pss:"
            except OSError:
                fh = open(f"/proc/{p}/status", encoding="ascii", errors="replace")
                field = "VmRSS:"
            with fh:
                for line in fh:
                    if line.startswith(field):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def run(cmd: list[str], cwd: Path | None = None, sample_tree: bool = False) -> Run:
    """Run ``cmd`` to completion, timing it and taking its rusage with ``os.wait4``."""
    env = dict(os.environ, NO_COLOR="1")
    # Measured as installed: pip compiles bytecode at install time, and the warm-up run writes it
    # for a source checkout, which it cannot do under PYTHONDONTWRITEBYTECODE (every run would
    # then compile every module again, 40 ms that no installed copy pays). Peers are run the same way.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        peak = [0]
        stop = threading.Event()
        sampler = None
        if sample_tree and sys.platform.startswith("linux"):
            def sample() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], _tree_rss(proc.pid))
                    stop.wait(0.01)
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        stop.set()
        if sampler is not None:
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, _maxrss_bytes(usage.ru_maxrss), proc.returncode,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   peak[0] if sampler is not None else None)


def yaml_files(root: Path) -> list[Path]:
    """Every .yaml/.yml file below ``root``, sorted (what lint reads, give or take its excludes)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        found.extend(Path(dirpath, f) for f in filenames if f.endswith((".yaml", ".yml")))
    return sorted(found)


def parse_floor_once(paths: list[Path]) -> tuple[float, int]:
    """(seconds, documents): read and compose every document of ``paths`` with libyaml."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        raise SystemExit("PyYAML has no libyaml here (yaml.CSafeLoader missing): the parse floor needs it")
    docs = 0
    start = time.perf_counter()
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        for _node in yaml.compose_all(text, Loader=loader):
            docs += 1
    return time.perf_counter() - start, docs


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def drop_cache(root: Path) -> bool:
    cache = root / CACHE_DIR
    if cache.exists():
        shutil.rmtree(cache)
        return True
    return False


# --- one corpus ----------------------------------------------------------------------------------------

def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(lint_cmd: list[str], root: Path, runs: int, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parse floor, lint) of ``root``: warm-ups, then ``runs`` rounds of one floor pass and one cold lint.

    Interleaving the two puts them under the same machine load, so their ratio stays meaningful
    when something else is running too.
    """
    paths = yaml_files(root)
    floor: dict[str, Any] = {"files": len(paths), "bytes": sum(p.stat().st_size for p in paths)}
    parse_floor_once(paths)  # warm the page cache and libyaml
    # A clean run, as in CI: no parse cache read or written (the pre-commit case measures the cache).
    cmd = [*lint_cmd, "lint", str(root), "--format", "json", "--no-cache"]
    drop_cache(root)
    log(f"[{label}] lint warm-up")
    warm = run(cmd, sample_tree=True)
    lint: dict[str, Any] = {"command": shlex.join(cmd), "exit": warm.code}
    try:
        report = json.loads(warm.stdout)
        summary = report["summary"]
    except (ValueError, KeyError, TypeError):
        lint["error"] = f"exit {warm.code}, no JSON report; stderr ends: {warm.stderr.strip()[-600:]}"
        summary = None
    if summary is not None:
        by_rule: dict[str, dict[str, int]] = {}
        for f in report.get("findings", []):
            counts = by_rule.setdefault(f.get("rule", "?"), {"error": 0, "warning": 0, "info": 0})
            counts[f.get("severity", "error")] = counts.get(f.get("severity", "error"), 0) + 1
        lint["summary"] = summary
        lint["findings_by_rule"] = dict(sorted(by_rule.items()))
        lint["tree_peak_rss_bytes"] = warm.tree_peak
        lint["cache_dir_created"] = (root / CACHE_DIR).exists()
    floor_times, walls, rss, docs = [], [], [], 0
    for i in range(runs):
        log(f"[{label}] round {i + 1}/{runs}: parse floor" + (", lint" if summary is not None else ""))
        seconds, docs = parse_floor_once(paths)
        floor_times.append(seconds)
        if summary is None:
            continue
        drop_cache(root)  # cold: a content-hash cache from the previous run must not help
        r = run(cmd)
        walls.append(r.wall)
        rss.append(r.maxrss)
    floor.update(documents=docs, runs=floor_times, median=median(floor_times))
    if walls:
        lint.update(runs=walls, median=median(walls), peak_rss_bytes=max(rss))
    return floor, lint


def measure_precommit(lint_cmd: list[str], root: Path, rel: str, runs: int, label: str) -> dict[str, Any]:
    """``lint <one file>`` from the repository root, as pre-commit runs it; cold, then warm if cached."""
    cmd = [*lint_cmd, "lint", rel]
    out: dict[str, Any] = {"file": rel, "command": shlex.join(cmd)}
    cold = []
    code = None
    for i in range(runs):
        drop_cache(root)
        log(f"[{label}] pre-commit run {i + 1}/{runs}")
        r = run(cmd, cwd=root)
        cold.append(r.wall)
        code = r.code
        if r.code not in (0, 1):
            out["error"] = f"exit {r.code}; stderr ends: {r.stderr.strip()[-600:]}"
            break
    out.update(exit=code, runs=cold, median=median(cold))
    if (root / CACHE_DIR).exists():  # a cache exists: the everyday pre-commit run is the warm one
        warm = []
        target = root / rel
        original = target.read_bytes()
        try:
            for i in range(runs):
                log(f"[{label}] pre-commit warm run {i + 1}/{runs}")
                # the committed file was edited: it misses the cache, every other file hits
                target.write_bytes(original + f"# edit {i}\n".encode())
                warm.append(run(cmd, cwd=root).wall)
        finally:
            target.write_bytes(original)
        out["warm_runs"] = warm
        out["warm_median"] = median(warm)
    drop_cache(root)
    return out


def yamllint_command() -> list[str] | None:
    beside = Path(sys.executable).parent / "yamllint"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("yamllint")
    return [found] if found else None


def measure_yamllint(root: Path, label: str) -> dict[str, Any]:
    cmd = yamllint_command()
    if cmd is None:
        return {"skipped": "yamllint is not installed (pip install yamllint to compare)"}
    cmd = [*cmd, "-d", "relaxed", "-f", "parsable", "."]
    log(f"[{label}] yamllint -d relaxed (one run)")
    r = run(cmd, cwd=root)
    version = run([cmd[0], "--version"]).stdout.strip()
    return {"command": shlex.join(cmd), "version": version, "exit": r.code, "wall": r.wall,
            "peak_rss_bytes": r.maxrss, "problems": len([ln for ln in r.stdout.splitlines() if ln.strip()])}


def argocd_source_lint_command(given: str | None) -> list[str] | None:
    """``--argocd-source-lint CMD``, else the script beside this interpreter, else one on PATH."""
    if given:
        return shlex.split(given)
    beside = Path(sys.executable).parent / "argocd-source-lint"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("argocd-source-lint")
    return [found] if found else None


def count_applications(root: Path) -> int:
    """Argo CD Application documents under argo/ (what both tools' per-Application time divides by)."""
    count = 0
    for path in yaml_files(root / "argo"):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(doc, dict) and doc.get("kind") == "Application" and \
                    str(doc.get("apiVersion", "")).startswith("argoproj.io/"):
                count += 1
    return count


def measure_argocd_source_lint(cmd: list[str] | None, root: Path, label: str) -> dict[str, Any]:
    """One run of argocd-source-lint on ``root``, made a git checkout whose origin is the corpus's
    repository URL (without it, the tool treats every source as an external repository and skips it)."""
    if cmd is None:
        return {"skipped": "argocd-source-lint is not installed (pipx install argocd-source-lint, or "
                           "--argocd-source-lint CMD)"}
    if shutil.which("git") is None:
        return {"skipped": "git is not installed: argocd-source-lint needs a git checkout"}
    if not (root / ".git").exists():
        git = ["git", "-c", "user.name=benchmark", "-c", "user.email=benchmark@example.com",
               "-c", "commit.gpgsign=false"]
        for step in (["init", "-q"], ["remote", "add", "origin", corpus.REPO_URL], ["checkout", "-q", "-b", corpus.BRANCH],
                     ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "corpus"]):
            done = subprocess.run([*git, *step], cwd=root, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return {"error": f"git {' '.join(step)} failed: {done.stderr.strip()[-300:]}"}
    full = [*cmd, str(root), "--format", "json"]
    log(f"[{label}] argocd-source-lint (one run)")
    r = run(full, cwd=root)
    out: dict[str, Any] = {"command": shlex.join(full), "exit": r.code, "wall": r.wall, "peak_rss_bytes": r.maxrss,
                           "version": run([*cmd, "--version"]).stdout.strip()}
    try:
        out["findings"] = len(json.loads(r.stdout)["findings"])
    except (ValueError, KeyError, TypeError):
        out["error"] = f"exit {r.code}, no JSON report; stderr ends: {r.stderr.strip()[-400:]}"
    return out


def precommit_file(root: Path) -> str:
    apps = sorted((root / "argo" / "apps").glob("*-app.yaml"))
    pick = apps[0] if apps else sorted((root / "argo").rglob("*.yaml"))[0]
    return pick.relative_to(root).as_posix()


def measure_size(n: int, base: Path, args: argparse.Namespace, lint_cmd: list[str]) -> dict[str, Any]:
    label = f"N={n}"
    root = base / f"apps-{n}"
    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"{root} exists and is not empty: choose another --keep directory")
    log(f"[{label}] generating corpus in {root}")
    start = time.perf_counter()
    stats = corpus.generate(root, n, args.violations, args.seed)
    gen = time.perf_counter() - start
    stats.pop("violating_apps", None)
    entry: dict[str, Any] = {"n": n, "dir": str(root), "corpus": stats, "generate_seconds": gen}
    entry["floor"], entry["lint"] = measure(lint_cmd, root, args.runs, label)
    lint = entry["lint"]
    if lint.get("median"):
        objects = lint["summary"].get("objects", 0)
        entry["ratio"] = lint["median"] / entry["floor"]["median"]
        entry["objects_per_second"] = objects / lint["median"]
        if objects != stats["objects"]:
            entry["objects_note"] = f"lint counted {objects} objects, the generator wrote {stats['objects']}"
    if args.precommit == "all" or (args.precommit == "1000" and n == 1000):
        entry["precommit"] = measure_precommit(lint_cmd, root, precommit_file(root), args.runs, label)
    if n == 1000:
        yl = versus(lint_cmd, root, label, lint, args.yamllint and yamllint_command() is not None,
                    "skipped (--no-yamllint)" if not args.yamllint else None, lambda: measure_yamllint(root, label))
        entry["yamllint"] = yl
        # last: it turns the corpus into a git checkout
        asl_cmd = argocd_source_lint_command(args.asl_command) if args.asl else None
        asl = versus(lint_cmd, root, label, lint, asl_cmd is not None,
                     "skipped (--no-argocd-source-lint)" if not args.asl else None,
                     lambda: measure_argocd_source_lint(asl_cmd, root, label))
        if asl.get("lint_bracket"):
            apps = count_applications(root)
            asl.update(applications=apps, per_application=asl["wall"] / apps,
                       lint_per_application=mean(asl["lint_bracket"]) / apps)
        entry["argocd_source_lint"] = asl
    return entry


def versus(lint_cmd: list[str], root: Path, label: str, lint: dict[str, Any], installed: bool,
           switched_off: str | None, peer: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A peer's result with its ratio to lint: bracketed when it is installed, else its own
    "not installed" answer (``peer`` says so without running anything), or ``switched_off``."""
    if switched_off:
        return {"skipped": switched_off}
    if not installed:
        return peer()
    result, beside = bracketed(lint_cmd, root, label, peer)
    if result.get("wall") and beside and "error" not in result:
        result.update(lint_bracket=beside, ratio_to_lint=result["wall"] / mean(beside))
        if lint.get("median"):
            result["ratio_to_lint_median"] = result["wall"] / lint["median"]
    return result


def bracketed(lint_cmd: list[str], root: Path, label: str, peer: Callable[[], dict[str, Any]]
              ) -> tuple[dict[str, Any], list[float] | None]:
    """A peer's one long run with a cold lint run right before and right after it.

    The ratio to the peer is taken against these two runs, not the median measured minutes
    earlier: on a shared machine whose speed drifts, both sides of the ratio then see the same
    machine (the median-based ratio is kept in the JSON as ``ratio_to_lint_median``)."""
    cmd = [*lint_cmd, "lint", str(root), "--format", "json", "--no-cache"]

    def once() -> float | None:
        drop_cache(root)
        r = run(cmd)
        return r.wall if r.code in (0, 1) else None

    log(f"[{label}] lint, the peer, lint")
    before = once()
    result = peer()
    if "skipped" in result:
        return result, None
    after = once()
    return result, ([before, after] if before is not None and after is not None else None)


# --- the verdict ---------------------------------------------------------------------------------------

def _status(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 6's targets against this run's figures."""
    sizes = {e["n"]: e for e in res["sizes"]}
    start = res["python_start"]["median"]
    out: list[dict[str, Any]] = []

    def add(case: str, target: str, measured: str, ok: bool | None, note: str = "") -> None:
        out.append({"case": case, "target": target, "measured": measured, "status": _status(ok), "note": note})

    v = res["version"]
    add("gitops-kit --version", "<= 120 ms wall", f"{v['median'] * 1000:.0f} ms", v["median"] <= 0.120)

    ref = res.get("reference")
    if ref and ref.get("lint", {}).get("median"):
        t = ref["lint"]["median"]
        add("lint the 25-app reference repository", "<= 0.5 s wall", f"{t:.3f} s", t <= 0.5,
            "examples/reference")
    else:
        add("lint the 25-app reference repository", "<= 0.5 s wall", "-", None,
            (ref or {}).get("lint", {}).get("error", res.get("reference_skipped", "examples/reference not present")))
    if 25 in sizes and sizes[25]["lint"].get("median"):
        t = sizes[25]["lint"]["median"]
        add("lint the generated 25-app corpus", "<= 0.5 s wall", f"{t:.3f} s", t <= 0.5)

    one = sizes.get(1000)
    if one and one["lint"].get("median"):
        t, floor = one["lint"]["median"], one["floor"]["median"]
        limit = 2.0 * floor + start
        add("lint 1000 apps: time", "<= 2.0 x parse floor + interpreter start",
            f"{t:.2f} s vs {limit:.2f} s (floor {floor:.2f} s, start {start * 1000:.0f} ms)", t <= limit,
            f"{one['ratio']:.2f} x floor")
        ops = one["objects_per_second"]
        add("lint 1000 apps: throughput", ">= 4,000 objects/s", f"{ops:,.0f} objects/s", ops >= 4000)
    else:
        why = one["lint"].get("error", "") if one else "1000 not in --sizes"
        add("lint 1000 apps: time", "<= 2.0 x parse floor + interpreter start", "-", None, why)
        add("lint 1000 apps: throughput", ">= 4,000 objects/s", "-", None, why)

    five = sizes.get(5000)
    if five and five["lint"].get("median") and one and one["lint"].get("median"):
        lin = five["lint"]["median"] / one["lint"]["median"]
        add("lint 5000 apps: linear", "<= 5.5 x the 1000-app time", f"{lin:.2f} x", lin <= 5.5)
    else:
        add("lint 5000 apps: linear", "<= 5.5 x the 1000-app time", "-", None, "needs 1000 and 5000 in --sizes")
    if five and five["lint"].get("peak_rss_bytes"):
        rss = max(five["lint"]["peak_rss_bytes"], five["lint"].get("tree_peak_rss_bytes") or 0)
        add("lint 5000 apps: memory", "peak RSS <= 1 GB", f"{rss / 2**20:.0f} MiB", rss <= GB)
    else:
        add("lint 5000 apps: memory", "peak RSS <= 1 GB", "-", None, "needs 5000 in --sizes")

    pre = one.get("precommit") if one else None
    if pre and pre.get("median") and not pre.get("error"):
        t = pre.get("warm_median") or pre["median"]
        what = "warm cache" if pre.get("warm_median") else "no cache"
        add("pre-commit: one file, 1000-app repo", "<= 1.0 s wall", f"{t:.3f} s ({what})", t <= 1.0)
    else:
        add("pre-commit: one file, 1000-app repo", "<= 1.0 s wall", "-", None,
            (pre or {}).get("error", "needs 1000 in --sizes"))

    na = res.get("new_app") or {}
    if na.get("median"):
        add("new-app (on examples/reference)", "<= 0.5 s wall", f"{na['median']:.3f} s", na["median"] <= 0.5)
    else:
        add("new-app", "<= 0.5 s wall", "-", None, na.get("skipped") or na.get("error", "not measured"))

    yl = one.get("yamllint") if one else None
    if yl and yl.get("ratio_to_lint"):
        add("versus yamllint -d relaxed (1000 apps)", ">= 20 x faster",
            f"{yl['ratio_to_lint']:.1f} x ({yl['wall']:.1f} s vs {mean(yl['lint_bracket']):.2f} s)",
            yl["ratio_to_lint"] >= 20, "lint run just before and after")
    else:
        add("versus yamllint -d relaxed (1000 apps)", ">= 20 x faster", "-", None,
            (yl or {}).get("skipped", "needs 1000 in --sizes and a lint time"))
    asl = one.get("argocd_source_lint") if one else None
    if asl and asl.get("per_application"):
        add("versus argocd-source-lint (1000 apps)", "faster per Application",
            f"{asl['lint_per_application'] * 1000:.2f} ms vs {asl['per_application'] * 1000:.2f} ms per Application "
            f"({asl['ratio_to_lint']:.1f} x)", asl["lint_per_application"] < asl["per_application"],
            f"{asl['applications']} Applications; lint run just before and after")
    else:
        add("versus argocd-source-lint (1000 apps)", "faster per Application", "-", None,
            (asl or {}).get("skipped") or (asl or {}).get("error") or "needs 1000 in --sizes and a lint time")
    return out


# --- output --------------------------------------------------------------------------------------------

def _fmt(value: float | None, spec: str, scale: float = 1.0) -> str:
    return "-" if value is None else format(value * scale, spec)


def table(res: dict[str, Any]) -> str:
    lines = []
    head = ("N apps", "files", "MB", "objects", "floor s", "lint s", "lint/floor", "objects/s", "peak RSS MiB",
            "pre-commit s", "findings e/w/i")
    rows = []
    entries = list(res["sizes"])
    if res.get("reference"):
        entries.insert(0, {**res["reference"], "n": "ref"})
    for e in entries:
        lint = e.get("lint", {})
        summary = lint.get("summary", {})
        rss = lint.get("peak_rss_bytes")
        if rss is not None and lint.get("tree_peak_rss_bytes"):
            rss = max(rss, lint["tree_peak_rss_bytes"])
        pre = e.get("precommit", {})
        pre_s = _fmt(pre.get("median"), ".3f")
        if pre.get("warm_median") is not None:
            pre_s += f" ({pre['warm_median']:.3f} warm)"
        findings = (f"{summary.get('error', 0)}/{summary.get('warning', 0)}/{summary.get('info', 0)}"
                    if summary else lint.get("error", "-")[:40])
        rows.append((str(e["n"]), str(e["floor"]["files"]), f"{e['floor']['bytes'] / 1e6:.2f}",
                     str(summary.get("objects", "-")), _fmt(e["floor"]["median"], ".3f"),
                     _fmt(lint.get("median"), ".3f"), _fmt(e.get("ratio"), ".2f"),
                     _fmt(e.get("objects_per_second"), ",.0f"), _fmt(rss, ".0f", 1 / 2**20), pre_s, findings))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines.append("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows)
    lines.append("")
    start, version = res["python_start"]["median"], res["version"]["median"]
    na = res.get("new_app") or {}
    lines.append(f"interpreter start (python -c pass): {start * 1000:.0f} ms;  gitops-kit --version: "
                 f"{version * 1000:.0f} ms" + (f";  new-app on the reference example: {na['median']:.3f} s"
                                               if na.get("median") else ""))
    sizes = {e["n"]: e for e in res["sizes"]}
    if 1000 in sizes and 5000 in sizes and sizes[1000]["lint"].get("median") and sizes[5000]["lint"].get("median"):
        lines.append(f"linearity, lint 5000 / lint 1000: {sizes[5000]['lint']['median'] / sizes[1000]['lint']['median']:.2f}"
                     f"  (parse floor: {sizes[5000]['floor']['median'] / sizes[1000]['floor']['median']:.2f})")
    yl = sizes.get(1000, {}).get("yamllint")
    if yl:
        lines.append(f"yamllint -d relaxed, 1000 apps: {yl['wall']:.2f} s, {yl['ratio_to_lint']:.1f} x the lint runs "
                     f"just before and after it ({', '.join(f'{w:.2f}' for w in yl['lint_bracket'])} s)"
                     + (f"; {yl['ratio_to_lint_median']:.1f} x the lint median" if yl.get("ratio_to_lint_median") else "")
                     if yl.get("ratio_to_lint") else f"yamllint: {yl.get('skipped', 'no result')}")
    asl = sizes.get(1000, {}).get("argocd_source_lint")
    if asl:
        lines.append(f"argocd-source-lint {asl.get('version', '')}, 1000 apps: {asl['wall']:.2f} s for "
                     f"{asl['applications']} Applications, {asl['findings']} finding(s), {asl['ratio_to_lint']:.1f} x "
                     "the lint runs just before and after it" if asl.get("per_application") else
                     f"argocd-source-lint: {asl.get('skipped') or asl.get('error', 'no result')}")
    lines.append(f"peak RSS: {res['meta']['rss_method']}")
    meta = res["meta"]
    lines.append(f"machine: {meta['cpus']} CPUs, {meta['system']}, Python {meta['python']}, PyYAML {meta['pyyaml']} "
                 f"(libyaml {'yes' if meta['libyaml'] else 'NO'}); load average at start {meta['load_average_at_start']}, "
                 f"at end {meta.get('load_average_at_end')}")
    lines.append("")
    tgt = res["targets"]
    head2 = ("case", "target", "measured", "status")
    w2 = [max(len(h), *(len(t[k]) for t in tgt)) for h, k in zip(head2, ("case", "target", "measured", "status"))]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head2, w2)))
    lines.append("  ".join("-" * w for w in w2))
    for t in tgt:
        row = "  ".join(t[k].ljust(w) for k, w in zip(("case", "target", "measured", "status"), w2))
        lines.append(row + (f"  {t['note']}" if t["note"] else ""))
    return "\n".join(lines)


def _loadavg() -> list[float] | None:
    """1/5/15-minute load averages: other work on the machine makes every figure slower."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=PROJECT, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}


def default_lint_command() -> tuple[list[str], str]:
    # The console script beside this interpreter, never a version-manager shim found on PATH: a shim
    # (pyenv's is a bash script) adds tens of milliseconds to every run that are not gitops-kit's.
    script = Path(sys.executable).parent / "gitops-kit"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)], "console script beside the interpreter"
    return [sys.executable, "-m", "gitops_kit.cli"], "python -m gitops_kit.cli (no console script found)"


NEW_APP_ARGS = ["new-app", "bench-app", "--layer", "apps", "--chart-repo", "https://charts.example.com/bench",
                "--chart-version", "1.0.0", "--no-input"]


def measure_new_app(lint_cmd: list[str], runs: int) -> dict[str, Any]:
    """``new-app`` (writes an app and lints the result) on a fresh copy of the reference example per run."""
    if run([*lint_cmd, "new-app", "--help"]).code != 0:
        return {"skipped": "no new-app command in this build"}
    if not (REFERENCE / "argo").is_dir():
        return {"skipped": "examples/reference not present"}
    walls = []
    out: dict[str, Any] = {"command": shlex.join([*lint_cmd, *NEW_APP_ARGS, "--repo", "<copy of examples/reference>"])}
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="gitops-kit-new-app-") as tmp:
            repo = Path(tmp) / "reference"
            shutil.copytree(REFERENCE, repo, symlinks=True)
            log(f"[new-app] run {i + 1}/{runs}")
            r = run([*lint_cmd, *NEW_APP_ARGS, "--repo", str(repo)])
        if r.code != 0:
            out["error"] = f"exit {r.code}; stderr ends: {r.stderr.strip()[-600:]}"
            return out
        walls.append(r.wall)
    out.update(runs=walls, median=median(walls))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="25,1000,5000", help="comma-separated app counts (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement; the median is reported "
                        "(default: %(default)s)")
    parser.add_argument("--json", default=str(PROJECT / "benchmarks" / "out" / "results.json"),
                        help="where to write the results (default: benchmarks/out/results.json)")
    parser.add_argument("--keep", metavar="DIR", help="generate the corpora into DIR/apps-<N> and keep them")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default: %(default)s)")
    parser.add_argument("--violations", type=float, default=0.0,
                        help="fraction of apps given one violation (default: %(default)s)")
    parser.add_argument("--command", help="the gitops-kit command to measure, e.g. 'python -m gitops_kit.cli' "
                        "(default: the console script beside this interpreter)")
    parser.add_argument("--precommit", choices=["1000", "all", "none"], default="1000",
                        help="sizes at which to time the one-file (pre-commit) case (default: %(default)s)")
    parser.add_argument("--no-yamllint", dest="yamllint", action="store_false",
                        help="skip the yamllint comparison even when yamllint is installed")
    parser.add_argument("--no-argocd-source-lint", dest="asl", action="store_false",
                        help="skip the argocd-source-lint comparison even when it is installed")
    parser.add_argument("--argocd-source-lint", dest="asl_command", metavar="CMD",
                        help="the argocd-source-lint command (default: beside this interpreter, else on PATH)")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip measuring examples/reference")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    if not sizes or min(sizes) < 1 or args.runs < 1:
        parser.error("--sizes must be positive integers and --runs at least 1")

    if args.command:
        lint_cmd, how = shlex.split(args.command), "--command"
    else:
        lint_cmd, how = default_lint_command()
    fast_runs = max(args.runs, MIN_RUNS_FAST)
    res: dict[str, Any] = {"meta": {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": ["python", "-m", "benchmarks", *(argv if argv is not None else sys.argv[1:])],
        "machine": platform.machine(), "system": platform.platform(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "pyyaml": yaml.__version__,
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        "lint_command": shlex.join(lint_cmd), "lint_command_is": how, "runs": args.runs,
        "fast_runs": fast_runs, "seed": args.seed, "violations": args.violations,
        "rss_method": "ru_maxrss of the lint process itself from os.wait4 (max over runs); on Linux also the "
                      "peak memory summed over its process tree (Pss, so pages shared copy-on-write with the "
                      "forked rule process count once; VmRSS where Pss is unavailable), sampled every 10 ms in "
                      "the warm-up run; the larger is shown",
        "git": git_state(),
        "load_average_at_start": _loadavg(),
        "bytecode": "PYTHONDONTWRITEBYTECODE removed from the measured commands' environment "
                    f"(it was {'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'not set'} here)",
    }}
    version_run = run([*lint_cmd, "--version"])
    if version_run.code != 0:
        raise SystemExit(f"{shlex.join(lint_cmd)} --version failed (exit {version_run.code}): "
                         f"{version_run.stderr.strip()[-400:]}")
    res["meta"]["gitops_kit_version"] = version_run.stdout.strip()

    log("interpreter start and --version")
    res["python_start"] = {"runs": [run([sys.executable, "-c", "pass"]).wall for _ in range(fast_runs)]}
    res["python_start"]["median"] = median(res["python_start"]["runs"])
    res["version"] = {"runs": [run([*lint_cmd, "--version"]).wall for _ in range(fast_runs)]}
    res["version"]["median"] = median(res["version"]["runs"])
    res["new_app"] = measure_new_app(lint_cmd, fast_runs)

    if not args.reference:
        res["reference_skipped"] = "skipped (--no-reference)"
    elif args.reference and (REFERENCE / "argo").is_dir():
        with tempfile.TemporaryDirectory(prefix="gitops-kit-ref-") as tmp:
            ref = Path(tmp) / "reference"  # a copy, so that no cache is left in the source tree
            shutil.copytree(REFERENCE, ref, symlinks=True)
            floor, lint = measure(lint_cmd, ref, args.runs, "reference")
            res["reference"] = {"dir": "examples/reference", "floor": floor, "lint": lint}
            lint = res["reference"]["lint"]
            if lint.get("median"):
                res["reference"]["ratio"] = lint["median"] / res["reference"]["floor"]["median"]
                res["reference"]["objects_per_second"] = lint["summary"].get("objects", 0) / lint["median"]

    if args.keep:
        base = Path(args.keep).resolve()
        base.mkdir(parents=True, exist_ok=True)
        cleanup = None
    else:
        cleanup = tempfile.mkdtemp(prefix="gitops-kit-bench-")
        base = Path(cleanup)
    try:
        res["sizes"] = [measure_size(n, base, args, lint_cmd) for n in sizes]
    finally:
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)
    res["meta"]["load_average_at_end"] = _loadavg()
    res["targets"] = targets(res)
    sizes_by_n = {e["n"]: e for e in res["sizes"]}
    if 1000 in sizes_by_n and 5000 in sizes_by_n and sizes_by_n[5000]["lint"].get("median") \
            and sizes_by_n[1000]["lint"].get("median"):
        res["linearity_5000_over_1000"] = sizes_by_n[5000]["lint"]["median"] / sizes_by_n[1000]["lint"]["median"]

    text = table(res)
    print(text)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
