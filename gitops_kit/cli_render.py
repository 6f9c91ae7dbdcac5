"""``gitops-kit render``: the objects each Application deploys, as ArgoCD renders them (offline)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from .errors import UsageError


@click.command("render")
@click.argument("apps", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Output format.")
@click.option("--output-dir", "output_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write one file per app (<app>.yaml or <app>.json) into DIR instead of standard output.")
@click.option("--force", is_flag=True, help="With --output-dir: replace files that exist.")
@click.option("--root", "root_dir", type=click.Path(file_okay=False, exists=True), metavar="DIR",
              help="The repository root (default: the repository containing the current directory).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
@click.option("--renderer", type=click.Choice(["auto", "sdk", "helm"]),
              help="Helm backend  [default: config renderer, auto]")
def render(apps: tuple[str, ...], fmt: str, output_dir: str | None, force: bool, root_dir: str | None,
           config_file: str | None, renderer: str | None) -> None:
    """Print the objects each Application deploys (APPS: all child Applications when none are
    named), in ArgoCD's sync order, each with a header naming its app, source and template.

    Offline: a chart the cache lacks is an error naming the command that fetches it
    (gitops-kit charts pull), exit 1. Never writes into the repository."""
    from . import config as config_mod
    from .discover import find_root
    from .model import build
    from .render import Options, choose_renderer, limits, ordered, render_apps

    root = Path(root_dir).resolve() if root_dir else find_root(Path("."))
    cfg = config_mod.load(root, Path(config_file) if config_file else None)
    model = build(root, cfg)
    known = {a.name for a in model.child_apps()}
    unknown = [a for a in apps if a not in known]
    if unknown:
        raise UsageError(f"no Application named {', '.join(repr(a) for a in unknown)} "
                         f"(known: {', '.join(sorted(known)) or 'none'})")
    wanted = renderer or str(cfg.data.get("renderer") or "auto")
    results = render_apps(model, list(apps) or None, Options(renderer=wanted))
    backend = choose_renderer(wanted)
    kube = str(cfg.data.get("kubernetes_version") or "")
    header = [f"rendered by gitops-kit ({'Helm SDK in-process' if backend == 'sdk' else backend}), offline"]
    header += limits(backend, kube)
    failed = False
    texts: dict[str, str] = {}
    docs: dict[str, dict] = {}
    for r in results:
        for p in r.problems:
            failed = True
            click.echo(f"gitops-kit: {p.path}:{p.pos[0]}: {p.message}", err=True)
        objs = ordered(r.objects)
        if fmt == "json":
            docs[r.app.name] = {"app": r.app.name, "objects": [
                {"source": o.source, "template": o.template, "object": _plain(o.data)} for o in objs]}
            texts[r.app.name] = json.dumps({"renderer": backend, "limits": header[1:], **docs[r.app.name]},
                                           indent=2) + "\n"
        else:
            texts[r.app.name] = _yaml(r.app.name, objs)
    head = "".join(f"# {line}\n" for line in header)
    if output_dir:
        _write(Path(output_dir), {app: text if fmt == "json" else head + text for app, text in texts.items()},
               fmt, force)
    elif fmt == "json":  # one document: the run's renderer and limits, then every app
        click.echo(json.dumps({"renderer": backend, "limits": header[1:], "apps": list(docs.values())}, indent=2))
    else:
        click.echo(head + "".join(texts.values()), nl=False)
    if failed:
        raise SystemExit(1)


def _plain(data):
    from .yamlio import plain

    return plain(data, str_keys=True)


def _yaml(app: str, objs: list) -> str:
    from .yamlio import dump

    out = []
    for o in objs:
        source = "spec.source" if o.source < 0 else f"spec.sources[{o.source}]"
        out.append(f"---\n# app: {app}  source: {source}  template: {o.template}\n")
        out.append(dump(_plain(o.data)))
    return "".join(out)


def _write(directory: Path, texts: dict[str, str], fmt: str, force: bool) -> None:
    """One file per app in ``directory``, atomically; existing files only with ``force``; an app
    name that would leave the folder is refused."""
    from .yamlio import atomic_write

    directory.mkdir(parents=True, exist_ok=True)
    real = directory.resolve()
    for app in texts:
        target = directory / f"{app}.{fmt}"
        if os.sep in app or "/" in app or app in ("", ".", "..") or target.resolve().parent != real:
            raise UsageError(f"app name {app!r} cannot be a file name in {directory}")
        if os.path.lexists(target) and not force:
            raise UsageError(f"{target} exists: use --force to replace it (nothing was written)")
    for app, text in texts.items():
        target = directory / f"{app}.{fmt}"
        try:
            atomic_write(target, text, overwrite=force)
        except FileExistsError:
            raise UsageError(f"{target} exists: use --force to replace it") from None
        click.echo(f"wrote {target}", err=True)
