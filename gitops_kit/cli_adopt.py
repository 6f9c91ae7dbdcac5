"""``gitops-kit adopt``: argument parsing only (the logic is gitops_kit.adopt)."""

from __future__ import annotations

import click


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, exists=True))
@click.option("--write", "do_write", is_flag=True, help="Write the proposal to DIR/.gitops-kit.yaml.")
@click.option("--force", is_flag=True, help="With --write: replace an existing .gitops-kit.yaml.")
@click.option("--no-lint", "no_lint", is_flag=True,
              help="Do not lint twice to count the findings with and without the proposal.")
def adopt(directory: str, do_write: bool, force: bool, no_lint: bool) -> None:
    """Propose the .gitops-kit.yaml that describes the existing ArgoCD repository DIR.

    The ArgoCD namespace, repo.url and branch (git remote and the Applications' own sources),
    layers from the app-of-apps tree, namespace suffixes and node tiers where the repository
    follows them; each key with a comment saying what it was inferred from, and the number of
    lint findings with the current configuration and with the proposal. Nothing in DIR is run;
    only --write writes (never over an existing file without --force). `init` starts a new one.
    """
    from pathlib import Path

    from . import adopt as adopt_mod
    from .errors import UsageError

    if force and not do_write:
        raise UsageError("--force goes with --write")
    root = Path(directory).resolve()
    text, _, before, after = adopt_mod.proposal_text(root, with_counts=not no_lint)
    click.echo(text, nl=False)
    if do_write:
        target = adopt_mod.write(root, text, force)
        click.echo(f"wrote {target}", err=True)
    if before is not None and after is not None:
        click.echo(f"lint: {before} with the current configuration, {after} with this proposal", err=True)
