"""apply-size: an Application syncs an object too large for client-side apply.

``kubectl apply`` (ArgoCD's default) stores the whole object as JSON in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation, and the API server refuses
annotations over 262,144 bytes in total ("metadata.annotations: Too long"). The size is the
object's compact JSON as Go encodes it (``<``, ``>`` and ``&`` escaped to six bytes). The way out
is ``ServerSideApply=true`` (or ``Replace=true``) in the Application's ``syncPolicy.syncOptions``
or in the object's ``argocd.argoproj.io/sync-options`` annotation (an object's
``ServerSideApply=false`` overrides the Application's true; Replace wins over both). Objects are
those of this repository the Application's directory and kustomize sources deliver; Helm charts
need rendering and are not judged.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from ..findings import Hit
from ..model import Application, K8sObject, RepoModel
from ..yamlio import YMap, YSeq, plain
from . import _kustomize as k

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    limit = int(params.get("max_bytes") or 262144)
    sizes: dict[Any, int | None] = {}  # id(object) -> bytes; path -> -1 small file, 1 large
    for app in model.applications:
        app_opts = _options(_app_options(app))
        if app_opts.get("Replace") == "true":
            continue
        for src in app.sources:
            objects = k.delivered(model, app, src)
            for obj in objects or ():
                if not model.relevant(app.path, obj.path):
                    continue  # measuring an object costs: a focused run measures what it can report
                size = _size(obj, limit, sizes)
                if size is None or size <= limit:
                    continue
                obj_opts = _options(obj.annotations().get(SYNC_OPTIONS))
                if obj_opts.get("Replace") == "true":
                    continue
                ssa = obj_opts.get("ServerSideApply", app_opts.get("ServerSideApply"))
                if ssa == "true":
                    continue
                yield _hit(app, obj, size, limit, ssa == "false" and "ServerSideApply" in obj_opts)


def _app_options(app: Application) -> Any:
    policy = app.sync_policy
    return policy.get("syncOptions") if policy is not None else None


def _options(value: Any) -> dict[str, str]:
    """Sync options as name -> value (a list of "Name=value", or the annotation's comma list)."""
    items = value.split(",") if isinstance(value, str) else (value if isinstance(value, (list, YSeq)) else [])
    out: dict[str, str] = {}
    for item in items:
        if isinstance(item, str) and "=" in item:
            name, _, val = item.strip().partition("=")
            out[name.strip()] = val.strip().lower()
    return out


def _size(obj: K8sObject, limit: int, sizes: dict[Any, int | None]) -> int | None:
    """Bytes of the object's compact JSON; None when it cannot come near ``limit`` (not computed)."""
    key = id(obj.data)
    if key in sizes:
        return sizes[key]
    small = sizes.get(obj.path, 0)
    if small == 0:
        text = obj.file.text or ""
        # Compact JSON is at most about 3x the YAML that holds it (quotes around one-letter keys
        # and items) plus Go's six-byte escapes; only aliases ("*name") grow it beyond that, so
        # small files without one are skipped.
        bound = 3 * len(text.encode("utf-8")) + 5 * sum(text.count(c) for c in "<>&")
        small = sizes[obj.path] = -1 if bound < limit and "*" not in text else 1
    if small < 0:
        sizes[key] = None
        return None
    encoded = json.dumps(plain(obj.data, str_keys=True), separators=(",", ":"), ensure_ascii=False, default=str)
    size = len(encoded.encode("utf-8")) + 5 * sum(encoded.count(c) for c in "<>&")  # Go writes \u003c
    sizes[key] = size
    return size


def _hit(app: Application, obj: K8sObject, size: int, limit: int, opted_out: bool) -> Hit:
    policy = app.sync_policy
    spec = app.obj.data.get("spec")
    if policy is not None:
        pos = app.spec.key_pos("syncPolicy")
        opts = policy.get("syncOptions")
        if isinstance(opts, (YSeq, list)):
            pos = policy.key_pos("syncOptions")
    else:
        pos = app.obj.data.key_pos("spec") if isinstance(spec, YMap) else app.obj.pos
    what = f"{obj.kind} {obj.name!r}" if obj.name else f"a {obj.kind}"
    why = (f"its own {SYNC_OPTIONS}: ServerSideApply=false turns server-side apply off" if opted_out else
           "without ServerSideApply=true")
    return Hit(app.path, pos,
               f"Application {app.name!r} syncs {what} ({obj.path}) {why}: its JSON is {size:,} bytes, over the "
               f"{limit:,}-byte limit of the kubectl.kubernetes.io/last-applied-configuration annotation of "
               "client-side apply, so the sync fails with \"metadata.annotations: Too long\"; add "
               "ServerSideApply=true to spec.syncPolicy.syncOptions",
               app=app.name or None, key=f"{app.obj.identity()}:{obj.path}:{obj.identity()}",
               related=((obj.path, obj.pos),))
