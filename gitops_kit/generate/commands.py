"""The ``init`` and ``new-app`` click commands: argument parsing and prompts only.

Everything else is imported inside the commands: cookiecutter and Jinja are slow to import,
and ``gitops-kit --version`` or ``lint`` must not pay for them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import UsageError

PATTERN_CHOICES = ["multi-source", "umbrella-avp", "kustomize"]


def interactive(no_input: bool) -> bool:
    """Prompt for missing values only on a terminal, and never with --no-input."""
    return not no_input and sys.stdin.isatty()


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--domain", default="example.com", show_default=True, help="DNS domain of the cluster's services.")
@click.option("--repo-url", metavar="URL",
              help="URL of the repository, which every Application points back to  [default: a placeholder, "
                   "https://gitlab.example.com/platform/gitops.git, that init's output and .gitops-kit.yaml name "
                   "as one; set repo.url later and `lint --fix` rewrites the Applications]")
@click.option("--branch", default="master", show_default=True, help="Branch ArgoCD follows.")
@click.option("--tier-label", metavar="KEY", help="Node label that selects a tier  [default: DOMAIN/role]")
@click.option("--k8s-version", metavar="X.Y", help="Target Kubernetes version  [default: the shipped default]")
@click.option("--platform", type=click.Choice(["none", "seed"]), default="none", show_default=True,
              help="seed: also every app of the write-up's three layer tables (25 apps).")
@click.option("--tool-source", metavar="SPEC",
              help="Where the generated CI and pre-commit get gitops-kit from: git+URL@TAG (a tag of gitops-kit's "
                   "git repository: CI pip-installs it, pre-commit uses its hook at TAG) or "
                   "'gitops-kit==X.Y.Z --index-url URL' (your internal index; pre-commit runs gitops-kit from PATH)  "
                   "[default: a CI placeholder that lint reports, and a pre-commit hook running gitops-kit from PATH]")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--force", is_flag=True, help="Replace files that already exist.")
def init(directory: Path, domain: str, repo_url: str | None, branch: str, tier_label: str | None,
         k8s_version: str | None, platform: str, tool_source: str | None, dry_run: bool, force: bool) -> None:
    """Generate a three-layer GitOps repository in DIRECTORY (lint-clean by construction)."""
    from .execute import run_init
    from .plan import InitOptions

    opts = InitOptions(directory=directory, domain=domain, repo_url=repo_url, branch=branch,
                       tier_label=tier_label, k8s_version=k8s_version, platform=platform, tool_source=tool_source)
    raise SystemExit(run_init(opts, dry_run=dry_run, force=force, echo=click.echo))


@click.command("new-app")
@click.argument("name")
@click.option("--layer", help="bootstrap, platform or apps (the repository's layers).")
@click.option("--pattern", type=click.Choice(PATTERN_CHOICES),
              help="Helm pattern  [default: multi-source; umbrella-avp with --secret]")
@click.option("--chart", help="Upstream chart name  [default: NAME]")
@click.option("--chart-repo", metavar="URL", help="Upstream chart repository (https:// or oci://).")
@click.option("--chart-version", metavar="X.Y.Z", help="Exact chart version.")
@click.option("--namespace", "namespace", metavar="NS",
              help="Destination namespace  [default: NAME (apps), NAME-core (platform), NAME-system (bootstrap)]")
@click.option("--tier", help="Node tier (control|worker)  [default: the layer's]")
@click.option("--wave", type=int, help="Sync wave  [default: 0, or after the --after apps of the same layer]")
@click.option("--secret", "secrets", multiple=True, metavar="KEY",
              help="A Vault secret key (repeatable): switches to umbrella-avp and writes its placeholder.")
@click.option("--after", multiple=True, metavar="APP",
              help="An app this one syncs after (repeatable), registered in .gitops-kit.yaml.")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--force", is_flag=True,
              help="Replace the app's whole bundle if it exists: also deletes (and lists) the files of its "
                   "Application and apps/helm/NAME/ the new bundle does not have, e.g. another pattern's; "
                   "your files in apps/manifests/NAME/ stay. One all-or-nothing write, then a lint of the bundle.")
@click.option("--no-input", is_flag=True, help="Never prompt; fail on a missing value.")
@click.option("--repo", "repo", type=click.Path(file_okay=False, path_type=Path),
              help="The repository  [default: the one containing the current directory]")
@click.option("--blueprint", metavar="PATH", help="A cookiecutter template to render instead of the bundled ones.")
@click.option("--trust-blueprint", is_flag=True,
              help="Run the --blueprint's cookiecutter hooks and Jinja extensions (code from that path).")
def new_app(name: str, layer: str | None, pattern: str | None, chart: str | None, chart_repo: str | None,
            chart_version: str | None, namespace: str | None, tier: str | None, wave: int | None,
            secrets: tuple[str, ...], after: tuple[str, ...], dry_run: bool, force: bool, no_input: bool,
            repo: Path | None, blueprint: str | None, trust_blueprint: bool) -> None:
    """Add the app NAME: its Application, apps/helm/NAME/ and apps/manifests/NAME/ (lint-clean)."""
    from ..discover import find_root
    from .execute import run_new_app
    from .plan import NewAppOptions

    ask = interactive(no_input)
    if layer is None:
        if not ask:
            raise UsageError("new-app needs --layer (bootstrap, platform or apps)")
        layer = click.prompt("layer", type=click.Choice(["bootstrap", "platform", "apps"]))
    if ask:
        chart = chart or click.prompt("chart name", default=name)
        chart_repo = chart_repo or click.prompt("chart repository URL")
        chart_version = chart_version or click.prompt("chart version (exact, e.g. 1.2.3)")
    root = find_root(repo if repo is not None else Path.cwd())
    opts = NewAppOptions(name=name, layer=layer, pattern=pattern, chart=chart, chart_repo=chart_repo,
                         chart_version=chart_version, namespace=namespace, tier=tier, wave=wave,
                         secrets=secrets, after=after, blueprint=blueprint, trust_blueprint=trust_blueprint)
    raise SystemExit(run_new_app(root, opts, dry_run=dry_run, force=force, echo=click.echo))
