"""Kustomize sources rendered as ArgoCD renders them: ``kustomize build`` (or ``kubectl kustomize``)
of a temporary copy whose kustomization carries the Application's ``kustomize:`` overrides.

ArgoCD applies the overrides with ``kustomize edit`` on its working copy (namePrefix, nameSuffix,
images, replicas, commonLabels, commonAnnotations, namespace, components) and appends ``patches``;
here the same fields are set in the copy's kustomization file, with ``kustomize edit``'s merge
semantics (an image or replica entry replaces the one of the same name, labels and annotations
merge key by key). Remote bases need the network: a problem, never fetched. ``helmCharts`` need
``--enable-helm`` and a helm binary: a problem when there is none.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from typing import Any

from .. import yamlio
from ..model import AppSource, Application, RepoModel, SourceFile
from ..yamlio import YMap
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


def render_source(model: RepoModel, app: Application, src: AppSource, options: Options, out: AppRender) -> None:
    """Render one kustomize source of ``app`` into ``out``."""
    from ..checks.kustomize_build import _command, _copy_tree, _first_line
    from ..model.delivery import source_dir
    from ..model.kustomize import tree

    directory = source_dir(model, src)
    found = tree(model, directory) if directory is not None else None
    where = src.pos("path")
    if found is None:
        out.problems.append(Problem("render", f"app {app.name!r}: no kustomization in {src.path!r}", app.path, where,
                                    src.index))
        return
    if found.remotes:
        entry = found.remotes[0]
        out.problems.append(Problem("network", f"app {app.name!r}: kustomization pulls in {entry.ref!r} over the "
                                    "network: not fetched, not rendered", entry.kustomization, entry.pos, src.index))
        return
    command = _command()
    if command is None:
        out.problems.append(Problem("binary", f"app {app.name!r}: neither kustomize nor kubectl is on PATH: the "
                                    "kustomization is not rendered", app.path, where, src.index))
        return
    if found.helm_charts:
        kpath, pos = found.helm_charts[0]
        # kustomize inflates helmCharts by running helm, which downloads the chart: rendering them
        # from the chart cache instead is not built yet
        out.problems.append(Problem("unsupported", f"app {app.name!r}: helmCharts in {kpath} need kustomize "
                                    "--enable-helm, which downloads the chart: not rendered", kpath, pos, src.index))
        return
    overrides = src.get("kustomize")
    root = os.path.realpath(model.root)
    with tempfile.TemporaryDirectory(prefix="gitops-kit-render-") as tmp:
        tmp = os.path.realpath(tmp)
        work, home = os.path.join(tmp, "repo"), os.path.join(tmp, "home")
        os.makedirs(home)
        for d in found.dirs:
            _copy_tree(model, root, d, work, d)
        if isinstance(overrides, YMap):
            kpath, data = found.kustomizations[0]
            edited = apply_overrides(yamlio.plain(data, str_keys=True), yamlio.plain(overrides, str_keys=True))
            with open(os.path.join(work, kpath), "w", encoding="utf-8") as fh:
                json.dump(edited, fh)  # JSON is YAML
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
                                        f"{_first_line(done.stderr, work, {})}", app.path, where, src.index))
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

