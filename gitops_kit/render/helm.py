"""Helm sources rendered as ArgoCD renders them: the inputs, the chart, and two backends.

Inputs (ArgoCD's repo-server, ``helm template``): release name = ``helm.releaseName`` or the app
name; namespace = the destination namespace; values = :func:`gitops_kit.model.values.helm_values`
(valueFiles with ``$ref``, ``values``, ``valuesObject``, ``parameters``, ``fileParameters``);
CRDs included unless ``helm.skipCrds``; the Kubernetes version from config and the API versions
of the CRDs this repository installs (binary backend only: the SDK cannot set Capabilities).

Charts: a remote chart is the verified ``.tgz`` of the chart cache (offline); an umbrella chart of
this repository is copied into a temporary directory and gets its dependencies there (its own
``charts/`` folder, else the cache, versions from ``Chart.lock`` first). The repository is never
written to.
"""

from __future__ import annotations

import importlib.util
import json
import re
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import yamlio
from ..model import AppSource, Application, RepoModel, SourceFile
from ..yamlio import YMap, YSeq
from . import AppRender, Options, Problem, RenderedObject

if TYPE_CHECKING:
    from ..charts import ChartRef

# A rendered chart larger than this is refused (a template loop must not eat the memory).
MAX_OUTPUT = 64 * 1024 * 1024
# Only these variables reach a helm binary: no credentials, no proxies, no plugin paths.
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ")


def sdk_available() -> bool:
    """Whether the Helm SDK (the ``[render]`` extra) is installed (without importing it)."""
    return importlib.util.find_spec("helm_python") is not None


def chart_dir(model: RepoModel, src: AppSource) -> str | None:
    """The repo-relative folder of the chart a source of this repository deploys, else None."""
    from ..model.delivery import source_dir

    directory = source_dir(model, src)
    if directory is None:
        return None
    return directory if (f"{directory}/Chart.yaml" if directory else "Chart.yaml") in model.all_files else None


def release_name(app: Application, src: AppSource) -> str:
    helm = src.get("helm")
    name = helm.get("releaseName") if isinstance(helm, YMap) else None
    return str(name) if isinstance(name, str) and name else app.name


def skip_crds(src: AppSource) -> bool:
    helm = src.get("helm")
    return isinstance(helm, YMap) and helm.get("skipCrds") is True


def api_versions(model: RepoModel) -> list[str]:
    """``group/version`` and ``group/version/Kind`` of every CRD this repository installs (sorted)."""
    out: set[str] = set()
    for crd in [*model.kind("CustomResourceDefinition"), *model.external_crds]:
        spec = crd.spec
        if spec is None:
            continue
        group, names = spec.get("group"), spec.get("names")
        kind = names.get("kind") if isinstance(names, YMap) else None
        versions = spec.get("versions")
        if not isinstance(group, str) or not isinstance(versions, YSeq):
            continue
        for v in versions:
            if isinstance(v, YMap) and isinstance(v.get("name"), str):
                out.add(f"{group}/{v['name']}")
                if isinstance(kind, str):
                    out.add(f"{group}/{v['name']}/{kind}")
    return sorted(out)


def rendered_path(model: RepoModel, app: Application, index: int, template: str) -> str:
    """The path a rendered template takes in the render model: below the app's bundle (its own
    name when it has none), so that the rules count the object as the app's. Never on disk."""
    from ..model.ownership import bundle_owners

    bundle = bundle_owners(model).bundle(app) or app.name
    return f"{model.config.manifests_dir}/{bundle}/@rendered/{app.name}/{index}/{template}"


def render_source(model: RepoModel, app: Application, src: AppSource, options: Options, out: AppRender) -> None:
    """Render one Helm source of ``app`` into ``out`` (objects, or problems)."""
    from ..model.values import helm_values

    from . import choose_renderer

    values = helm_values(model, app, src)
    out.values[src.index] = values
    for file, pos, message in values.problems:
        out.problems.append(Problem("values", message, file, pos, src.index))
    for vf in values.unresolved:
        if vf.remote:
            out.problems.append(Problem("unsupported", f"value file {vf.raw!r} is in another repository: not read, the "
                                        "render uses the rest", app.path, vf.pos, src.index))
    if values.problems:
        return  # ArgoCD's helm template fails on such values (a missing file, not a mapping): no objects
    backend = choose_renderer(options.renderer)
    if backend == "none":
        from . import limits

        out.problems.append(Problem("binary", limits("none", "")[0], app.path, src.pos(), src.index))
        return
    with tempfile.TemporaryDirectory(prefix="gitops-kit-render-") as tmp:
        chart = _chart(model, app, src, options, out, Path(tmp))
        if chart is None:
            return
        try:
            if backend == "sdk":
                templates = _render_sdk(chart, values.tree, release_name(app, src), app.dest_namespace,
                                        skip_crds(src), options.timeout)
            else:
                templates = _render_binary(chart, values.tree, release_name(app, src), app.dest_namespace,
                                           skip_crds(src), model, options.timeout, Path(tmp))
        except RenderFailed as exc:
            out.problems.append(Problem(exc.kind, f"chart {_chart_label(src, model)} of app {app.name!r} does not "
                                        f"render: {exc}", app.path, src.pos("chart" if src.chart else "path"),
                                        src.index))
            return
    bad = _collect(model, app, src, templates, out)
    if not bad:
        out.rendered.add(src.index)


def _chart_label(src: AppSource, model: RepoModel) -> str:
    return f"{src.chart} {src.target_revision}" if src.chart else repr(chart_dir(model, src) or src.path)


class RenderFailed(Exception):
    """A chart that Helm refuses to render; ``str()`` is one line."""

    def __init__(self, message: str, kind: str = "render") -> None:
        super().__init__(message)
        self.kind = kind


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit] + "..."


# --- the chart -------------------------------------------------------------------------------

def _locate(options: Options, ref: ChartRef) -> Path:
    if options.locate is not None:
        return Path(options.locate(ref))
    from ..charts import locate

    return locate(ref)


def _remote_ref(model: RepoModel, app: Application, src: AppSource) -> ChartRef:
    from ..charts import ChartRef

    try:
        from ..charts import chart_refs

        for owner, ref in chart_refs(model, app):
            if owner is src:
                return ref
    except ImportError:  # the cache's reference module is not there: the plain reading
        pass
    return ChartRef(str(src.repo_url or ""), str(src.chart), str(src.target_revision))


def _cache_problem(exc: Exception, app: Application, src: AppSource, where: tuple[int, int], path: str) -> Problem:
    from ..charts import DigestMismatch

    ref = getattr(exc, "ref", None)
    label = ref.label() if ref is not None else str(src.chart)
    kind = "digest" if isinstance(exc, DigestMismatch) else "cache-miss"
    return Problem(kind, f"app {app.name!r}: {exc}", path, where, src.index, label)


def _chart(model: RepoModel, app: Application, src: AppSource, options: Options, out: AppRender,
           tmp: Path) -> Path | None:
    """The chart to render (a .tgz or a folder in ``tmp``), or None with the problem recorded."""
    from ..charts import ChartError

    if src.chart is not None:
        ref = _remote_ref(model, app, src)
        try:
            return _locate(options, ref)
        except ChartError as exc:
            out.problems.append(_cache_problem(exc, app, src, src.pos("chart"), app.path))
            return None
    directory = chart_dir(model, src)
    if directory is None:
        out.problems.append(Problem("render", f"app {app.name!r}: no Chart.yaml in {src.path!r}", app.path,
                                    src.pos("path"), src.index))
        return None
    return _umbrella(model, app, src, directory, options, out, tmp)


MAX_COPY = 5 * 1024 * 1024  # per file of a copied chart folder: larger ones are left out


def _copy_tree(src_dir: Path, dest: Path, root: Path) -> None:
    """Copy a chart folder of the repository; links are not followed out of the repository."""
    real_root = root.resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set()
        for name in names:
            full = os.path.join(folder, name)
            if os.path.islink(full):
                try:
                    Path(full).resolve().relative_to(real_root)
                except ValueError:
                    skipped.add(name)
                    continue
            try:
                if os.path.isfile(full) and os.path.getsize(full) > MAX_COPY:
                    skipped.add(name)  # bounded like every file lint reads
            except OSError:
                skipped.add(name)
        return skipped

    shutil.copytree(src_dir, dest, ignore=ignore, symlinks=False)


def _dependencies(chart: Path) -> tuple[list[dict], bool]:
    """The chart's dependencies (Chart.lock's pinned versions first) and whether the lock was used."""
    lock = chart / "Chart.lock"
    for path, is_lock in ((lock, True), (chart / "Chart.yaml", False)):
        if is_lock and not lock.is_file():
            continue
        from ..charts.refs import MAX_LOCK_BYTES
        from ..charts.store import read_regular

        raw = read_regular(path, MAX_LOCK_BYTES)
        if raw is None:
            continue  # missing, not a regular file, or over the bound: no dependencies read from it
        loaded = yamlio.load_text(raw.decode("utf-8", errors="replace"))
        data = loaded.documents[0].data if loaded.documents else None
        deps = data.get("dependencies") if isinstance(data, YMap) else None
        if isinstance(deps, YSeq):
            return [yamlio.plain(d) for d in deps if isinstance(d, YMap)], is_lock
        if is_lock:
            continue
    return [], False


def _dependency_pos(model: RepoModel, chart_yaml: str, name: str) -> tuple[int, int]:
    """Where Chart.yaml declares dependency ``name`` (its ``name:`` value), else the file's top."""
    sf = model.files.get(chart_yaml)
    data = sf.documents[0].data if sf is not None and sf.documents else None
    deps = data.get("dependencies") if isinstance(data, YMap) else None
    if isinstance(deps, YSeq):
        for item in deps:
            if isinstance(item, YMap) and item.get("name") == name:
                return item.value_pos("name")
    return (1, 1)


def _dependency_refs(model: RepoModel, app: Application) -> dict[tuple[str, str], ChartRef]:
    """(chart, version) -> the cache's reference of each dependency of the app's umbrella charts."""
    try:
        from ..charts import chart_refs

        return {(ref.chart, ref.version): ref for owner, ref in chart_refs(model, app) if owner is None}
    except ImportError:
        return {}


def plain_part(text: str) -> bool:
    """Whether ``text`` from the repository can stand as one path component (no separator, no NUL,
    not "." or ".."): chart names and versions become file and folder names."""
    return bool(text) and not any(c in text for c in "/\\\x00") and text not in (".", "..")


def _umbrella(model: RepoModel, app: Application, src: AppSource, directory: str, options: Options,
              out: AppRender, tmp: Path) -> Path | None:
    """A copy of the repository's chart with every dependency in its ``charts/`` folder."""
    from ..charts import ChartError, ChartRef

    root = Path(model.root)
    dest = tmp / "chart"
    _copy_tree(root / directory if directory else root, dest, root)
    chart_yaml = f"{directory}/Chart.yaml" if directory else "Chart.yaml"
    where_file, where = chart_yaml, (1, 1)
    deps, _locked = _dependencies(dest)
    charts = dest / "charts"
    present = {p.name for p in charts.iterdir()} if charts.is_dir() else set()
    ok = True
    for dep in deps:
        name, version = str(dep.get("name") or ""), str(dep.get("version") or "")
        repo = str(dep.get("repository") or "")
        if not name:
            continue
        where = _dependency_pos(model, chart_yaml, name)
        if not plain_part(name) or (version and not plain_part(version)):
            # both become a file or folder name in charts/: nothing may walk out of the copy
            out.problems.append(Problem("dependency", f"app {app.name!r}: dependency {name[:60]!r} of chart "
                                        f"{directory!r} is not a plain chart name and version", where_file, where,
                                        src.index))
            ok = False
            continue
        if any(p == name or (p.startswith(f"{name}-") and p.endswith(".tgz")) for p in present):
            continue
        if repo.startswith("file://"):
            target = (root / (directory or ".") / repo[len("file://"):]).resolve()
            try:
                target.relative_to(root.resolve())
            except ValueError:
                target = Path("/nonexistent")
            if (target / "Chart.yaml").is_file():
                charts.mkdir(exist_ok=True)
                _copy_tree(target, charts / name, root)
                continue
            out.problems.append(Problem("dependency", f"app {app.name!r}: dependency {name!r} of chart {directory!r} "
                                        f"({repo}) is not in the repository", where_file, where, src.index))
            ok = False
            continue
        if not repo or any(c in version for c in "^~><=*| x") or not version:
            out.problems.append(Problem("dependency", f"app {app.name!r}: dependency {name!r} of chart {directory!r} "
                                        "is not in its charts/ folder and has no pinned version (run 'helm "
                                        "dependency update' and commit Chart.lock)", where_file, where, src.index))
            ok = False
            continue
        ref = _dependency_refs(model, app).get((name, version)) or ChartRef(repo, name, version)
        try:
            tgz = _locate(options, ref)
        except ChartError as exc:
            out.problems.append(_cache_problem(exc, app, src, where, where_file))
            ok = False
            continue
        charts.mkdir(exist_ok=True)
        shutil.copyfile(tgz, charts / f"{name}-{version}.tgz")
    return dest if ok else None


# --- backends --------------------------------------------------------------------------------

def _render_sdk(chart: Path, values: dict, release: str, namespace: str | None, skip: bool,
                timeout: float | None = None) -> list[tuple[str, str]]:
    """(template, text) pairs from the in-process Helm SDK; CRDs first, as ``helm template --include-crds``.

    With ``timeout``, the render runs in a daemon thread: the SDK has no way to cancel a render,
    and a chart is untrusted input (a template can loop for ever), so after ``timeout`` seconds
    the render is abandoned and reported; the thread ends with the process."""
    if timeout is None:
        return _render_sdk_now(chart, values, release, namespace, skip)
    import threading

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["out"] = _render_sdk_now(chart, values, release, namespace, skip)
        except BaseException as exc:  # handed to the caller's thread, whatever it is
            box["err"] = exc

    thread = threading.Thread(target=work, name="gitops-kit-helm-render", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise RenderFailed(f"the Helm SDK did not finish within {timeout:g} s")
    if "err" in box:
        raise box["err"]
    return box["out"]


def _render_sdk_now(chart: Path, values: dict, release: str, namespace: str | None, skip: bool
                    ) -> list[tuple[str, str]]:
    from helm_python import Chart
    from helm_python.errors import HelmError

    try:
        with Chart.load(chart) as loaded:
            declared = [d for d in (loaded.metadata.get("dependencies") or []) if isinstance(d, dict)]
            have = {d.get("name") for d in loaded.dependencies}
            missing = [str(d.get("name")) for d in declared
                       if d.get("name") not in have and (d.get("alias") or d.get("name")) not in have]
            if missing:
                raise RenderFailed(f"found in Chart.yaml, but missing in charts/ directory: {', '.join(missing)}",
                                   "dependency")
            manifests = loaded.render(values, name=release, namespace=namespace or "default", is_install=True)
            crds = [] if skip else loaded.crds
    except HelmError as exc:
        raise RenderFailed(_one_line(str(exc))) from None
    out = [(str(c.get("filename") or c.get("name")), str(c.get("data") or "")) for c in crds]
    out.extend((name, text) for name, text in sorted(manifests.items()))
    return out


def _render_binary(chart: Path, values: dict, release: str, namespace: str | None, skip: bool, model: RepoModel,
                   timeout: float, tmp: Path) -> list[tuple[str, str]]:
    """(template, text) pairs from ``helm template`` with ArgoCD's inputs."""
    flags = ["--namespace", namespace or "default"]
    kube = str(model.config.data.get("kubernetes_version") or "")
    if kube:
        flags += ["--kube-version", kube]
    for api in api_versions(model):
        flags += ["--api-versions", api]
    flags.append("--skip-crds" if skip else "--include-crds")
    return run_template(release, chart, values, flags, timeout, tmp)


# Helm's own rule for release names (pkg/chartutil ValidateReleaseName): also what keeps a name
# from the repository from reading as a flag of the helm command line.
_RELEASE = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")


def run_template(release: str, chart: Path, values: dict, flags: list[str], timeout: float,
                 tmp: Path) -> list[tuple[str, str]]:
    """``helm template RELEASE CHART`` with ``flags`` (each value after its flag), ``values`` in a
    file of ``tmp``: a list argv, a validated release name, a timeout, no credentials, helm's
    state in ``tmp``, bounded output."""
    helm = shutil.which("helm")
    if helm is None:
        raise RenderFailed("no helm binary on PATH", "binary")
    if len(release) > 53 or not _RELEASE.fullmatch(release):
        raise RenderFailed(f"release name {release[:60]!r} is not a valid Helm release name")
    values_file = tmp / "gitops-kit-values.json"  # JSON is YAML: no second serialiser
    values_file.write_text(json.dumps(values), encoding="utf-8")
    # the release name is validated and the chart is an absolute path: neither reads as a flag
    argv = [helm, "template", release, str(chart.resolve()), *flags, "--values", str(values_file)]
    home = tmp / "helm-home"
    home.mkdir(exist_ok=True)
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    # helm's own state goes to the temporary folder: no repositories, registries or plugins of the user
    env.update(HOME=str(home), HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"),
               HELM_DATA_HOME=str(home / "data"))
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, env=env, cwd=tmp, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RenderFailed(f"helm template took longer than {timeout:.0f} s") from None
    except OSError as exc:
        raise RenderFailed(f"cannot run helm: {exc.strerror}", "binary") from None
    if done.returncode != 0:
        raise RenderFailed(_one_line(done.stderr.decode("utf-8", "replace")) or f"helm exited {done.returncode}")
    if len(done.stdout) > MAX_OUTPUT:
        raise RenderFailed(f"helm template wrote more than {MAX_OUTPUT} bytes")
    return split_helm_output(done.stdout.decode("utf-8", "replace"))


def split_helm_output(text: str) -> list[tuple[str, str]]:
    """``helm template`` output as (template, text) pairs, by its ``# Source:`` comments."""
    out: list[tuple[str, str]] = []
    for part in text.split("\n---"):
        body = part.lstrip("-\n")
        first, _, rest = body.partition("\n")
        if first.startswith("# Source: "):
            out.append((first[len("# Source: "):].strip(), rest))
        elif body.strip():
            out.append(("", body))
    return out


# --- rendered text -> objects ----------------------------------------------------------------

def _collect(model: RepoModel, app: Application, src: AppSource, templates: list[tuple[str, str]],
             out: AppRender) -> bool:
    """Parse each template's text into objects; returns whether a template was not valid YAML."""
    bad = False
    for template, text in templates:
        if template.endswith("NOTES.txt") or not text.strip():
            continue  # NOTES.txt is printed by helm install, never applied
        loaded = yamlio.load_text(text)
        path = rendered_path(model, app, src.index, template)
        fatal = [p for p in loaded.problems if p.fatal]
        if fatal:
            bad = True
            out.problems.append(Problem("render", f"template {template} of app {app.name!r} is not valid YAML "
                                        f"(line {fatal[0].line}): {_one_line(fatal[0].message, 160)}",
                                        app.path, src.pos("chart" if src.chart else "path"), src.index))
            continue
        sf = SourceFile(path, text, loaded.documents, loaded.problems)
        for doc in loaded.documents:
            data = doc.data
            if isinstance(data, YMap) and isinstance(data.get("kind"), str) and isinstance(data.get("apiVersion"), str):
                out.objects.append(RenderedObject(app.name, src.index, template, data, sf, doc.index))
    return bad
