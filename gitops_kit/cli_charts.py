"""``gitops-kit charts``: the chart cache. ``charts pull`` is the one command that uses the network."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import UsageError

_ROOT_HELP = "The repository root (default: the repository containing the current directory)."


@click.group("charts")
def charts() -> None:
    """The remote Helm charts the Applications deploy, and the cache that holds them
    ($XDG_CACHE_HOME/gitops-kit/charts)."""


def _load(root_dir: str | None, config_file: str | None):
    from . import config as config_mod
    from .discover import find_root
    from .model import build

    root = Path(root_dir).resolve() if root_dir else find_root(Path("."), strict=True)
    cfg = config_mod.load(root, Path(config_file) if config_file else None)
    return build(root, cfg)


def _apps(model, names: tuple[str, ...], everything: bool) -> list:
    """The Applications named (each name must exist), or every one with ``everything``."""
    if everything:
        if names:
            raise UsageError("give APP names or --all, not both")
        return [app for app in model.applications if not app.is_root]
    unknown = [name for name in names if name not in model.apps_by_name]
    if unknown:
        raise UsageError(f"no Application named {', '.join(repr(n) for n in unknown)} in {model.root}")
    return [app for name in dict.fromkeys(names) for app in model.apps_by_name[name]]


def _reason(ref, exc: Exception) -> str:
    """The error's message without the chart's label it starts with (the line shows it already)."""
    text, label = str(exc), ref.label()
    return text[len(label) + 2:] if text.startswith(label + ": ") else text


@charts.command("pull")
@click.argument("apps", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Pull the charts of every Application.")
@click.option("--root", "root_dir", type=click.Path(file_okay=False, exists=True), metavar="DIR", help=_ROOT_HELP)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
def pull(apps: tuple[str, ...], everything: bool, root_dir: str | None, config_file: str | None) -> None:
    """Download the remote charts APPS need (Helm repository and OCI sources, umbrella chart
    dependencies, kustomize helmCharts) into the chart cache, and the remote kustomize resources
    their kustomizations name (URLs that pin a tag or commit) into the resource cache, through the
    mirrors of `charts.mirrors`. One line per chart or URL: cached, downloaded, unpinned or failed
    (with the reason); exit 1 when any failed or is unpinned. The only command that uses the network."""
    from .charts import ChartError, chart_refs
    from .charts.fetch import Session
    from .charts.resources import ResourceError, Unpinned, remote_resources, substitutes
    from .charts.resources import pull as pull_resource

    if not apps and not everything:
        raise UsageError("name the Applications whose charts to pull, or --all")
    model = _load(root_dir, config_file)
    session = Session.for_config(model.config)
    subs = substitutes(model.config)
    counts = {"cached": 0, "downloaded": 0, "failed": 0}
    resources = {"cached": 0, "downloaded": 0, "failed": 0}
    for app in _apps(model, apps, everything):
        refs = chart_refs(model, app)
        remotes = [r for r in remote_resources(model, app) if r.url not in subs]
        if not refs and not remotes and not everything:
            click.echo(f"{'-':<10}  {app.name}: no remote charts or resources")
        for _src, ref in refs:
            try:
                _path, downloaded = session.pull(ref)
            except ChartError as exc:
                counts["failed"] += 1
                click.echo(f"{'failed':<10}  {app.name}: {ref.label()}: {_reason(ref, exc)}")
                continue
            status = "downloaded" if downloaded else "cached"
            counts[status] += 1
            click.echo(f"{status:<10}  {app.name}: {ref.label()}")
        for remote in remotes:
            label = _clean(remote.url)
            try:
                _path, downloaded = pull_resource(remote.url, session, app.name)
            except ResourceError as exc:
                resources["failed"] += 1
                status = "unpinned" if isinstance(exc, Unpinned) else "failed"
                click.echo(f"{status:<10}  {app.name}: {label}: {_reason_text(label, exc)}")
                continue
            status = "downloaded" if downloaded else "cached"
            resources[status] += 1
            click.echo(f"{status:<10}  {app.name}: {label}")
    total = sum(counts.values())
    line = (f"{total} chart{'s' if total != 1 else ''}: {counts['downloaded']} downloaded, "
            f"{counts['cached']} cached, {counts['failed']} failed")
    rtotal = sum(resources.values())
    if rtotal:
        line += (f"; {rtotal} remote resource{'s' if rtotal != 1 else ''}: {resources['downloaded']} downloaded, "
                 f"{resources['cached']} cached, {resources['failed']} failed or unpinned")
    click.echo(line)
    raise SystemExit(1 if counts["failed"] or resources["failed"] else 0)


def _clean(url: str) -> str:
    from .charts.resources import clean

    return clean(url)


def _reason_text(label: str, exc: Exception) -> str:
    """The message without the resource's label where it starts with it."""
    text = str(exc)
    for prefix in (f"remote resource {label}: ", f"remote resource {label} "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


@charts.command("list")
@click.argument("apps", nargs=-1)
@click.option("--root", "root_dir", type=click.Path(file_okay=False, exists=True), metavar="DIR", help=_ROOT_HELP)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
def list_cmd(apps: tuple[str, ...], root_dir: str | None, config_file: str | None) -> None:
    """The remote charts and kustomize resources APPS (default: every Application) need and whether
    each is in the cache (offline: nothing is downloaded)."""
    from .charts import CacheMiss, DigestMismatch, chart_refs, locate
    from .charts.resources import NotAFile, ResourceChanged, ResourceMiss, Unpinned, remote_resources, substitutes
    from .charts.resources import locate as locate_resource

    model = _load(root_dir, config_file)
    subs = substitutes(model.config)
    for app in _apps(model, apps, not apps):
        for _src, ref in chart_refs(model, app):
            try:
                locate(ref)
                status = "cached"
            except DigestMismatch:
                status = "corrupt"
            except CacheMiss:
                status = "missing"
            click.echo(f"{status:<8}  {app.name}: {ref.label()}")
        for remote in remote_resources(model, app):
            if remote.url in subs:
                status = "local"
            else:
                try:
                    locate_resource(remote.url)
                    status = "cached"
                except ResourceChanged:
                    status = "corrupt"
                except ResourceMiss:
                    status = "missing"
                except Unpinned:
                    status = "unpinned"
                except NotAFile:
                    status = "git"
            click.echo(f"{status:<8}  {app.name}: {_clean(remote.url)}")
