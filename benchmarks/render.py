"""``python -m benchmarks.render``: ``lint --render`` and the renderer's overhead (issue 16).

- ``gitops-kit lint --render --no-cache --format json`` of the 25-app reference example (a copy
  whose chart URLs go to the upstream charts of ../shared served on 127.0.0.1, vault at 0.33.0)
  with a warm chart cache, as a whole process, median wall time of ``--runs`` after one warm-up;
  target: 2.5 s on 2 cores.
- per Application whose chart is served: our render (:func:`gitops_kit.render.render_app`: values
  merge, chart from the cache, render, parse into objects with positions) against the same render
  through the Helm SDK called directly (``Chart.load(tgz).render(values)`` with the same values,
  CRDs included); median of ``--runs``; target: ours within 1.5x.

Needs ../shared/upstream/charts and the [render] extra; prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "tests"))  # the served-charts fixture is the tests' own

LINT_TARGET = 2.5
OVERHEAD_TARGET = 1.5


def _median(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=PROJECT / "benchmarks" / "out" / "render.json")
    args = parser.parse_args(argv)
    from served_charts import CHARTS, serve

    if not (CHARTS / "MAPPING.tsv").is_file():
        print("../shared/upstream/charts is absent: nothing to measure", file=sys.stderr)
        return 2
    from render_helpers import served_reference, warm_cache

    tmp = Path(tempfile.mkdtemp(prefix="gitops-kit-bench-render-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "xdg")
    with serve() as server:
        root = served_reference(tmp / "repo", server.mirrors)
        missing = warm_cache(root)
    results: dict = {"cores": os.cpu_count(), "runs": args.runs, "not_served": missing}

    cmd = [sys.executable, "-m", "gitops_kit.cli", "lint", "--render", "--no-cache", "--format", "json",
           "--exit-zero", str(root)]
    env = dict(os.environ)
    subprocess.run(cmd, capture_output=True, env=env, check=False)  # warm-up (page cache, imports)
    wall = _median(lambda: subprocess.run(cmd, capture_output=True, env=env, check=False), args.runs)
    plain_cmd = [c for c in cmd if c != "--render"]
    plain = _median(lambda: subprocess.run(plain_cmd, capture_output=True, env=env, check=False), args.runs)
    results["lint_render_s"], results["lint_plain_s"] = wall, plain
    print(f"lint --render, 25-app reference, warm cache: {wall:.3f} s (plain lint {plain:.3f} s; "
          f"target {LINT_TARGET} s: {'PASS' if wall <= LINT_TARGET else 'FAIL'})")

    from gitops_kit import config as config_mod
    from gitops_kit.charts import ChartError, chart_refs, locate
    from gitops_kit.model import build

    model = build(root, config_mod.load(root))
    rows = []
    for app in model.child_apps():
        src = next((s for s in app.sources if s.chart), None)
        if src is None:
            continue
        ref = next((r for owner, r in chart_refs(model, app) if owner is src), None)
        try:
            tgz = locate(ref) if ref is not None else None
        except ChartError:
            tgz = None
        if tgz is None:
            continue
        rows.append(_measure(model, app, src, ref, tgz, args.runs))
    results["charts"] = rows
    print(f"{'app':22} {'chart':32} {'sdk ms':>7} {'render':>7} {'ratio':>6} {'+parse':>7} {'ratio':>6} "
          f"{'sdk+yaml':>8} {'ratio':>6}")
    for row in rows:
        print(f"{row['app']:22} {row['chart']:32} {row['sdk_ms']:7.1f} {row['ours_text_ms']:7.1f} "
              f"{row['ratio_text']:6.2f} {row['ours_ms']:7.1f} {row['ratio']:6.2f} {row['sdk_parsed_ms']:8.1f} "
              f"{row['ratio_parsed']:6.2f}")
    for key, num, den, what in (
            ("ratio_text", "ours_text_ms", "sdk_ms", "render to manifests / SDK direct"),
            ("ratio", "ours_ms", "sdk_ms", "render + parse into objects / SDK direct"),
            ("ratio_parsed", "ours_ms", "sdk_parsed_ms",
             "render + parse into objects / SDK direct + libyaml parse (no positions)")):
        worst = max((r[key] for r in rows), default=0.0)
        total = sum(r[num] for r in rows) / max(1e-9, sum(r[den] for r in rows))
        results[f"worst_{key}"], results[f"total_{key}"] = worst, total
        print(f"{what}: worst {worst:.2f}x, all charts together {total:.2f}x "
              f"(target {OVERHEAD_TARGET}x: {'PASS' if worst <= OVERHEAD_TARGET else 'FAIL'})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _measure(model, app, src, ref, tgz, runs: int) -> dict:
    """Our render of one app's chart against the SDK called directly with the same inputs."""
    import yaml
    from helm_python import Chart

    from gitops_kit.charts import locate
    from gitops_kit.model.values import helm_values
    from gitops_kit.render import Options, render_app
    from gitops_kit.render.helm import _render_sdk, release_name, skip_crds

    values = helm_values(model, app, src).tree

    def direct() -> None:
        with Chart.load(tgz) as chart:
            chart.render(values, name=release_name(app, src), namespace=app.dest_namespace, is_install=True)
            _ = chart.crds

    def direct_parsed() -> None:
        # the floor of any reader of the render: the SDK's output parsed by libyaml, no positions
        with Chart.load(tgz) as chart:
            manifests = chart.render(values, name=release_name(app, src), namespace=app.dest_namespace,
                                     is_install=True)
            texts = [str(c.get("data") or "") for c in chart.crds]
            texts += [text for name, text in manifests.items() if not name.endswith("NOTES.txt")]
        for text in texts:
            list(yaml.load_all(text, Loader=yaml.CBaseLoader))  # libyaml, scalars as strings

    def ours() -> None:
        model.memo.pop("helm_values", None)  # the values merge is part of our cost
        render_app(model, app, Options(renderer="sdk"))

    def ours_text() -> None:
        # the same path up to the rendered manifests: values merge, the cache, the SDK call
        # (without parsing the manifests into objects with positions for the rules)
        model.memo.pop("helm_values", None)
        merged = helm_values(model, app, src).tree
        _render_sdk(locate(ref), merged, release_name(app, src), app.dest_namespace, skip_crds(src))

    ours()
    direct()
    t_ours, t_direct = _median(ours, runs), _median(direct, runs)
    t_text = _median(ours_text, runs)
    t_floor = _median(direct_parsed, runs)
    return {"app": app.name, "chart": f"{src.chart} {src.target_revision}", "ours_ms": t_ours * 1000,
            "ours_text_ms": t_text * 1000, "sdk_ms": t_direct * 1000, "ratio": t_ours / t_direct,
            "ratio_text": t_text / t_direct, "sdk_parsed_ms": t_floor * 1000, "ratio_parsed": t_ours / t_floor}


if __name__ == "__main__":
    raise SystemExit(main())
