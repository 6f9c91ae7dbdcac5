"""``python -m benchmarks.check_update``: check-update on the 25-app reference with three bumped apps.

A copy of examples/reference whose chart URLs go to the upstream charts of ../shared served on
127.0.0.1 (``charts.mirrors``), committed as the base with vault 0.33.0, traefik 41.2.0 and the
registry umbrella's harbor 1.18.4, then the head with vault 0.34.1, traefik 41.3.0 and harbor
1.19.1. The chart cache is warm (all six versions pulled first). Measured: the whole process
``gitops-kit check-update --base HEAD~1 --format markdown --output html=... --output json=...``,
median wall time of ``--runs`` after one warm-up. Target: 3 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "tests"))  # the served-charts fixture is the tests' own
TARGET = 3.0
BUMPS = {  # file: (base pattern, base value, head value)
    "argo/platform/vault-ha-app.yaml": (r"targetRevision: 0\.33\.0", "targetRevision: 0.33.0",
                                        "targetRevision: 0.34.1"),
    "argo/bootstrap/traefik-app.yaml": (r"targetRevision: 39\.0\.1", "targetRevision: 41.2.0",
                                        "targetRevision: 41.3.0"),
    "apps/helm/registry/Chart.yaml": (r"version: 1\.18\.2", "version: 1.18.4", "version: 1.19.1"),
}
PULLS = [("https://helm.releases.hashicorp.com", "vault", v) for v in ("0.33.0", "0.34.1")] + \
    [("https://traefik.github.io/charts", "traefik", v) for v in ("41.2.0", "41.3.0")] + \
    [("https://helm.goharbor.io", "harbor", v) for v in ("1.18.4", "1.19.1")]


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@e", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@e"}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def prepare(tmp: Path, mirrors: dict[str, str]) -> Path:
    from render_helpers import served_reference

    root = served_reference(tmp / "repo", mirrors)
    values = root / "apps/helm/traefik/values.yaml"  # traefik 41's schema has no `logs` (the reference is on 39.x)
    values.write_text(re.sub(r"logs:\n(?:  .*\n)+", "", values.read_text()))
    for rel, (pattern, base, _head) in BUMPS.items():
        path = root / rel
        path.write_text(re.sub(pattern, base, path.read_text(), count=1))
    _git(root, "init", "-q", "-b", "master")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    for rel, (_pattern, base, head) in BUMPS.items():
        path = root / rel
        path.write_text(path.read_text().replace(base, head, 1))
    _git(root, "commit", "-qam", "renovate: three bumps")
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.check_update")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=PROJECT / "benchmarks" / "out" / "check_update.json")
    args = parser.parse_args(argv)
    from served_charts import CHARTS, serve

    if not (CHARTS / "MAPPING.tsv").is_file():
        print("../shared/upstream/charts is absent: nothing to measure", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="gitops-kit-bench-update-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "xdg")
    from gitops_kit.charts import ChartRef
    from gitops_kit.charts.fetch import Session

    with serve() as server:
        root = prepare(tmp, server.mirrors)
        session = Session(dict(server.mirrors))
        for url, chart, version in PULLS:
            session.pull(ChartRef(url, chart, version))
    out = tmp / "out"
    cmd = [sys.executable, "-m", "gitops_kit.cli", "check-update", str(root), "--base", "HEAD~1", "--format",
           "markdown", "--output", f"html={out}/check-update.html", "--output", f"json={out}/check-update.json"]
    first = subprocess.run(cmd, capture_output=True, text=True, check=False)  # warm-up (page cache, imports)
    doc = json.loads((out / "check-update.json").read_text())
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    wall = statistics.median(times)
    apps = {a["app"]: (a["verdict"], a["objects"], a["risk_count"]) for a in doc["apps"]}
    result = {"cores": os.cpu_count(), "runs": args.runs, "median_s": wall, "min_s": min(times), "target_s": TARGET,
              "exit_code": first.returncode, "apps": apps, "comment_chars": len(first.stdout)}
    print(f"check-update, 25-app reference, 3 bumped apps, warm chart cache: {wall:.3f} s median "
          f"(min {min(times):.3f} s, {args.runs} runs, {os.cpu_count()} cores; target {TARGET} s: "
          f"{'PASS' if wall <= TARGET else 'FAIL'})")
    for name, (verdict, objects, risks) in apps.items():
        print(f"  {name}: {verdict}, objects {objects}, {risks} risk(s)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if wall <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
