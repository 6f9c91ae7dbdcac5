"""kustomize ``helmCharts``, inflated offline as ``kustomize build --enable-helm`` would.

kustomize's builtin HelmChartInflationGenerator (``plugin/builtin/helmchartinflationgenerator``)
pulls the chart with ``helm pull`` and runs ``helm template``. Here each entry is rendered from the
chart cache (or the repository's ``chartHome``) with the same inputs, and the caller writes the
output as a plain resource file into its temporary copy of the kustomization, in place of the
entry, then runs kustomize *without* ``--enable-helm``, so every other field of the kustomization
(namespace, patches, labels, images...) applies to the chart's objects as in ArgoCD.

The inputs, as kustomize builds them (``api/types/helmchartargs.go``, ``AsHelmArgs``):

- the chart: ``<chartHome>/<name>-<version>/<name>`` when ``repo`` and ``version`` are set, else
  ``<chartHome>/<name>``; used as found when that folder exists (``chartHome`` defaults to
  ``charts``, relative to the kustomization, and must stay inside it), else pulled from ``repo``:
  here, the chart cache (``gitops-kit charts pull``);
- release name: ``releaseName``; without it ``--generate-name`` (``<chart>-<unix seconds>``, a new
  name on every render); ``nameTemplate`` (a literal one: a template needs helm's engine);
- namespace: ``namespace`` (``.Release.Namespace``), else ``default``;
- values: ``-f <valuesFile>`` (default: the chart's own ``values.yaml``) then ``-f`` each of
  ``additionalValuesFiles``; ``valuesInline`` replaces the values file by a merge of the two:
  ``valuesMerge: override`` (the default: inline wins), ``merge`` (the file wins) or ``replace``
  (inline alone), merged as kyaml's ``merge2`` does (a null deletes a key; lists of maps keyed
  by ``name``-like fields merge by key, other lists are replaced). Files must be inside the
  kustomization's folder (kustomize's load restrictions);
- ``includeCRDs`` (default false: the chart's ``crds/`` are left out), ``skipTests``
  (``--skip-tests``), ``skipHooks`` (``--no-hooks``), ``apiVersions``, ``kubeVersion``
  (``--api-versions``, ``--kube-version``: the helm binary backend only; the SDK cannot set
  Capabilities and says so).
"""

from __future__ import annotations

import os
import posixpath
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import yamlio
from ..model import RepoModel
from ..yamlio import YMap, YSeq

DEFAULT_HOME = "charts"
MERGE_OPTIONS = ("override", "merge", "replace")
# kyaml's associative sequence keys (kyaml/yaml/const.go AssociativeSequenceKeys), in its order
_ASSOCIATIVE = ("mountPath", "devicePath", "ip", "type", "topologyKey", "name", "containerPort")


@dataclass(frozen=True)
class Blocker:
    """Why a kustomization (or one helmCharts entry) could not be prepared; ``chart`` is the label of
    a chart or URL missing from a cache (one finding per chart)."""

    kind: str
    message: str
    path: str
    pos: tuple[int, int]
    chart: str | None = None


@dataclass
class Inflated:
    text: str
    notes: list[Blocker] = field(default_factory=list)


class Blocked(Exception):
    def __init__(self, blocker: Blocker) -> None:
        super().__init__(blocker.message)
        self.blocker = blocker


def _str(entry: YMap, key: str) -> str:
    value = entry.get(key)
    if isinstance(value, bool) or value is None:
        return ""
    return str(value).strip()


def _inside(kdir: str, ref: str) -> str | None:
    """The repository path of ``ref`` relative to the kustomization folder, None when it leaves it
    (kustomize's default load restrictions: files of a kustomization are in or below its folder)."""
    if ref.startswith("/"):
        return None
    target = posixpath.normpath(posixpath.join(kdir or ".", ref))
    base = posixpath.normpath(kdir or ".")
    if base != "." and target != base and not target.startswith(base + "/"):
        return None
    if target == ".." or target.startswith("../"):
        return None
    return "" if target == "." else target


def _read_values(model: RepoModel, rel: str, kpath: str, pos: tuple[int, int], what: str) -> dict:
    """A values file of the repository as a mapping (empty file: empty mapping)."""
    sf = model.files.get(rel)
    if sf is None:
        path = os.path.join(model.root, rel)
        real_root = os.path.realpath(model.root)
        if rel not in model.all_files or os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
            raise Blocked(Blocker("values", f"{what} {rel!r} does not exist", kpath, pos))
        from ..charts.store import read_regular

        raw = read_regular(Path(path), model.config.max_file_bytes)
        text = yamlio.decode(raw)[0] if raw is not None else None
        if text is None:
            raise Blocked(Blocker("values", f"{what} {rel!r} is not readable text", kpath, pos))
        loaded = yamlio.load_text(text)
        documents, problems = loaded.documents, loaded.problems
    else:
        documents, problems = sf.documents, sf.problems
    fatal = [p for p in problems if p.fatal]
    if fatal:
        raise Blocked(Blocker("values", f"{what} {rel!r} is not valid YAML (line {fatal[0].line})", kpath, pos))
    data = documents[0].data if documents else None
    if data is None:
        return {}
    if not isinstance(data, YMap):
        raise Blocked(Blocker("values", f"{what} {rel!r} is not a mapping of values (a {type(data).__name__})",
                              kpath, pos))
    return yamlio.plain(data, str_keys=True)


def helm_merge(base: Any, over: Any) -> Any:
    """Helm's merge of ``-f`` files (later wins; maps merge key by key; a null is kept, and deletes
    the chart's default when Helm coalesces)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = helm_merge(out[key], value) if key in out and isinstance(value, dict) else value
        return out
    return over


def _associative_key(items: list) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _ASSOCIATIVE:
        if all(key in i for i in items):
            return key
    return None


def kyaml_merge(src: Any, dest: Any) -> Any:
    """kyaml ``merge2.Merge(src, dest)``: ``src`` wins; a null in ``src`` clears the field; lists of
    maps with a common associative key merge element by element, other lists are replaced."""
    if isinstance(src, dict) and isinstance(dest, dict):
        out = dict(dest)
        for key, value in src.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = kyaml_merge(value, out[key])
            else:
                out[key] = _drop_nulls(value)
        return out
    if isinstance(src, list) and isinstance(dest, list):
        key = _associative_key(src + dest)
        if key is None:
            return _drop_nulls(src)
        merged = list(dest)
        index = {item[key]: i for i, item in enumerate(merged)}
        for item in src:
            if item[key] in index:
                merged[index[item[key]]] = kyaml_merge(item, merged[index[item[key]]])
            else:
                merged.append(_drop_nulls(item))
        return merged
    return _drop_nulls(src)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _name_template(template: str, kpath: str, pos: tuple[int, int]) -> str:
    if "{{" in template:
        raise Blocked(Blocker("unsupported", f"helmCharts nameTemplate {template!r} is a Go template, which only "
                              "helm evaluates: not rendered (set releaseName)", kpath, pos))
    return template


def inflate(model: RepoModel, kpath: str, entry: YMap, globals_: Any, locate_chart: Callable[[Any], Any],
            backend: str, timeout: float | None, tmp: Path, app: str | None = None) -> Inflated:
    """The ``helm template`` output of one helmCharts entry (``# Source:`` comments kept), or
    :class:`Blocked`. ``backend``: "sdk" or "helm"."""
    from ..charts import ChartError, ChartRef
    from ..charts.store import is_exact

    kdir = posixpath.dirname(kpath)
    where = entry.value_pos("name") if "name" in entry else entry.pos
    name = _str(entry, "name")
    if not name or "/" in name or name in (".", ".."):
        raise Blocked(Blocker("render", f"helmCharts entry in {kpath} has no chart name", kpath, where))
    repo, version = _str(entry, "repo"), _str(entry, "version")
    from .helm import plain_part

    if not plain_part(name) or (version and not plain_part(version)):
        # both become a folder name below chartHome: nothing may walk out of it
        raise Blocked(Blocker("render", f"helmCharts {name[:60]!r} of {kpath}: chart name or version is not a plain "
                              "name", kpath, where))
    notes: list[Blocker] = []
    home = DEFAULT_HOME
    if isinstance(globals_, YMap) and _str(globals_, "chartHome"):
        home = _str(globals_, "chartHome")
    home_rel = _inside(kdir, home)
    if home_rel is None:
        raise Blocked(Blocker("render", f"helmGlobals.chartHome {home!r} of {kpath} is outside the kustomization's "
                              "folder (kustomize refuses it)", kpath, where))
    abs_home = posixpath.join(home_rel, f"{name}-{version}") if repo and version else home_rel
    local = posixpath.join(abs_home, name) if abs_home else name
    root = Path(model.root)
    label = f"{name} {version or '(no version)'}" + (f" from {repo}" if repo else "")
    chart: Path | None = None
    if (root / local / "Chart.yaml").is_file() and not (root / local).is_symlink():
        from .helm import _copy_tree

        chart = tmp / f"chart-{name}"
        _copy_tree(root / local, chart, root)
    elif not repo:
        raise Blocked(Blocker("render", f"helmCharts {name!r} of {kpath}: no repo specified for pull, no chart "
                              f"found at {local!r}", kpath, where))
    elif not is_exact(version):
        raise Blocked(Blocker("unsupported", f"helmCharts {name!r} of {kpath} pins no exact version "
                              f"({version or 'none'}): kustomize pulls whatever is newest, gitops-kit renders "
                              "pinned charts only", kpath, entry.value_pos("version") if "version" in entry else where))
    else:
        ref = ChartRef(repo, name, version)
        try:
            chart = Path(locate_chart(ref))
        except ChartError as exc:
            from ..charts import DigestMismatch

            kind = "digest" if isinstance(exc, DigestMismatch) else "cache-miss"
            message = str(exc)
            if app:
                message = message.replace("gitops-kit charts pull <app>", f"gitops-kit charts pull {app}")
            raise Blocked(Blocker(kind, message, kpath, where, ref.label())) from None
    # release name and namespace
    release = _str(entry, "releaseName")
    template = _str(entry, "nameTemplate")
    if release and template:
        raise Blocked(Blocker("render", f"helmCharts {name!r} of {kpath}: helm template refuses releaseName with "
                              "nameTemplate ('cannot set --name-template and also specify a name')", kpath, where))
    if template:
        release = _name_template(template, kpath, entry.value_pos("nameTemplate"))
    elif not release:
        release = f"{name.split('.')[0]}-{int(time.time())}"
        notes.append(Blocker("unsupported", f"helmCharts {name!r} of {kpath} has no releaseName: kustomize runs helm "
                             f"template --generate-name, a new release name on every render (rendered as {release!r}; "
                             "ArgoCD never sees the app in sync): set releaseName", kpath, where))
    namespace = _str(entry, "namespace") or "default"
    merge = _str(entry, "valuesMerge") or "override"
    if merge not in MERGE_OPTIONS:
        raise Blocked(Blocker("render", f"helmCharts {name!r} of {kpath}: valuesMerge must be one of "
                              f"{list(MERGE_OPTIONS)}, not {merge!r}", kpath, entry.value_pos("valuesMerge")))
    # values, in kustomize's order
    values_file = _str(entry, "valuesFile")
    file_values: dict | None = None
    if values_file:
        rel = _inside(kdir, values_file)
        vpos = entry.value_pos("valuesFile")
        if rel is None:
            raise Blocked(Blocker("values", f"helmCharts {name!r} of {kpath}: valuesFile {values_file!r} is not in "
                                  "or below the kustomization's folder (kustomize refuses it)", kpath, vpos))
        file_values = _read_values(model, rel, kpath, vpos, "valuesFile")
    inline = entry.get("valuesInline")
    if inline is not None and not isinstance(inline, YMap):
        raise Blocked(Blocker("values", f"helmCharts {name!r} of {kpath}: valuesInline is not a mapping", kpath,
                              entry.value_pos("valuesInline")))
    inline_values = yamlio.plain(inline, str_keys=True) if isinstance(inline, YMap) else {}
    extra: list[dict] = []
    more = entry.get("additionalValuesFiles")
    if isinstance(more, YSeq):
        for i, item in enumerate(more):
            rel = _inside(kdir, str(item).strip()) if isinstance(item, str) else None
            if rel is None:
                raise Blocked(Blocker("values", f"helmCharts {name!r} of {kpath}: additionalValuesFiles entry "
                                      f"{item!r} is not in or below the kustomization's folder", kpath,
                                      more.item_pos(i)))
            extra.append(_read_values(model, rel, kpath, more.item_pos(i), "additionalValuesFiles entry"))
    include_crds = entry.get("includeCRDs") is True
    skip_tests = entry.get("skipTests") is True
    skip_hooks = entry.get("skipHooks") is True
    api_versions = [str(v) for v in entry.get("apiVersions") or [] if isinstance(v, (str, int, float))] \
        if isinstance(entry.get("apiVersions"), YSeq) else []
    kube_version = _str(entry, "kubeVersion")
    if backend == "sdk" and (api_versions or kube_version):
        notes.append(Blocker("unsupported", f"helmCharts {name!r} of {kpath} sets "
                             f"{' and '.join(k for k, v in (('apiVersions', api_versions), ('kubeVersion', kube_version)) if v)}"
                             ", which the Helm SDK cannot set (Capabilities): rendered with the SDK's built-in ones",
                             kpath, where))
    try:
        templates = _render(chart, name, file_values, inline_values, merge, extra, release, namespace, include_crds,
                            backend, timeout, api_versions, kube_version, tmp)
    except _Failed as exc:
        raise Blocked(Blocker(exc.kind, f"helmCharts {label} of {kpath} does not render: {exc}", kpath, where)) from None
    return Inflated(_join(_filter(templates, skip_tests, skip_hooks)), notes)


class _Failed(Exception):
    def __init__(self, message: str, kind: str = "render") -> None:
        super().__init__(message)
        self.kind = kind


def _render(chart: Path, name: str, file_values: dict | None, inline: dict, merge: str, extra: list[dict],
            release: str, namespace: str, include_crds: bool, backend: str, timeout: float | None,
            api_versions: list[str], kube_version: str, tmp: Path) -> list[tuple[str, str]]:
    from .helm import RenderFailed, _one_line

    try:
        if inline:
            base = file_values
            if base is None and merge != "replace":  # the default values file: the chart's values.yaml
                base = _chart_values(chart)
            if merge == "override":
                first = kyaml_merge(inline, base or {})
            elif merge == "merge":
                first = kyaml_merge(base or {}, inline)
            else:
                first = inline
        else:
            first = file_values or {}  # the chart's own values.yaml as -f: its defaults, nothing more
        values: Any = first
        for more in extra:
            values = helm_merge(values, more)
        if backend == "sdk":
            from .helm import _render_sdk

            return _render_sdk(chart, values, release, namespace, not include_crds, timeout)
        return _render_binary(chart, values, release, namespace, include_crds, api_versions, kube_version,
                              timeout or 60.0, tmp)
    except RenderFailed as exc:
        raise _Failed(str(exc), exc.kind) from None
    except Exception as exc:  # the SDK's errors: one line
        raise _Failed(_one_line(str(exc)) or type(exc).__name__) from None


def _chart_values(chart: Path) -> dict:
    from helm_python import Chart

    with Chart.load(chart) as loaded:
        values = loaded.values
    return dict(values) if isinstance(values, dict) else {}


def _render_binary(chart: Path, values: dict, release: str, namespace: str, include_crds: bool,
                   api_versions: list[str], kube_version: str, timeout: float, tmp: Path) -> list[tuple[str, str]]:
    """``helm template`` with kustomize's flags (see :func:`.helm.run_template`)."""
    from .helm import run_template

    flags = ["--namespace", namespace]
    for api in api_versions:
        flags += ["--api-versions", api]
    if kube_version:
        flags += ["--kube-version", kube_version]
    if include_crds:
        flags.append("--include-crds")
    return run_template(release, chart, values, flags, timeout, tmp)


def _hook_types(text: str) -> list[list[str]]:
    """The ``helm.sh/hook`` types of each document of a rendered template ([] for a plain one)."""
    loaded = yamlio.load_text(text)
    out = []
    for doc in loaded.documents:
        data = doc.data
        meta = data.get("metadata") if isinstance(data, YMap) else None
        ann = meta.get("annotations") if isinstance(meta, YMap) else None
        hook = ann.get("helm.sh/hook") if isinstance(ann, YMap) else None
        out.append([t.strip() for t in hook.split(",") if t.strip()] if isinstance(hook, str) else [])
    return out


def _filter(templates: list[tuple[str, str]], skip_tests: bool, skip_hooks: bool) -> list[tuple[str, str]]:
    """``--skip-tests`` drops test hooks, ``--no-hooks`` every hook; NOTES.txt is never printed."""
    out = []
    for template, text in templates:
        if template.endswith("NOTES.txt") or not text.strip():
            continue
        if skip_tests or skip_hooks:
            hooks = _hook_types(text)
            if any(hooks):
                if skip_hooks:
                    continue
                if any(t.startswith("test") for types in hooks for t in types):
                    continue
        out.append((template, text))
    return out


def _join(templates: list[tuple[str, str]]) -> str:
    parts = []
    for template, text in templates:
        parts.append(f"---\n# Source: {template}\n{text.strip(chr(10))}\n")
    return "".join(parts)
