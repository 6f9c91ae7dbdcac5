"""Click commands: argument parsing only. ``main(argv) -> int``; exit 0 clean, 1 errors, 2 usage."""

from __future__ import annotations

import errno
import gc
import os
import sys

import click

from . import __version__
from .errors import UsageError


def _csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitops-kit")
def cli() -> None:
    """Generate and lint three-layer ArgoCD GitOps repositories."""


FORMATS = ["text", "json", "sarif", "codequality", "junit", "github"]


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Format written to standard output.")
@click.option("--output", "outputs", multiple=True, metavar="FORMAT=FILE",
              help="Also write FORMAT to FILE (repeatable), e.g. --output sarif=gl-sast.sarif.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
@click.option("--select", help="Run only these rules (comma-separated ids).")
@click.option("--ignore", "ignore_rules", help="Skip these rules (comma-separated ids).")
@click.option("--severity", type=click.Choice(["error", "warning", "info"]), default="info", show_default=True,
              help="Lowest severity reported.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False),
              help="Report only findings not recorded in this baseline file.")
@click.option("--write-baseline", "write_baseline", type=click.Path(dir_okay=False),
              help="Record the current findings in this baseline file and exit 0.")
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Neither read nor write the parse cache (.gitops-kit-cache/).")
@click.option("--fix", "do_fix", is_flag=True, help="Fix the unambiguous findings in place (comment-preserving).")
@click.option("--diff", "show_diff", is_flag=True, help="With --fix: show the fixes as a diff, write nothing.")
def lint(paths: tuple[str, ...], fmt: str, outputs: tuple[str, ...], config_file: str | None, select: str | None,
         ignore_rules: str | None, severity: str, baseline_file: str | None, write_baseline: str | None,
         no_cache: bool, do_fix: bool, show_diff: bool) -> None:
    """Lint the repository containing PATHS (default: the current directory).

    Given files, findings are limited to them; the rules still see the whole repository.
    """
    if _CONSOLE:
        # The cyclic garbage collector stays off for the rest of this short process: lint builds
        # hundreds of thousands of acyclic objects, and switching the collector back on after
        # them costs one full pass over all of them (50 ms on 1000 apps) for nothing to collect.
        gc.disable()
    from pathlib import Path

    from .api import lint as run_lint
    from .findings import Severity

    targets = []
    for spec in outputs:
        name, sep, file = spec.partition("=")
        if not sep or name not in FORMATS or not file:
            raise UsageError(f"--output takes FORMAT=FILE with FORMAT one of {', '.join(FORMATS)}: got {spec!r}")
        targets.append((name, file))
    for p in paths:
        if not os.path.lexists(p):
            raise UsageError(f"no such file or directory: {p}")
    accepted = None
    if baseline_file:
        from . import baseline

        accepted = baseline.read(Path(baseline_file))
    def again():
        from . import progress

        progress.start()  # on a terminal, for runs longer than a few seconds
        try:
            # --diff writes nothing at all, not even the parse cache (its folder, temporary files
            # and signing key): it runs in merge-request pipelines on untrusted checkouts.
            return run_lint(list(paths) or None, config_file=config_file, select=_csv(select),
                            ignore=_csv(ignore_rules), min_severity=Severity.parse(severity), baseline=accepted,
                            use_cache=not no_cache and not show_diff)
        finally:
            progress.stop()

    report = again()
    if show_diff and not do_fix:
        raise UsageError("--diff goes with --fix")
    if do_fix:
        from . import catalog, fix
        from .engine import params_for

        specs = catalog.load()

        def params(rid: str) -> dict:
            return params_for(specs[rid], report.model)

        fixes = fix.plan(report.model, report.findings, params)
        for ff in fixes:
            if ff.error:
                click.echo(f"gitops-kit: not fixed: {ff.path}: {ff.error}", err=True)
        if show_diff:
            click.echo(fix.diff(report.model, fixes, params), nl=False)
            raise SystemExit(0 if not any(f.new_text for f in fixes) else 1)
        try:
            written = fix.apply(report.model, fixes)
        except OSError as exc:
            raise UsageError(f"--fix wrote nothing: {exc.strerror or exc}") from None
        for path in written:
            click.echo(f"fixed {path}", err=True)
        if written:
            report = again()
    if write_baseline:
        from . import baseline

        baseline.write(Path(write_baseline), report.findings)
        click.echo(f"wrote {len(report.findings)} finding(s) to baseline {write_baseline}", err=True)
        raise SystemExit(0)
    from .report import render

    stdout_error = None
    try:
        if sys.stdout is None:  # started with stdout closed (`>&-`)
            raise OSError(errno.EBADF, "standard output is closed")
        colour = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(render(fmt, report, colour=colour), nl=False)  # writes and flushes
    except BrokenPipeError:
        _discard_stdout()  # the reader has gone (`| head`): it read what it wanted
    except OSError as exc:  # a full disk, a closed descriptor: say so, after the --output files
        _discard_stdout()
        stdout_error = exc.strerror or type(exc).__name__
    if targets:
        from .safepaths import inside
        from .yamlio import atomic_write

        for name, file in targets:
            # a report inside the repository (CI writes gl-sast.sarif there): its temporary file goes
            # in the git-ignored cache folder, so a killed run leaves nothing git shows
            root = report.root if inside(report.root, os.path.dirname(os.path.abspath(file))) else None
            try:
                atomic_write(file, render(name, report), overwrite=True, root=root)
            except OSError as exc:
                raise UsageError(f"cannot write {name} report: {exc.strerror}", file) from None
    if stdout_error is not None:
        raise UsageError(f"cannot write the report to standard output: {stdout_error}")
    global _FAST_EXIT
    _FAST_EXIT = True
    raise SystemExit(report.exit_code)


@cli.command("check-update")
@click.argument("path", default=".", type=click.Path(exists=True))
@click.option("--base", help="Base revision (default: the merge-base with the configured branch).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
def check_update(path: str, base: str | None, fmt: str, config_file: str | None) -> None:
    """Check a dependency-update merge request: version bumps, policy, stateful apps, lint."""
    import json

    from . import update
    from .api import lint as run_lint

    report = run_lint([path], config_file=config_file)
    result = update.check(report.root, base, report)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(update.render_text(result, markdown=fmt == "markdown"), nl=False)
    raise SystemExit(result.exit_code)


@cli.group(invoke_without_command=True)
@click.pass_context
def rules(ctx: click.Context) -> None:
    """List every rule (id, severity, summary)."""
    if ctx.invoked_subcommand is not None:
        return
    from . import catalog

    specs = catalog.load()
    width = max(len(r) for r in specs)
    for spec in specs.values():
        click.echo(f"{spec.id:<{width}}  {str(spec.severity):<7}  {spec.summary}")


@rules.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Print a rule's rationale, fix and examples."""
    from . import catalog
    from .docs import explain_rule

    specs = catalog.load()
    if rule_id not in specs:
        raise UsageError(f"unknown rule {rule_id!r} (see 'gitops-kit rules')")
    click.echo(explain_rule(specs[rule_id]), nl=False)


from .generate.commands import init, new_app  # noqa: E402

cli.add_command(init)
cli.add_command(new_app)


# Set once lint has written its reports: nothing is left to clean up but the model, and freeing
# its hundreds of thousands of objects one by one at interpreter exit takes 30 ms on 1000 apps.
_FAST_EXIT = False
_CONSOLE = False  # run as the console script (not main() from a test or an embedding program)


def _discard_stdout() -> None:
    """Point stdout at the null device, so that no later flush fails again on a dead pipe."""
    try:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    except OSError:
        pass


def run() -> None:
    """The console script: :func:`main`, then exit (after lint, skipping the teardown of its model;
    lint also leaves the cyclic garbage collector off)."""
    global _CONSOLE
    _CONSOLE = True
    code = main()
    if _FAST_EXIT:
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
        except (OSError, ValueError):
            sys.exit(code)  # a closed or broken pipe: let the usual exit report it
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting (tests call this)."""
    try:
        cli.main(args=argv, prog_name="gitops-kit", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else 2
    except UsageError as exc:
        click.echo(f"gitops-kit: error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    run()
