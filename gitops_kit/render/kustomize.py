"""Kustomize sources rendered as ArgoCD renders them: ``kustomize build`` (or ``kubectl kustomize``)
of a temporary copy whose kustomization carries the Application's ``kustomize:`` overrides.

ArgoCD applies the overrides with ``kustomize edit`` on its working copy (namePrefix, nameSuffix,
images, replicas, commonLabels, commonAnnotations, namespace, components) and appends ``patches``;
here the same fields are set in the copy's kustomization file, with ``kustomize edit``'s merge
semantics (an image or replica entry replaces the one of the same name, labels and annotations
merge key by key). Remote resources come from the kustomize-build rule's ``substitutes``, else
the remote-resource cache (``gitops-kit charts pull``; never fetched here); ``helmCharts`` are
rendered from the chart cache with the Helm SDK (:mod:`.helmcharts`) and listed as plain resources,
so kustomize runs without ``--enable-helm`` and still applies every transformer to them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .. import yamlio
from ..model import AppSource, Application, RepoModel, SourceFile
from ..yamlio import YMap, YSeq
from . import AppRender, Options, Problem, RenderedObject

MAX_OUTPUT = 64 * 1024 * 1024


def _image(spec: str) -> dict[str, str]:
    """One ArgoCD ``kustomize.images`` entry (``name=new:tag``, ``name:tag``, ``name@digest``) as a
    kustomization ``images`` item."""
    name, _, new = spec.partition("=")
    target = new or name
    out: dict[str, str] = {}
    digest = None
    if "@" in target:
        target, digest = target.split("@", 1)
    slash = target.rfind("/")
    colon = target.rfind(":")
    tag = None
    if colon > slash:
        target, tag = target[:colon], target[colon + 1:]
    if new:
        out["name"] = name
        if target != name:
            out["newName"] = target
    else:
        out["name"] = target
    if tag:
        out["newTag"] = tag
    if digest:
        out["digest"] = digest
    return out


def _merge_named(items: Any, new: list[dict]) -> list:
    """kustomize edit set image/replicas: an entry replaces the one with the same name."""
    old = [i for i in (items if isinstance(items, list) else []) if isinstance(i, dict)]
    names = {n.get("name") for n in new}
    return [i for i in old if i.get("name") not in names] + new


def apply_overrides(kustomization: dict, overrides: dict) -> dict:
    """The kustomization (plain data) with an Application's ``kustomize:`` block applied."""
    out = dict(kustomization)
    for key in ("namePrefix", "nameSuffix", "namespace"):
        if isinstance(overrides.get(key), str) and overrides[key]:
            out[key] = overrides[key]
    images = overrides.get("images")
    if isinstance(images, list):
        out["images"] = _merge_named(out.get("images"), [_image(str(i)) for i in images if isinstance(i, str)])
    replicas = overrides.get("replicas")
    if isinstance(replicas, list):
        out["replicas"] = _merge_named(out.get("replicas"), [
            {"name": str(r.get("name")), "count": int(str(r.get("count")))} for r in replicas
            if isinstance(r, dict) and r.get("name") is not None and str(r.get("count")).lstrip("-").isdigit()])
    for key in ("commonLabels", "commonAnnotations"):
        if isinstance(overrides.get(key), dict):
            merged = dict(out.get(key) or {}) if isinstance(out.get(key), dict) else {}
            merged.update({str(k): str(v) for k, v in overrides[key].items()})
            out[key] = merged
    components = overrides.get("components")
    if isinstance(components, list):
        have = list(out.get("components") or [])
        out["components"] = have + [c for c in components if isinstance(c, str) and c not in have]
    patches = overrides.get("patches")
    if isinstance(patches, list):
        out["patches"] = list(out.get("patches") or []) + [p for p in patches if isinstance(p, dict)]
    return out


def substitutes(model: RepoModel) -> dict[str, str]:
    """The kustomize-build rule's ``substitutes`` (remote URL -> repository path); they win over the
    remote-resource cache."""
    from ..charts.resources import substitutes as read

    return read(model.config)


def prepare(model: RepoModel, found: Any, work: str, *, subs: dict[str, str], locate_chart: Any,
            locate_resource: Any, backend: str, timeout: float | None, app: str | None = None,
            overrides: dict | None = None) -> tuple[dict[str, str], list[Any], list[Any]]:
    """Copy the kustomizations of ``found`` into ``work`` and make them build offline: each remote
    resource becomes its substitute (the kustomize-build rule's ``substitutes``, first) or the cached
    copy of the remote-resource cache; each ``helmCharts`` entry becomes the file of its rendered
    objects (see :mod:`.helmcharts`), listed in ``resources``; an Application's ``kustomize:``
    ``overrides`` go into the first kustomization.

    Returns (temporary name -> repository path or URL, for messages; blockers that stop the build;
    notes that do not)."""
    from ..charts.resources import ResourceChanged, ResourceError, ResourceMiss, clean
    from ..checks.kustomize_build import _copy_file, _copy_tree
    from ..model.kustomize import RESOURCE_FIELDS, is_remote
    from .helmcharts import Blocked, Blocker, inflate

    root = os.path.realpath(model.root)
    renames: dict[str, str] = {}
    blockers: list[Blocker] = []
    notes: list[Blocker] = []
    remote_blockers: list[Blocker] = []
    for d in found.dirs:
        _copy_tree(model, root, d, work, d)
    for n, (kpath, data) in enumerate(found.kustomizations):
        rewritten = yamlio.plain(data, str_keys=True)
        kdir = os.path.dirname(kpath)
        changed = False
        for fld in RESOURCE_FIELDS:
            seq = data.get(fld)
            if not isinstance(seq, YSeq):
                continue
            for i, ref in enumerate(seq):
                if not isinstance(ref, str) or not is_remote(ref):
                    continue
                url = ref.strip()
                pos = seq.item_pos(i)
                local = subs.get(url)
                if local is not None:
                    if not model.exists(local) or local.startswith(".."):
                        blockers.append(Blocker("network", f"substitute {local!r} of remote resource {clean(url)} does not "
                                                "exist in the repository", kpath, pos))
                        continue
                    name = f"gitops-kit-substitute-{len(renames)}"
                    name += os.path.splitext(local)[1] if local in model.all_files else ""
                    dest = os.path.join(kdir, name) if kdir else name
                    if local in model.all_files:
                        _copy_file(root, local, work, dest)
                    else:
                        _copy_tree(model, root, local, work, dest)
                    renames[dest] = local
                else:
                    try:
                        cached = locate_resource(url)
                    except ResourceError as exc:
                        kind = ("cache-miss" if isinstance(exc, ResourceMiss) else
                                "digest" if isinstance(exc, ResourceChanged) else "network")
                        remote_blockers.append(Blocker(kind, str(exc), kpath, pos,
                                                       clean(url) if kind != "network" else None))
                        continue
                    name = f"gitops-kit-remote-{len(renames)}{os.path.splitext(url.split('?')[0])[1] or '.yaml'}"
                    dest = os.path.join(kdir, name) if kdir else name
                    target = os.path.join(work, dest)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copyfile(cached, target)
                    renames[dest] = clean(url)  # messages name it: never with the URL's credentials
                rewritten[fld][i] = name
                changed = True
        charts = data.get("helmCharts")
        if isinstance(charts, YSeq) and charts:
            files = []
            for i, entry in enumerate(charts):
                if not isinstance(entry, YMap):
                    continue
                try:
                    with tempfile.TemporaryDirectory(prefix="gitops-kit-helmchart-") as tmp:
                        done = inflate(model, kpath, entry, data.get("helmGlobals"), locate_chart, backend, timeout,
                                       Path(tmp), app)
                except Blocked as exc:
                    blockers.append(exc.blocker)
                    continue
                notes.extend(done.notes)
                name = f"gitops-kit-helmchart-{i}.yaml"
                dest = os.path.join(kdir, name) if kdir else name
                with open(os.path.join(work, dest), "w", encoding="utf-8") as fh:
                    fh.write(done.text)
                renames[dest] = f"{kpath} helmCharts[{i}]"
                files.append(name)
            rewritten.pop("helmCharts", None)
            rewritten.pop("helmGlobals", None)
            # kustomize runs generators after the resources: the chart's objects come last
            rewritten["resources"] = list(rewritten.get("resources") or []) + files
            changed = True
        if n == 0 and overrides is not None:
            rewritten = apply_overrides(rewritten, overrides)
            changed = True
        if changed:
            with open(os.path.join(work, kpath), "w", encoding="utf-8") as fh:
                json.dump(rewritten, fh)  # JSON is YAML: every other field stays as it was
    if remote_blockers:
        # one problem per kustomization tree: the first remote resource, and how many more
        first = remote_blockers[0]
        more = len(remote_blockers) - 1
        suffix = f" (and {more} more remote resource{'s' if more > 1 else ''})" if more else ""
        blockers.insert(0, Blocker(first.kind, first.message + suffix, first.path, first.pos, first.chart))
    return renames, blockers, notes


def helm_backend(renderer: str) -> str:
    """The backend helmCharts are inflated with ("sdk", "helm" or "none")."""
    from . import choose_renderer

    return choose_renderer(renderer)


def render_source(model: RepoModel, app: Application, src: AppSource, options: Options, out: AppRender) -> None:
    """Render one kustomize source of ``app`` into ``out``."""
    from ..charts.resources import locate as locate_resource
    from ..checks.kustomize_build import _command, _first_line
    from ..model.delivery import source_dir
    from ..model.kustomize import tree

    directory = source_dir(model, src)
    found = tree(model, directory) if directory is not None else None
    where = src.pos("path")
    if found is None:
        out.problems.append(Problem("render", f"app {app.name!r}: no kustomization in {src.path!r}", app.path, where,
                                    src.index))
        return
    command = _command()
    if command is None:
        out.problems.append(Problem("binary", f"app {app.name!r}: neither kustomize nor kubectl is on PATH: the "
                                    "kustomization is not rendered", app.path, where, src.index))
        return
    backend = helm_backend(options.renderer) if found.helm_charts else "none"
    if found.helm_charts and backend == "none":
        from . import limits

        kpath, pos = found.helm_charts[0]
        out.problems.append(Problem("binary", f"app {app.name!r}: helmCharts in {kpath}: {limits('none', '')[0]}",
                                    kpath, pos, src.index))
        return
    overrides = src.get("kustomize")
    plain_overrides = yamlio.plain(overrides, str_keys=True) if isinstance(overrides, YMap) else None
    if options.locate is not None:
        locate_chart = options.locate
    else:
        from ..charts import locate as locate_chart
    find_resource = options.locate_resource or (lambda url: locate_resource(url, None, app.name))
    with tempfile.TemporaryDirectory(prefix="gitops-kit-render-") as tmp:
        tmp = os.path.realpath(tmp)
        work, home = os.path.join(tmp, "repo"), os.path.join(tmp, "home")
        os.makedirs(home)
        renames, blockers, notes = prepare(
            model, found, work, subs=substitutes(model), locate_chart=locate_chart,
            locate_resource=find_resource, backend=backend,
            timeout=options.timeout, app=app.name, overrides=plain_overrides)
        for b in [*blockers, *notes]:
            message = b.message if b.message.startswith("app ") else f"app {app.name!r}: {b.message}"
            if b.kind == "network" and "not rendered" not in message:
                message += ": not rendered"
            out.problems.append(Problem(b.kind, message, b.path, b.pos, src.index, b.chart))
        if blockers:
            return
        target = os.path.join(work, directory) if directory else work
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home}
        try:
            done = subprocess.run([*command, "--", target], cwd=tmp, capture_output=True, text=True,
                                  timeout=options.timeout, env=env, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            out.problems.append(Problem("render", f"app {app.name!r}: kustomize did not finish within "
                                        f"{options.timeout:g} s", app.path, where, src.index))
            return
        except OSError as exc:
            out.problems.append(Problem("binary", f"app {app.name!r}: could not run kustomize: {exc.strerror}",
                                        app.path, where, src.index))
            return
        if done.returncode != 0:
            out.problems.append(Problem("render", f"app {app.name!r}: kustomize build fails: "
                                        f"{_first_line(done.stderr, work, renames)}", app.path, where, src.index))
            return
    if len(done.stdout) > MAX_OUTPUT:
        out.problems.append(Problem("render", f"app {app.name!r}: kustomize wrote more than {MAX_OUTPUT} bytes",
                                    app.path, where, src.index))
        return
    template = found.path
    from .helm import rendered_path

    loaded = yamlio.load_text(done.stdout)
    sf = SourceFile(rendered_path(model, app, src.index, template), done.stdout, loaded.documents, loaded.problems)
    for doc in loaded.documents:
        data = doc.data
        if isinstance(data, YMap) and isinstance(data.get("kind"), str) and isinstance(data.get("apiVersion"), str):
            out.objects.append(RenderedObject(app.name, src.index, template, data, sf, doc.index))
    out.rendered.add(src.index)
