"""chart-values: Helm values the pinned chart rejects (its values.schema.json) or ignores.

For every Helm source of an Application whose chart is in the chart cache (``gitops-kit charts
pull``), and every dependency of an umbrella chart of this repository: the values the repository
gives (merged as ArgoCD merges them, :func:`gitops_kit.model.values.helm_values`) are coalesced with
the chart's defaults and validated against the chart's ``values.schema.json``, as Helm does before it
renders; a rejected value means the chart never renders and the app never syncs. A key the
repository sets that the chart's ``values.yaml`` does not have and that no template of the chart
names is ignored by the chart (a warning: the setting silently does nothing).

Offline: charts come from the cache only (a chart not in the cache is not judged here;
``lint --render`` reports it). Charts are read with the in-process Helm SDK (the ``[render]``
extra); without it the rule has nothing to read and stays silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from ..findings import Hit, Severity
from ..model import AppSource, Application, RepoModel
from ..yamlio import YMap

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_MEMBER = 4 * 1024 * 1024


@dataclass
class _Chart:
    """What the rule needs of one cached chart version."""

    label: str
    defaults: dict[str, Any]
    schema: dict[str, Any] | None
    words: frozenset[str]  # identifiers its templates (and its subcharts' templates) mention
    text: str  # those templates
    subcharts: dict[str, _Chart]
    handle: Any  # helm_python.Chart, for Helm's own coalescing


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    import importlib.util

    # Only whether the optional [render] extra is installed: importing the Go library maps about
    # 1.8 GB of address space, so it is loaded only once a chart is actually found in the cache.
    if importlib.util.find_spec("helm_python") is None:
        return

    loaded: dict[Any, _Chart | None] = {}
    max_unread = int(params.get("max_unread_per_source", 20))
    for app in model.applications:
        yield from judge_app(model, app, loaded, max_unread)


def judge_app(model: RepoModel, app: Application, loaded: dict[Any, Any], max_unread: int) -> Iterator[Hit]:
    """The rule's judgement of every chart ``app`` deploys whose chart is cached (``loaded``: the
    charts read so far, shared between calls). check-update calls it on the head's model."""
    from .. import charts
    from ..model.values import helm_values

    for src, ref in charts.chart_refs(model, app):
        if src is None:
            continue  # an umbrella dependency: judged with its umbrella below
        if not _relevant(model, app, src):
            continue
        chart = _load(ref, loaded)
        if chart is None:
            continue
        values = helm_values(model, app, src)
        yield from _judge(chart, values.tree, _Where(app, src, values.origin), (), max_unread)
    yield from _umbrellas(model, app, loaded, max_unread)


@dataclass
class _Where:
    app: Application
    src: AppSource | None
    origin: Any  # path tuple -> (file, pos) | None
    fallback: tuple[str, tuple[int, int]] | None = None

    def at(self, path: tuple) -> tuple[str, tuple[int, int]]:
        found = self.origin(path)
        if found is not None:
            return found
        if self.fallback is not None:
            return self.fallback
        src = self.src
        return self.app.path, (src.pos("chart") if src is not None and "chart" in src.data else self.app.obj.pos)


def _relevant(model: RepoModel, app: Application, src: AppSource) -> bool:
    """Whether a finding about the source's values can be reported (they stand in the
    Application or its value files): loading a chart costs, so a focused run skips the rest."""
    if model.relevant(app.path):
        return True
    from ..model.values import value_files

    return model.relevant(*(vf.rel for vf in value_files(model, app, src) if vf.rel is not None))


def _load(ref: Any, loaded: dict[Any, _Chart | None]) -> _Chart | None:
    if ref in loaded:
        return loaded[ref]
    from .. import charts

    chart = None
    try:
        path = charts.locate(ref)
    except charts.ChartError:
        path = None
    if path is not None:
        try:
            import helm_python
        except ImportError:  # found by find_spec but not loadable: nothing to read charts with
            loaded[ref] = None
            return None
        try:
            handle = helm_python.Chart.load(path)
            chart = _describe(handle, path, ref.label())
        except helm_python.HelmError:
            chart = None  # a chart Helm cannot load: rendering reports it
    loaded[ref] = chart
    return chart


def _describe(handle: Any, path: Any, label: str) -> _Chart:
    templates, values_text = _template_text(path)
    words = frozenset(_WORD.findall(templates))
    text = templates + "\n" + values_text
    # Helm's coalescing with no user values: the chart's defaults with each subchart's own under its name
    defaults = handle.merge_values({})
    subcharts: dict[str, _Chart] = {}
    names = [str(dep.get("name") or "") for dep in handle.dependencies]
    for meta in (handle.metadata.get("dependencies") or []):
        if isinstance(meta, dict) and meta.get("alias"):
            names.append(str(meta["alias"]))
    for name in names:
        sub = defaults.get(name)
        if name and isinstance(sub, dict):
            subcharts[name] = _Chart(f"{name} (subchart of {label})", sub, None, words, text, {}, None)
    return _Chart(label, defaults, handle.schema, words, text, subcharts, handle)


def _template_text(path: Any) -> tuple[str, str]:
    """(templates, values.yaml files) of the archive, its subcharts' (directories and nested archives) included."""
    import io
    import tarfile

    parts: list[str] = []
    values: list[str] = []

    def read(archive: tarfile.TarFile, depth: int) -> None:
        for member in archive:
            if not member.isfile() or member.size > _MAX_MEMBER:
                continue
            name = member.name
            handle = archive.extractfile(member)
            if handle is None:
                continue
            if "/templates/" in name:
                parts.append(handle.read().decode("utf-8", "replace"))
            elif name.endswith("/values.yaml"):
                # charts keep `tpl` templates in string values (loki's config)
                values.append(handle.read().decode("utf-8", "replace"))
            elif depth == 0 and "/charts/" in name and name.endswith(".tgz"):
                try:
                    with tarfile.open(fileobj=io.BytesIO(handle.read()), mode="r:gz") as inner:
                        read(inner, 1)
                except (tarfile.TarError, OSError, EOFError):
                    continue

    try:
        with tarfile.open(path, mode="r:gz") as archive:
            read(archive, 0)
    except (tarfile.TarError, OSError, EOFError):
        return "", ""
    return "\n".join(parts), "\n".join(values)


def _consumed_whole(chart: _Chart, path: tuple) -> bool:
    """Whether a template hands ``.Values.<path>`` (or an ancestor) on whole (``toYaml``, ``with``,
    ``tpl``), so that any key below it reaches the output."""
    for end in range(1, len(path) + 1):
        dotted = ".".join(str(p) for p in path[:end])
        if not all(_WORD.fullmatch(str(p)) for p in path[:end]):
            return True  # a key no template can name with dots: reached through index or a whole map
        ref = r"\$?\.Values\." + re.escape(dotted) + r"(?![\w.])"
        # handed to toYaml/toJson/tpl, or entered with `with`/`range`: its keys reach the output as written
        whole = (r"(?:\b(?:toYaml|toJson|toPrettyJson|with|range|tpl)\b[^}]{0,40}?)" + ref
                 + "|" + ref + r"\s*\|\s*(?:toYaml|toJson|toPrettyJson|tpl)\b")
        if re.search(whole, chart.text):
            return True
    return False


def _judge(chart: _Chart, user: dict[str, Any], where: _Where, prefix: tuple, max_unread: int) -> Iterator[Hit]:
    """Schema errors of ``user`` coalesced with the chart's defaults, then keys the chart ignores."""
    if chart.schema and chart.handle is not None:
        yield from _schema_errors(chart, user, where, prefix)
    unread = list(_unread(chart.defaults, user, chart, ()))
    for path in unread[:max_unread]:
        file, pos = where.at(prefix + path)
        shown = ".".join(str(p) for p in prefix + path)
        yield Hit(file, pos, f"values key {shown} is ignored by chart {chart.label}: its values.yaml has no such "
                  "key and no template of the chart names it", app=where.app.name or None,
                  key=f"{where.app.name}:unread:{chart.label}:{shown}", severity=Severity.WARNING)


def _schema_errors(chart: _Chart, user: dict[str, Any], where: _Where, prefix: tuple) -> Iterator[Hit]:
    import jsonschema_rs

    try:
        merged = chart.handle.merge_values(user)
        validator = jsonschema_rs.validator_for(chart.schema)
    except Exception:
        return
    seen: set[str] = set()
    for error in validator.iter_errors(merged):
        path = tuple(error.instance_path)
        shown = ".".join(str(p) for p in prefix + path) or "(the values)"
        if shown in seen:
            continue
        seen.add(shown)
        file, pos = where.at(prefix + path)
        message = str(error.message).splitlines()[0][:200]
        yield Hit(file, pos, f"chart {chart.label} rejects {shown} (values.schema.json: {message}); "
                  "Helm refuses to render it and the app never syncs", app=where.app.name or None,
                  key=f"{where.app.name}:schema:{chart.label}:{shown}", severity=Severity.ERROR)


def _unread(defaults: Any, user: Any, chart: _Chart, path: tuple) -> Iterator[tuple]:
    """Key paths of ``user`` that neither ``defaults`` nor the chart's templates know."""
    if not isinstance(user, dict) or not isinstance(defaults, dict) or not defaults:
        return  # a free-form map (`podAnnotations: {}`) or a value the chart takes whole
    for key, value in user.items():
        if not path and key == "global":
            continue
        if not path and key in chart.subcharts:
            sub = chart.subcharts[key]
            yield from ((key, *rest) for rest in _unread(sub.defaults, value, sub, ()))
            continue
        if key in defaults:
            yield from _unread(defaults[key], value, chart, (*path, key))
        elif str(key) not in chart.words and not _consumed_whole(chart, (*path, key)):
            yield (*path, key)


def _umbrellas(model: RepoModel, app: Application, loaded: dict[Any, _Chart | None],
               max_unread: int) -> Iterator[Hit]:
    """Each dependency of an umbrella chart the app deploys: the umbrella's values under its name."""
    from .. import charts
    from ..model.values import helm_values

    for src in app.sources:
        chart_dir = _chart_dir(model, src)
        if chart_dir is None or not _relevant(model, app, src):
            continue
        chart_yaml = model.files.get(f"{chart_dir}/Chart.yaml" if chart_dir else "Chart.yaml")
        own = model.files.get(f"{chart_dir}/values.yaml" if chart_dir else "values.yaml")
        own_tree = own.documents[0].data if own is not None and own.documents else None
        values = helm_values(model, app, src)
        user = _coalesce(_plain(own_tree), values.tree)
        for dep in _deps(chart_yaml):
            ref = charts.ChartRef(_oci(dep["repository"]), dep["name"], dep["version"])
            chart = _load(ref, loaded)
            sub_user = user.get(dep["alias"] or dep["name"])
            if chart is None or not isinstance(sub_user, dict):
                continue
            key = dep["alias"] or dep["name"]

            def origin(path: tuple, _values=values, _own=own_tree, _file=own) -> Any:
                found = _values.origin(path)
                if found is not None and found[0] != app.path:
                    return found
                pos = _pos_in(_own, path)
                return (_file.path, pos) if pos is not None and _file is not None else found

            where = _Where(app, src, origin, fallback=None)
            yield from _judge(chart, sub_user, where, (key,), max_unread)


def _chart_dir(model: RepoModel, src: AppSource) -> str | None:
    if src.chart or src.path is None or (src.repo_url is not None and not model.is_this_repo(src.repo_url)):
        return None
    rel = src.path.strip().strip("/").removeprefix("./")
    rel = "" if rel in ("", ".") else rel
    return rel if (f"{rel}/Chart.yaml" if rel else "Chart.yaml") in model.files else None


def _deps(chart_yaml: Any) -> Iterator[dict[str, str]]:
    if chart_yaml is None or not chart_yaml.documents or not isinstance(chart_yaml.documents[0].data, YMap):
        return
    deps = chart_yaml.documents[0].data.get("dependencies")
    for dep in deps if isinstance(deps, list) else ():
        if not isinstance(dep, dict):
            continue
        repo, name, version = dep.get("repository"), dep.get("name"), dep.get("version")
        if not all(isinstance(v, str) and v for v in (repo, name, version)) or repo.startswith(("file://", "@", "alias:")):
            continue
        alias = dep.get("alias") if isinstance(dep.get("alias"), str) else None
        yield {"repository": repo, "name": name, "version": version, "alias": alias or ""}


def _oci(repo: str) -> str:
    return repo if "://" in repo else "oci://" + repo


def _plain(node: Any) -> dict[str, Any]:
    from ..yamlio import plain

    value = plain(node) if node is not None else None
    return value if isinstance(value, dict) else {}


def _coalesce(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _coalesce(out[key], value)
        else:
            out[key] = value
    return out


def _pos_in(tree: Any, path: tuple) -> tuple[int, int] | None:
    """Position of the deepest node of ``path`` in a parsed values file."""
    node, found = tree, None
    for key in path:
        if not isinstance(node, YMap) or key not in node:
            break
        found = node.value_pos(key) if not isinstance(node.get(key), YMap) else node.key_pos(key)
        node = node.get(key)
    return found
