"""Render what ArgoCD deploys: the objects of each Application's sources, offline.

One interface (:func:`render_app`), several backends chosen per source:

- Helm charts (remote ones from the chart cache, umbrella charts of this repository with their
  dependencies): in-process through the Helm SDK (``helm_python``, the ``[render]`` extra), or a
  ``helm`` binary (``renderer: helm``, or ``auto`` without the SDK). See :mod:`.helm`.
- Kustomizations with the Application's ``kustomize:`` overrides, through ``kustomize`` or
  ``kubectl kustomize`` in a temporary copy. See :mod:`.kustomize`.
- Directory sources: the repository's own files the source delivers (already parsed by the model).

Nothing here uses the network: a chart the cache lacks is a :class:`Problem` naming the chart and
the command that fetches it. Nothing is written into the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

from ..model import AppSource, Application, RepoModel, SourceFile
from ..yamlio import YMap

__all__ = ["RenderedObject", "Problem", "AppRender", "Options", "render_app", "render_apps", "ordered",
           "choose_renderer", "limits"]

HOOK = "argocd.argoproj.io/hook"
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"


@dataclass
class RenderedObject:
    """One object a source renders, with where it came from."""

    app: str
    source: int  # index of the source in spec.sources (-1: spec.source)
    template: str  # chart template ("vault/templates/server-statefulset.yaml") or file / kustomization
    data: YMap  # the object, with positions in ``file``
    file: SourceFile  # the rendered text it was parsed from (one per template)
    doc: int  # its document index in ``file``

    @property
    def kind(self) -> str:
        return str(self.data.get("kind") or "")

    @property
    def name(self) -> str:
        meta = self.data.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        return str(name) if name is not None else ""


@dataclass(frozen=True)
class Problem:
    """Why a source could not be rendered (completely): a one-line message, never a secret.

    ``kind``: "cache-miss", "digest", "render", "values", "dependency", "binary", "network", "unsupported".
    ``path``/``pos``: where in the repository it stands (a values file line, the Application's source).
    """

    kind: str
    message: str
    path: str
    pos: tuple[int, int]
    source: int = -1
    chart: str | None = None  # the chart label, for one finding per chart


@dataclass
class AppRender:
    """What rendering one Application gave."""

    app: Application
    objects: list[RenderedObject] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rendered: set[int] = field(default_factory=set)  # indexes of the sources rendered completely
    values: dict[int, Any] = field(default_factory=dict)  # source index -> the Values used (for origins)


@dataclass
class Options:
    """How to render: the backend choice and where remote charts come from."""

    renderer: str = "auto"  # auto | sdk | helm
    # ChartRef -> path of its verified .tgz (default: the chart cache's ``locate``, offline)
    locate: Callable[[Any], Any] | None = None
    # remote resource URL -> path of its verified cached copy (default: the resource cache's
    # ``locate``, offline)
    locate_resource: Callable[[str], Any] | None = None
    timeout: float = 60.0


def choose_renderer(wanted: str) -> str:
    """The Helm backend to use: "sdk" or "helm"; "none" when neither is available."""
    import shutil

    from .helm import sdk_available

    if wanted == "sdk":
        return "sdk" if sdk_available() else "none"
    if wanted == "helm":
        return "helm" if shutil.which("helm") else "none"
    if sdk_available():
        return "sdk"
    return "helm" if shutil.which("helm") else "none"


def limits(backend: str, kube_version: str) -> list[str]:
    """What a backend cannot do as ArgoCD does (for the render header and the docs)."""
    if backend == "sdk":
        return [f"Helm SDK in-process: Capabilities cannot be set: .Capabilities.KubeVersion is the SDK's "
                f"built-in v1.36.0, not kubernetes_version {kube_version}, a chart's kubeVersion constraint is "
                "not checked, and .Capabilities.APIVersions holds only the built-in API versions (not the CRDs "
                "this repository installs)",
                "lookup returns nothing (offline); randAlphaNum and friends differ on every run"]
    if backend == "helm":
        return [f"helm template --kube-version {kube_version} --api-versions <CRDs this repository installs>",
                "lookup returns nothing (offline); randAlphaNum and friends differ on every run"]
    return ["no Helm renderer: install the extra (pip install 'gitops-kit[render]') or put helm on PATH"]


def render_app(model: RepoModel, app: Application, options: Options | None = None) -> AppRender:
    """Render every source of ``app``; problems are collected, never raised."""
    from . import helm, kustomize
    from ..model.delivery import delivered, source_kind

    options = options or Options()
    out = AppRender(app)
    avp = model.config.avp_plugin
    for src in app.sources:
        if src.ref is not None and src.chart is None and src.path is None:
            out.rendered.add(src.index)  # a values-only source ($ref): renders nothing itself
            continue
        try:
            if src.chart is not None:
                helm.render_source(model, app, src, options, out)
                continue
            kind = source_kind(model, src)
            if kind is None:
                out.problems.append(Problem("unsupported", f"source {_label(src)} of app {app.name!r} is another "
                                            "repository: not rendered", app.path, src.pos("repoURL"), src.index))
            elif kind == "helm" or (kind == "plugin" and src.plugin == avp and helm.chart_dir(model, src)):
                # argocd-vault-plugin apps: the chart renders with its <path:...> placeholders as they are
                helm.render_source(model, app, src, options, out)
            elif kind == "kustomize" or (kind == "plugin" and _has_kustomization(model, src)):
                # the repository's plugins that are not argocd-vault-plugin run kustomize build
                kustomize.render_source(model, app, src, options, out)
            elif kind == "plugin":
                out.problems.append(Problem("unsupported", f"source {_label(src)} of app {app.name!r} is rendered by "
                                            f"the config management plugin {src.plugin!r}, which gitops-kit cannot "
                                            "run: not rendered", app.path, src.pos("plugin"), src.index))
            else:
                objs = delivered(model, app, src) or []
                for obj in objs:
                    out.objects.append(RenderedObject(app.name, src.index, obj.path, obj.data, obj.file, obj.doc))
                jsonnet = _jsonnet(model, app, src)
                if jsonnet:
                    out.problems.append(Problem("unsupported", f"source {_label(src)} of app {app.name!r}: {jsonnet}; "
                                                "only its YAML and JSON files were rendered", app.path,
                                                src.pos("directory") if "directory" in src.data else src.pos(),
                                                src.index))
                else:
                    out.rendered.add(src.index)
        except Exception as exc:
            out.problems.append(Problem("render", f"source {_label(src)} of app {app.name!r} could not be rendered: "
                                        f"internal error {type(exc).__name__}", app.path, src.pos(), src.index))
    return out


def render_apps(model: RepoModel, names: list[str] | None = None, options: Options | None = None
                ) -> list[AppRender]:
    """Render the child Applications named (all when ``names`` is None), in model order."""
    apps = [a for a in model.child_apps() if names is None or a.name in names]
    if len(apps) < 2:
        return [render_app(model, app, options) for app in apps]
    from concurrent.futures import ThreadPoolExecutor

    # Threads, not processes: the Helm SDK's calls (ctypes) and kustomize's subprocesses release
    # the GIL, so two apps render at once on two cores without pickling the model.
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1, len(apps))) as pool:
        return list(pool.map(lambda app: render_app(model, app, options), apps))


def _jsonnet(model: RepoModel, app: Application, src: AppSource) -> str | None:
    """Why a directory source is not rendered completely: ArgoCD evaluates its ``*.jsonnet`` files
    (with ``directory.jsonnet`` options or without), gitops-kit does not."""
    from ..model.delivery import delivered_files, source_delivery

    said = source_delivery(model, app, src).unsupported
    files = sorted(f for f in delivered_files(model, app, src) if f.endswith(".jsonnet"))
    if files:
        more = f" and {len(files) - 1} more" if len(files) > 1 else ""
        return f"gitops-kit does not evaluate jsonnet ({files[0]}{more})"
    return said


def _has_kustomization(model: RepoModel, src: AppSource) -> bool:
    from ..model.delivery import source_dir
    from ..model.kustomize import by_dir

    directory = source_dir(model, src)
    return directory is not None and directory in by_dir(model)


def _label(src: AppSource) -> str:
    if src.chart:
        return f"{src.chart}@{src.target_revision}"
    return repr(src.path) if src.path is not None else f"#{src.index}"


# ArgoCD's sync order (gitops-engine pkg/sync/sync_tasks.go kindOrder): kinds not listed come after.
KIND_ORDER = ["Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
              "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
              "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
              "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
              "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet",
              "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
              "APIService"]
_KIND_RANK = {k: i for i, k in enumerate(KIND_ORDER)}
# ArgoCD's phases; Helm hook types map onto them (ArgoCD user guide, "Helm Hooks"): test hooks have
# no equivalent and are never applied, so rendering drops them.
PHASES = {"PreSync": 0, "Sync": 1, "PostSync": 2, "SyncFail": 3, "PostDelete": 4}
HELM_PHASE = {"pre-install": "PreSync", "pre-upgrade": "PreSync", "post-install": "PostSync",
              "post-upgrade": "PostSync", "post-delete": "PostDelete"}


def _annotations(obj: RenderedObject) -> dict:
    meta = obj.data.get("metadata")
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    return ann if isinstance(ann, dict) else {}


def phase(obj: RenderedObject) -> str | None:
    """The sync phase of an object ("Sync" for an ordinary one), or None when ArgoCD never applies it
    (a Helm test hook, a hook of a type ArgoCD does not support)."""
    ann = _annotations(obj)
    argo = ann.get(HOOK)
    if isinstance(argo, str) and argo.strip():
        first = argo.split(",")[0].strip()
        return first if first in PHASES or first == "Skip" else "Sync"
    helm_hook = ann.get(HELM_HOOK)
    if isinstance(helm_hook, str) and helm_hook.strip():
        phases = [HELM_PHASE[t.strip()] for t in helm_hook.split(",") if t.strip() in HELM_PHASE]
        if not phases:
            return None  # test, test-success, pre-rollback...: no ArgoCD equivalent
        return min(phases, key=PHASES.__getitem__)
    return "Sync"


def wave(obj: RenderedObject) -> int:
    """The object's sync wave (hooks: ``helm.sh/hook-weight`` stands in when no wave is set)."""
    ann = _annotations(obj)
    for key in (SYNC_WAVE, HELM_HOOK_WEIGHT):
        value = ann.get(key)
        if value is not None:
            try:
                return int(str(value).strip())
            except ValueError:
                return 0
    return 0


def is_applied(obj: RenderedObject) -> bool:
    """Whether ArgoCD applies the object at all (not a test hook, not ``hook: Skip``)."""
    return phase(obj) not in (None, "Skip")


def ordered(objects: list[RenderedObject]) -> list[RenderedObject]:
    """Objects in ArgoCD's sync order: phase, wave, kind order, then name (test hooks left out)."""
    kept = [o for o in objects if is_applied(o)]
    return sorted(kept, key=lambda o: (PHASES.get(phase(o) or "Sync", 1), wave(o),
                                       _KIND_RANK.get(o.kind, len(KIND_ORDER)), o.kind, o.name))
