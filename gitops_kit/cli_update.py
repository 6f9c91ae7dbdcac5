"""``gitops-kit check-update``: argument parsing only (the check is :mod:`gitops_kit.update`, the
render diff and risks :mod:`gitops_kit.upgrade`)."""

from __future__ import annotations

import os

import click

UPDATE_FORMATS = ["text", "json", "markdown", "html"]


@click.command("check-update")
@click.argument("path", default=".", type=click.Path(exists=True))
@click.option("--base", help="Base revision (default: the merge-base with the configured branch).")
@click.option("--format", "fmt", type=click.Choice(UPDATE_FORMATS), default="text", show_default=True,
              help="Written to standard output. markdown: the merge-request comment; html: a self-contained "
                   "page with a side-by-side diff per object; json: schemas/check-update.schema.json.")
@click.option("--output", "outputs", multiple=True, metavar="FORMAT=FILE",
              help="Also write FORMAT to FILE (repeatable), e.g. --output html=check-update.html.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
@click.option("--fetch", is_flag=True,
              help="Pull the charts of the affected apps, base and head versions, into the chart cache first "
                   "(the only network use; mirrors and credentials as for `charts pull`).")
@click.option("--no-render", "no_render", is_flag=True, help="Only the version changes and the policy: no render "
              "diff, no upgrade risks.")
@click.option("--renderer", type=click.Choice(["auto", "sdk", "helm"]), default="auto", show_default=True,
              help="Helm backend of the render diff.")
@click.option("--note-limit", "note_limit", type=click.IntRange(min=2000), default=1_000_000, show_default=True,
              help="Longest markdown comment, in characters (GitLab's note limit); a longer one is cut at "
                   "object boundaries and the whole report goes to --artifact.")
@click.option("--artifact", default="gitops-kit-check-update.md", show_default=True, type=click.Path(dir_okay=False),
              help="Where the whole markdown report is written when the comment is cut.")
@click.option("--gitlab-note", "gitlab_note", is_flag=True,
              help="Create or update one note on the merge request with the markdown comment (GitLab API: "
                   "CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID, token in GITOPS_KIT_GITLAB_TOKEN).")
def check_update(path: str, base: str | None, fmt: str, outputs: tuple[str, ...], config_file: str | None,
                 fetch: bool, no_render: bool, renderer: str, note_limit: int, artifact: str,
                 gitlab_note: bool) -> None:
    """Check a dependency-update merge request: version bumps, policy, render diff, upgrade risks, lint.

    Exit 0 when it passes, 1 when a change needs review or is refused (a major bump not allowed,
    a stateful app removed) or an upgrade risk is an error, 2 for usage errors and a note that
    could not be posted."""
    from . import update
    from .api import lint as run_lint
    from .errors import UsageError
    from .yamlio import atomic_write

    targets = []
    for spec in outputs:
        kind, sep, file = spec.partition("=")
        if not sep or kind not in UPDATE_FORMATS or not file:
            raise UsageError(f"--output {spec!r}: expected FORMAT=FILE with FORMAT one of {', '.join(UPDATE_FORMATS)}")
        targets.append((kind, file))
    report = run_lint([path], config_file=config_file)
    result = update.check(report.root, base, report, render=not no_render, fetch=fetch, config_file=config_file,
                          renderer=renderer)
    comment: str | None = None

    def text(kind: str) -> str:
        nonlocal comment
        from .upgrade import report as rep

        if kind == "json":
            import json

            return json.dumps(result.as_dict(), indent=2) + "\n"
        if kind == "html":
            return rep.html(result)
        if kind == "markdown":
            if comment is None:
                comment, cut = rep.markdown(result, note_limit, artifact)
                if cut:
                    full, _ = rep.markdown(result, None)
                    os.makedirs(os.path.dirname(os.path.abspath(artifact)), exist_ok=True)
                    atomic_write(artifact, full, overwrite=True)
            return comment
        return update.render_text(result)

    failed = False
    for kind, file in targets:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(file)), exist_ok=True)
            atomic_write(file, text(kind), overwrite=True)
        except OSError as exc:
            click.echo(f"gitops-kit: cannot write {file}: {exc.strerror or exc}", err=True)
            failed = True
    click.echo(text(fmt), nl=False)
    if gitlab_note:
        from .upgrade import gitlab

        try:
            how, note = gitlab.post(text("markdown"))
            click.echo(f"gitops-kit: merge-request note {note} {how}", err=True)
        except gitlab.NoteError as exc:
            click.echo(f"gitops-kit: {exc}", err=True)
            failed = True
    raise SystemExit(2 if failed else result.exit_code)
