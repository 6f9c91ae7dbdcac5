"""kustomize-build: a kustomization an Application renders does not build (disabled by default).

Runs ``kustomize build`` (or ``kubectl kustomize``) on a temporary copy of each kustomization
directory an Application of this repository uses as a source, with the directories it pulls in.
Offline: a remote resource is replaced by the repository file or directory the ``substitutes``
parameter maps its URL to, else by its copy in the remote-resource cache (``gitops-kit charts
pull`` fills it for URLs that pin a tag or commit), the kustomization being rewritten in the
copy; without either the kustomization is not built and an info finding names the URL.
``helmCharts`` are rendered from the chart cache with the Helm SDK and listed as plain resources
(:mod:`gitops_kit.render.helmcharts`); a chart missing from the cache is an info finding naming
``gitops-kit charts pull``. Never ``--enable-helm``, ``--enable-alpha-plugins`` or ``--enable-exec``; a timeout; an
environment of PATH and a fresh empty HOME only; the one positional argument is an absolute
temporary path after ``--``. The finding is the first line of kustomize's error, with the
temporary paths made repository-relative, at the kustomization file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from typing import Any, Iterator

from ..findings import Hit, Severity
from ..model import RepoModel
from . import _kustomize as k

_KUBECTL_ERR = re.compile(r'err="((?:[^"\\]|\\.)*)"')
_MAX_COPY = 5 * 1024 * 1024  # per file: larger ones are not copied (lint skips them too)


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    substitutes = {str(url).strip(): k.resolve(k.Entry("", "", str(path), (1, 1)))
                   for url, path in (params.get("substitutes") or {}).items()}
    timeout = float(params.get("timeout") or 30)
    apps: dict[str, str] = {}
    for directory, app, _src in k.kustomize_dirs(model):
        apps.setdefault(directory, app.name)
    targets = sorted(apps)
    trees = [t for t in (k.tree(model, d) for d in targets) if t is not None]
    trees = [t for t in trees if any(model.in_focus(path) for path, _data in t.kustomizations)]
    if not trees:
        return
    command = _command()
    if command is None:
        first = trees[0]
        yield Hit(first.path, first.kustomizations[0][1].pos,
                  f"not checked: neither kustomize nor kubectl is on PATH, so the {len(trees)} kustomization(s) "
                  "that Applications render were not built", severity=Severity.INFO, key="no-binary")
        return
    for found in trees:
        app = apps.get(os.path.dirname(found.path))
        blockers, message, renames = _build(model, found, substitutes, command, timeout, app)
        for b in blockers:
            hint = " (or map the URL to a local copy in this rule's substitutes)" if "remote resource" in b.message \
                else ""
            yield Hit(b.path, b.pos, f"not checked: {b.message}{hint}", severity=Severity.INFO,
                      key=f"{b.path}:{b.kind}:{b.chart or b.message}")
        if message is not None:
            path, pos = _place(found, message, substitutes)
            yield Hit(path, pos, f"kustomize build fails: {message}", key=f"{found.path}:build")


def _place(found: k.Tree, message: str, substitutes: dict[str, str]) -> tuple[str, tuple[int, int]]:
    """The entry kustomize's error quotes ("accumulating resources from 'x.yaml'"), else the file."""
    for kpath, data in found.kustomizations:
        for entry in k.entries(kpath, data):
            if f"'{entry.ref}'" in message or f"'{substitutes.get(entry.ref)}'" in message:
                return entry.kustomization, entry.pos
    return found.path, found.kustomizations[0][1].pos


def _command() -> list[str] | None:
    kustomize = shutil.which("kustomize")
    if kustomize:
        return [kustomize, "build"]
    kubectl = shutil.which("kubectl")
    return [kubectl, "kustomize"] if kubectl else None


def _build(model: RepoModel, found: k.Tree, substitutes: dict[str, str], command: list[str],
           timeout: float, app: str | None = None) -> tuple[list[Any], str | None, dict[str, str]]:
    """(what kept the copy from being built, kustomize's error or None, renames) for a temporary copy
    of ``found`` whose remote resources are their substitutes or cached copies and whose helmCharts
    are rendered from the chart cache (:func:`gitops_kit.render.kustomize.prepare`)."""
    from ..charts import locate as locate_chart
    from ..charts.resources import locate as locate_resource
    from ..render.kustomize import helm_backend, prepare

    backend = helm_backend("auto") if found.helm_charts else "none"
    if found.helm_charts and backend == "none":
        from ..render.helmcharts import Blocker

        kpath, pos = found.helm_charts[0]
        return [Blocker("binary", "helmCharts need a Helm renderer (pip install 'gitops-kit[render]'), which this "
                        "machine lacks", kpath, pos)], None, {}
    with tempfile.TemporaryDirectory(prefix="gitops-kit-kustomize-") as tmp:
        tmp = os.path.realpath(tmp)
        work, home = os.path.join(tmp, "repo"), os.path.join(tmp, "home")
        os.makedirs(home)
        renames, blockers, _notes = prepare(model, found, work, subs=substitutes, locate_chart=locate_chart,
                                            locate_resource=lambda url: locate_resource(url, None, app),
                                            backend=backend, timeout=timeout, app=app)
        if blockers:
            return blockers, None, renames
        target = os.path.join(work, os.path.dirname(found.path)) if os.path.dirname(found.path) else work
        try:
            done = subprocess.run([*command, "--", target], cwd=tmp, capture_output=True, text=True,
                                  timeout=timeout, env={"PATH": os.environ.get("PATH", ""), "HOME": home},
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            return [], f"did not finish within {timeout:g} s", renames
        except OSError as exc:
            return [], f"could not run {os.path.basename(command[0])}: {exc.strerror}", renames
        if done.returncode == 0:
            return [], None, renames
        return [], _first_line(done.stderr, work, renames), renames


def _first_line(stderr: str, work: str, renames: dict[str, str]) -> str:
    # kustomize's deprecation warnings ("# Warning: 'commonLabels' is deprecated") come first
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if not ln.lstrip("# ").startswith("Warning:")]
    line = (errors or lines or ["exit status without a message"])[0]
    if line.endswith("err=<") and line in lines:
        # kubectl's multi-line form: err=< then the message, tab-indented, up to a line " >"
        rest = lines[lines.index(line) + 1:]
        body = rest[:rest.index(">")] if ">" in rest else rest
        line = " ".join(" ".join(body).split()) or line
    m = _KUBECTL_ERR.search(line)  # kubectl logs: E1204 ... run.go:72] "command failed" err="..."
    if m:
        line = re.sub(r"\\(.)", r"\1", m.group(1))
    line = line.removeprefix("Error: ").removeprefix("error: ")
    for temp, repo in sorted(renames.items(), key=lambda item: -len(item[0])):
        line = line.replace(os.path.join(work, temp), repo).replace(os.path.basename(temp), repo)
    line = line.replace(work + os.sep, "").replace(work, ".")
    return line if len(line) <= 400 else line[:397] + "..."


def _copy_tree(model: RepoModel, root: str, directory: str, work: str, dest: str) -> None:
    prefix = directory + "/" if directory else ""
    for rel in model.all_files:
        if rel.startswith(prefix):
            _copy_file(root, rel, work, dest + "/" + rel[len(prefix):] if dest else rel[len(prefix):])


def _copy_file(root: str, rel: str, work: str, dest: str) -> None:
    """Copy one repository file into the work tree; links out of the repository are not followed."""
    source = os.path.realpath(os.path.join(root, rel))
    if os.path.commonpath([root, source]) != root or not os.path.isfile(source):
        return
    if os.path.getsize(source) > _MAX_COPY:
        return
    target = os.path.join(work, dest)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(source, target)
