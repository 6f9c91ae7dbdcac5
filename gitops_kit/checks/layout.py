"""layout: the app-of-apps tree is complete and every path it names exists.

Roots exist and render exactly their layer's directory (the first root also renders the other
roots, so one ``kubectl apply`` brings up everything); child Applications sit in a layer
directory in ``<name>-app.yaml``; every source path and value file of this repository exists;
every Application lives in ArgoCD's namespace; every source that reads this repository (a path or
``ref`` source whose files are here) reads it at ``repo.url`` and ``repo.branch``; the CI that
``gitops-kit init`` wrote installs gitops-kit from a real source, not its placeholder.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Iterator

from ..config import LayerSpec
from ..findings import Hit, Severity, show
from ..model import Application, AppSource, RepoModel, url_key
from ..model.assemble import implied_repo
from ..model.ownership import bundle_of_path, parents
from ..model.values import ref_source, split_ref, value_files
from ..yamlio import YMap
from ._apps import Pos, argo_glob, directory_opts, glob_match, name_pos, norm_path, source_includes

# Milliseconds on the 1000-app benchmark corpus (serial): orders the engine's two-process run.
COST = 15

# A file name that stands for "any child Application a layer may get later".
PROBE = "new-app.yaml"


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    # Each sub-check is a parameter (rules/layout.yaml): a repository that does not follow one of
    # the seed's conventions turns that one off and keeps the others (`gitops-kit adopt` proposes it).
    # The convention sub-checks (roots, placement, file_names, argocd_namespace: rules/layout.yaml
    # convention) are at most warnings in a repository that has not opted into the conventions.
    if params.get("roots", True):
        yield from _roots(model)
    if params.get("placement", True) or params.get("file_names", True):
        yield from _placement(model, params.get("placement", True), params.get("file_names", True))
    if params.get("argocd_namespace", True):
        yield from _argocd_namespace(model)
    if params.get("paths_exist", True):
        yield from _paths_exist(model)
    if params.get("stale_sources", True):
        yield from _stale_sources(model)
    if params.get("ci_tool_source", True):
        yield from _ci_tool_source(model)


# --- roots ---------------------------------------------------------------------------------------

def _roots(model: RepoModel) -> Iterator[Hit]:
    layers = model.config.layers
    for i, spec in enumerate(layers):
        root = model.layers[spec.name].root if spec.name in model.layers else None
        if root is not None:
            yield from _root_sources(model, spec, i == 0, root)
            continue
        if not model.exists(spec.root):
            yield Hit(spec.root, (1, 1), f"root Application of layer {spec.name!r} is missing: {spec.root} does not "
                      f"exist, so nothing deploys {spec.dir}/", key=f"missing-root:{spec.name}", severity=model.config.convention_severity)
            continue
        sf = model.files.get(spec.root)
        if sf is not None and not any(p.fatal for p in sf.problems):  # unreadable: yaml-syntax says so
            yield Hit(spec.root, (1, 1), f"{spec.root} holds no argoproj.io Application: layer {spec.name!r} "
                      "has no root", key=f"empty-root:{spec.name}", severity=model.config.convention_severity)


def _source_key_pos(app: Application) -> Pos:
    spec = app.obj.spec
    if spec is None:
        return app.obj.data.key_pos("spec") if "spec" in app.obj.data else name_pos(app)
    for key in ("sources", "source"):
        if key in spec:
            return spec.key_pos(key)
    return app.obj.data.key_pos("spec")


def _filter_pos(source: AppSource) -> Pos:
    directory = source.get("directory")
    if isinstance(directory, YMap) and "include" in directory:
        return directory.value_pos("include")
    return source.pos("path")


def _why_not(source: AppSource, rel: str) -> tuple[str, Pos]:
    """Why a directory source does not render ``rel``, and where to fix it."""
    base = norm_path(source.path or "")
    if base and not rel.startswith(base + "/"):
        return f"{rel} is not below its path {show(source.path)}", source.pos("path")
    sub = rel[len(base) + 1:] if base else rel
    recurse, include, exclude = directory_opts(source)
    directory = source.get("directory")
    if "/" in sub and not recurse:
        where = directory.key_pos("recurse") if isinstance(directory, YMap) and "recurse" in directory \
            else source.pos("path")
        return f"directory.recurse is not true, so files in subdirectories of {base or '.'}/ are not read", where
    if exclude is not None and glob_match(exclude, sub):
        return f"directory.exclude {show(exclude)} matches {sub}", directory.value_pos("exclude")
    if include is not None:
        bad = " (not a valid glob)" if argo_glob(include) is None else ""
        return f"directory.include {show(include)}{bad} does not match {sub}", directory.value_pos("include")
    return f"{sub} is not a manifest file name", source.pos("path")


def _root_sources(model: RepoModel, spec: LayerSpec, is_first: bool, root: Application) -> Iterator[Hit]:
    ident = root.obj.identity()
    known = model.repo_url is not None
    mine = [s for s in root.sources
            if s.chart is None and s.path is not None and (not known or model.is_this_repo(s.repo_url))]
    if not mine and any(st.wrong_url for st in stale_sources(model, root)):
        return  # its source is this repository under another URL: _stale_sources names the fix
    if not mine:
        yield Hit(root.path, _source_key_pos(root), f"root {root.label} has no source path in this repository, "
                  f"so it cannot deploy {spec.dir}/", app=root.name or None, key=f"{ident}:root-source", severity=model.config.convention_severity)
        return
    live = [s for s in mine if model.exists(s.path or "")]  # a missing path is reported by _paths_exist
    if not live:
        return
    parent = posixpath.dirname(spec.dir)
    allowed = {spec.dir} | ({parent} if is_first else set())
    misplaced = [s for s in live if norm_path(s.path or "") not in allowed]
    for s in misplaced:
        want = repr(spec.dir)
        if is_first:
            want += f" (or {parent or '.'!r} with directory.recurse: true and an include)"
        yield Hit(root.path, s.pos("path"), f"root {root.label} has source path {show(s.path)}, not its layer "
                  f"directory {want}", app=root.name or None, key=f"{ident}:root-path:{s.index}", severity=model.config.convention_severity)
    if misplaced:
        return  # the path is the fix; coverage details would only repeat it

    def renders(rel: str) -> AppSource | None:
        return next((s for s in live if source_includes(s, rel)), None)

    probe = f"{spec.dir}/{PROBE}"
    if renders(probe) is None:
        reason, where = _why_not(live[0], probe)
        yield Hit(root.path, where, f"root {root.label} does not render its layer directory {spec.dir}/: {reason}",
                  app=root.name or None, key=f"{ident}:root-covers", severity=model.config.convention_severity)
    else:
        for child in model.layers[spec.name].apps:
            if renders(child.path) is None:
                reason, _ = _why_not(live[0], child.path)
                yield Hit(child.path, name_pos(child), f"Application {child.label} is not deployed by root "
                          f"{root.label}: {reason}", app=child.name or None,
                          key=f"{child.obj.identity()}:not-rendered", severity=model.config.convention_severity)

    for other in model.config.layers:
        if other.name == spec.name or other.dir == spec.dir:
            continue
        candidates = [f"{other.dir}/{PROBE}"] + [a.path for a in model.layers[other.name].apps]
        for rel in candidates:
            source = renders(rel)
            if source is not None:
                yield Hit(root.path, _filter_pos(source), f"root {root.label} also renders {other.dir}/ (layer "
                          f"{other.name!r}): its Applications would sync with layer {spec.name!r} instead of in "
                          "their own wave", app=root.name or None, key=f"{ident}:reaches:{other.name}", severity=model.config.convention_severity)
                break

    if is_first:
        missing = [o.root for o in model.config.layers[1:] if renders(o.root) is None]
        if missing:
            hint = _include_hint(model, parent)
            yield Hit(root.path, _filter_pos(live[0]), f"root {root.label} does not bring up {', '.join(missing)}: "
                      f"one kubectl apply of {spec.root} must deploy every layer{hint}",
                      app=root.name or None, key=f"{ident}:brings-up", severity=model.config.convention_severity)


def _include_hint(model: RepoModel, parent: str) -> str:
    first = model.config.layers[0]
    prefix = parent + "/" if parent else ""
    parts = []
    for rel in [first.dir + "/*"] + [o.root for o in model.config.layers[1:]]:
        if not rel.startswith(prefix):
            return ""
        parts.append(rel[len(prefix):])
    return f" (path {parent or '.'!r}, directory.recurse: true, include: '{{{','.join(parts)}}}')"


# --- children ------------------------------------------------------------------------------------

def _placement(model: RepoModel, placement: bool = True, file_names: bool = True) -> Iterator[Hit]:
    dirs = ", ".join(f"{s.dir}/" for s in model.config.layers)
    layered = bool(model.config.layers)
    for app in model.applications:
        if app.is_root:
            continue
        ident = app.obj.identity()
        if app.layer is None:
            if not placement or not layered:
                # with `layers: []` there are no layer directories: an Application nothing deploys
                # is applied by hand, which makes it a root of its own
                continue
            deployed_by = parents(model, app)
            if not deployed_by:
                yield Hit(app.path, name_pos(app), f"Application {app.label} is outside the layer directories "
                          f"({dirs}) and is not a root: no root deploys it", app=app.name or None,
                          key=f"{ident}:outside", severity=model.config.convention_severity)
            elif bundle_of_path(model, app.path) is not None:
                # an app's bundle holds its workload manifests: an Application there is deployed as one of them
                yield Hit(app.path, name_pos(app), f"Application {app.label} is in an app bundle directory, "
                          f"deployed by Application {deployed_by[0].label} among its manifests: Applications "
                          f"belong in the layer directories ({dirs})", app=app.name or None, key=f"{ident}:outside", severity=model.config.convention_severity)
            continue  # else a child of an app-of-apps: deployed, its parent decides where it lives
        name = app.obj.metadata.get("name")
        if not isinstance(name, str) or not name:
            if placement:
                yield Hit(app.path, name_pos(app), f"Application in {app.path} has no metadata.name",
                          app=None, key=f"{ident}:no-name")
            continue
        if not file_names:
            continue
        base = app.path.rsplit("/", 1)[-1]
        if base not in (f"{name}-app.yaml", f"{name}-app.yml"):
            yield Hit(app.path, name_pos(app), f"Application {name!r} is in {base}, not {name}-app.yaml: the file "
                      "name must say which app it deploys", app=name, key=f"{ident}:file-name", severity=model.config.convention_severity)


def _argocd_namespace(model: RepoModel) -> Iterator[Hit]:
    wanted = model.config.argocd_namespaces
    want = wanted[0]
    one_of = repr(want) if len(wanted) == 1 else "one of " + ", ".join(map(repr, wanted))
    for app in model.applications:
        meta = app.obj.data.get("metadata")
        ident = app.obj.identity()
        if isinstance(meta, YMap) and "namespace" in meta:
            value = meta["namespace"]
            if isinstance(value, str) and value in wanted:
                continue
            yield Hit(app.path, meta.value_pos("namespace"), f"Application {app.label} is in namespace "
                      f"{show(value)}, not {one_of}: ArgoCD only reconciles Applications in its own namespace",
                      app=app.name or None, key=f"{ident}:metadata.namespace", severity=model.config.convention_severity)
        else:
            where = app.obj.data.key_pos("metadata") if "metadata" in app.obj.data else app.obj.pos
            yield Hit(app.path, where, f"Application {app.label} has no metadata.namespace: it must be "
                      f"{want!r}, the namespace ArgoCD watches", app=app.name or None,
                      key=f"{ident}:metadata.namespace", severity=model.config.convention_severity)


# --- paths of this repository --------------------------------------------------------------------

def _same_tree(model: RepoModel, source: AppSource) -> bool:
    """Whether the source reads the branch being linted (another revision may hold other files)."""
    rev = source.target_revision
    return rev is None or (isinstance(rev, str) and rev.strip() in ("", "HEAD", model.config.branch))


def _ours(model: RepoModel, source: AppSource) -> bool:
    return model.is_this_repo(source.repo_url) and _same_tree(model, source)


def _ours_to_check(model: RepoModel, source: AppSource) -> bool:
    """Whether a missing path of ``source`` is this repository's to report. Without repo.url
    and without a layer root that names it, this repository is the model's implied one
    (:func:`gitops_kit.model.assemble.implied_repo`), at the revision most of its sources read,
    or HEAD, or repo.branch."""
    if model.repo_url is not None:
        return _ours(model, source)
    implied = implied_repo(model)
    if implied.key is None or not source.repo_url or url_key(source.repo_url) != implied.key:
        return False
    rev = source.target_revision
    return _same_tree(model, source) or (isinstance(rev, str) and rev.strip() == implied.revision)


def _paths_exist(model: RepoModel) -> Iterator[Hit]:
    excluded = model.config.is_excluded
    for app in model.applications:
        ident = app.obj.identity()
        for source in app.sources:
            path = source.path
            if source.chart is None and path is not None and _ours_to_check(model, source) \
                    and not model.exists(path) and not excluded(path):
                yield Hit(app.path, source.pos("path"), f"Application {app.label}: source path {show(path)} does "
                          "not exist in this repository", app=app.name or None,
                          key=f"{ident}:path:{source.index}:{path}")
            helm = source.get("helm")
            if isinstance(helm, YMap) and helm.get("ignoreMissingValueFiles") is True:
                continue
            for vf in value_files(model, app, source):
                # another revision of this repository may hold other files: only the branch is judged
                read_through = ref_source(app, vf.raw) if vf.raw.startswith("$") else source
                if vf.rel is None or vf.exists or read_through is None or not _ours_to_check(model, read_through) \
                        or excluded(vf.rel):
                    continue
                yield Hit(app.path, vf.pos, f"Application {app.label}: value file {show(vf.raw)} does not "
                          f"exist in this repository ({vf.rel})", app=app.name or None,
                          key=f"{ident}:valueFile:{source.index}:{vf.raw}")


# --- sources of this repository at another URL or revision ---------------------------------------

@dataclass(frozen=True)
class Stale:
    """A source that reads this repository's files but not at ``repo.url``@``repo.branch``."""

    source: AppSource
    wrong_url: bool
    wrong_rev: bool


def _reads_our_files(model: RepoModel, app: Application, source: AppSource) -> bool:
    """Whether a source of another URL names files of this repository: its path exists here, or
    the ``$ref/...`` value files read through it do. Then it is this repository under an old URL
    (``repo.url`` changed after init) rather than another repository."""
    path = source.path
    if path is not None and norm_path(path) not in ("", ".") and model.exists(path):
        return True
    if source.ref:
        for other in app.sources:
            for value_file, _ in other.value_files():
                split = split_ref(value_file)
                if split is not None and split[0] == source.ref and model.exists(split[1]):
                    return True
    return False


def stale_sources(model: RepoModel, app: Application) -> list[Stale]:
    """The path and ``ref`` sources of ``app`` that read this repository elsewhere than
    ``repo.url``@``repo.branch`` (``HEAD`` and no revision count as the branch)."""
    if model.repo_url is None:
        return []
    out = []
    for source in app.sources:
        if source.chart is not None or (source.path is None and not source.ref):
            continue
        wrong_url = not model.is_this_repo(source.repo_url)
        if wrong_url and not _reads_our_files(model, app, source):
            continue  # another repository: its files are not ours to judge
        wrong_rev = not _same_tree(model, source)
        if wrong_url or wrong_rev:
            out.append(Stale(source, wrong_url, wrong_rev))
    return out


def _stale_sources(model: RepoModel) -> Iterator[Hit]:
    url, branch = model.repo_url, model.config.branch
    for app in model.applications:
        ident = app.obj.identity()
        for st in stale_sources(model, app):
            s = st.source
            what = f"path {show(s.path)}" if s.path is not None else f"ref {show(s.ref)}"
            fix = "; `gitops-kit lint --fix` rewrites it"
            if st.wrong_url:
                yield Hit(app.path, s.pos("repoURL") if "repoURL" in s.data else s.pos(),
                          f"Application {app.label}: source {what} reads this repository's files from "
                          f"{show(s.repo_url)}, not repo.url {show(url)} (.gitops-kit.yaml){fix}",
                          app=app.name or None, key=f"{ident}:repo-url:{s.index}")
            if st.wrong_rev:
                yield Hit(app.path, s.pos("targetRevision"),
                          f"Application {app.label}: source {what} reads this repository at revision "
                          f"{show(s.target_revision)}, not repo.branch {show(branch)}: it deploys what that "
                          f"revision holds, not what is linted here{fix}",
                          app=app.name or None, key=f"{ident}:revision:{s.index}")


# --- the CI that init wrote ----------------------------------------------------------------------

CI_FILE = ".gitlab-ci.yml"
TOOL_VARIABLE = "GITOPS_KIT_SOURCE"


def _ci_tool_source(model: RepoModel) -> Iterator[Hit]:
    """`gitops-kit init` without --tool-source writes an angle-bracketed placeholder where CI
    installs gitops-kit from: reported (a warning: the repository itself is fine) until set."""
    sf = model.files.get(CI_FILE)
    if sf is None:
        return
    for doc in sf.documents:
        data = doc.data
        if not isinstance(data, YMap):
            continue
        for holder in [data, *(v for v in data.values() if isinstance(v, YMap))]:
            variables = holder.get("variables")
            value = variables.get(TOOL_VARIABLE) if isinstance(variables, YMap) else None
            if isinstance(value, str) and value.strip().startswith("<") and value.strip().endswith(">"):
                yield Hit(CI_FILE, variables.value_pos(TOOL_VARIABLE),
                          f"{TOOL_VARIABLE} is a placeholder: CI cannot install gitops-kit. Set it to a tag of "
                          "gitops-kit's git repository (\"git+https://HOST/GROUP/gitops-kit.git@vX.Y.Z\") "
                          "or a version on your internal index with PIP_INDEX_URL (gitops-kit init --tool-source)",
                          key=f"ci:{TOOL_VARIABLE}", severity=Severity.WARNING)
