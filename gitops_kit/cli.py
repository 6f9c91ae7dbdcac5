"""Click commands: argument parsing only. ``main(argv) -> int``; exit 0 clean, 1 errors, 2 usage."""

from __future__ import annotations

import errno
import functools
import gc
import os
import sys

from collections import Counter
from typing import Any, Callable

import click

from . import __version__
from .errors import UsageError


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
              help="Also write FORMAT to FILE (repeatable), e.g. --output sarif=out/gl-sast.sarif; missing "
                   "folders are made; FILE '-' is standard output (instead of --format). A report that cannot "
                   "be written is an error line on stderr and exit 2; the others are still written.")
@click.option("--path-base", "path_base", type=click.Choice(["cwd", "git", "root"]),
              help="Paths in the report relative to the working directory, the git top level or the GitOps "
                   "root  [default: cwd for text; git for json, sarif, codequality, junit, github]")
@click.option("--root", "root_dir", type=click.Path(file_okay=False, exists=True), metavar="DIR",
              help="Lint DIR as the repository root, whatever it holds (no .gitops-kit.yaml, argo/ or .git "
                   "needed); PATHS must be in it.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
@click.option("--select", multiple=True, metavar="IDS",
              help="Run only these rules (comma-separated ids; repeatable, the lists add up).")
@click.option("--ignore", "ignore_rules", multiple=True, metavar="IDS",
              help="Skip these rules (comma-separated ids; repeatable, the lists add up).")
@click.option("--severity", type=click.Choice(["error", "warning", "info"]), default="info", show_default=True,
              help="Lowest severity reported.")
@click.option("--fail-on", "fail_on", type=click.Choice(["error", "warning", "info"]), default="error",
              show_default=True, help="Exit 1 when a reported finding has this severity or a worse one.")
@click.option("--exit-zero", "exit_zero", is_flag=True,
              help="Exit 0 even with findings (exit 2 for usage and write errors stays).")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False),
              help="Report only findings not recorded in this baseline file.")
@click.option("--write-baseline", "write_baseline", type=click.Path(dir_okay=False),
              help="Record the current findings in this baseline file and exit 0.")
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Neither read nor write the parse cache (.gitops-kit-cache/).")
@click.option("--fix", "do_fix", is_flag=True,
              help="Fix the findings marked [*] in place (comment-preserving) and say how many were fixed.")
@click.option("--unsafe-fixes", "unsafe_fixes", is_flag=True,
              help="With --fix or --diff: also the fixes marked [*?], which undo an explicit setting "
                   "(selfHeal: false, prune: false).")
@click.option("--diff", "show_diff", is_flag=True,
              help="Show the fixes as a diff for 'git apply' and write nothing (with or without --fix).")
@click.option("--staged", is_flag=True,
              help="pre-commit: also judge the YAML files the git index deletes; with no PATHS, only those.")
@click.option("--render/--no-render", "do_render", default=None,
              help="Also run the object rules on what each Application renders (Helm, kustomize)  "
                   "[default: config render]")
@click.option("--fetch", is_flag=True,
              help="With --render: first pull the charts the cache lacks (the only network use).")
def lint(paths: tuple[str, ...], fmt: str, outputs: tuple[str, ...], path_base: str | None, root_dir: str | None,
         config_file: str | None, select: tuple[str, ...], ignore_rules: tuple[str, ...], severity: str,
         fail_on: str, exit_zero: bool, baseline_file: str | None, write_baseline: str | None,
         no_cache: bool, do_fix: bool, unsafe_fixes: bool, show_diff: bool, staged: bool,
         do_render: bool | None = None, fetch: bool = False) -> None:
    """Lint the repository containing PATHS (default: the current directory).

    PATHS in several repositories (the environments of a monorepo) are each linted in their own,
    in one report with one exit code. A directory no repository contains (none of .gitops-kit.yaml,
    argo/ or .git in it or above it) is refused unless given as --root.

    Given files, the findings reported are those in them and those elsewhere that they cause
    (a related location in them, such as the dependency of a sync-wave ordering); the rules still
    see the whole repository. A finding that follows from another is printed after it, marked
    "(follows from ...)".
    """
    if _CONSOLE:
        # The cyclic garbage collector stays off for the rest of this short process: lint builds
        # hundreds of thousands of acyclic objects, and switching the collector back on after
        # them costs one full pass over all of them (50 ms on 1000 apps) for nothing to collect.
        gc.disable()
    from pathlib import Path

    from .api import lint as run_lint
    from .findings import Severity

    targets, fmt = _output_targets(outputs, fmt)
    for p in paths:
        if not os.path.lexists(p):
            raise UsageError(f"no such file or directory: {p}")
    select_ids, ignore_ids = _rule_ids(select, "--select"), _rule_ids(ignore_rules, "--ignore")
    groups = _repositories(paths, root_dir)
    if len(groups) > 1:
        _one_repository_only(groups, path_base=path_base == "root", fix=do_fix, diff=show_diff,
                             baseline=baseline_file, write_baseline=write_baseline)
    accepted = None
    if baseline_file:
        from . import baseline

        accepted = baseline.read(Path(baseline_file))
    deleted: dict[Path, list[str]] = {}
    if staged:
        from .staged import staged_deletions

        deleted = {root: staged_deletions(root) for root, _ in groups}
        if not paths and not any(deleted.values()):
            raise SystemExit(0)  # pre-commit runs the hook always: nothing in this commit to judge

    def again(i: int = 0):
        from . import progress

        root, named = groups[i]
        progress.start()  # on a terminal, for runs longer than a few seconds
        try:
            # --diff writes nothing at all, not even the parse cache (its folder, temporary files
            # and signing key): it runs in merge-request pipelines on untrusted checkouts.
            return run_lint(named or None, root=root, config_file=config_file, select=select_ids,
                            ignore=ignore_ids, min_severity=Severity.parse(severity), baseline=accepted,
                            use_cache=not no_cache and not show_diff, deleted=deleted.get(root) if staged else None,
                            render=True if fetch and do_render is None else do_render, fetch=fetch)
        finally:
            progress.stop()

    reports = [again(i) for i in range(len(groups))]
    if unsafe_fixes and not (do_fix or show_diff):
        raise UsageError("--unsafe-fixes goes with --fix or --diff")
    if do_fix or show_diff:
        reports = [_fix(reports[0], again, unsafe=unsafe_fixes, diff_only=show_diff)]  # one repository
    _mark_fixable(reports)
    if write_baseline:
        from . import baseline

        baseline.write(Path(write_baseline), reports[0].findings)
        click.echo(f"wrote {len(reports[0].findings)} finding(s) to baseline {write_baseline}", err=True)
        raise SystemExit(0)
    _write_reports(reports, fmt, targets, path_base)
    worst = Severity.parse(fail_on)
    failed = any(f.severity >= worst for one in reports for f in one.findings)
    raise SystemExit(1 if failed and not exit_zero else 0)


def _mark_fixable(reports: list) -> None:
    """Mark the findings ``--fix`` can fix ([*], or [*?] for an unsafe fix) in every report."""
    for one in reports:
        if one.findings:
            from . import fix

            if any(f.rule in fix.FIXERS for f in one.findings):
                one.findings = fix.mark(one.model, one.findings, functools.partial(_rule_params, one.model))


def _fix(report: Any, again: Callable[[], Any], unsafe: bool, diff_only: bool) -> Any:
    """``--fix`` / ``--diff``: plan the fixes of ``report``'s findings; with ``diff_only`` print
    them as a diff and exit (1 when there is something to fix); else write them, lint again
    (``again()``) when a file changed, say how many findings went, and return the new report."""
    from . import fix

    def params(rid: str) -> dict:
        return _rule_params(report.model, rid)

    before = report.findings
    fixes = fix.plan(report.model, report.findings, params, unsafe=unsafe)
    for ff in fixes:
        if ff.error:
            click.echo(f"gitops-kit: not fixed: {ff.path}: {ff.error}", err=True)
    if diff_only:
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
    left = Counter(f.fingerprint for f in report.findings)
    fixed = 0
    for f in before:
        if left[f.fingerprint]:
            left[f.fingerprint] -= 1
        else:
            fixed += 1
    click.echo(f"gitops-kit: fixed {fixed} finding(s) in {len(written)} file(s)", err=True)
    return report


def _write_reports(reports: list, fmt: str, targets: list[tuple[str, str]], path_base: str | None) -> None:
    """Standard output in ``fmt``, then every ``--output`` file; exit 2 (after trying them all)
    when one cannot be written."""
    from .report import render

    stdout_error = None
    try:
        if sys.stdout is None:  # started with stdout closed (`>&-`)
            raise OSError(errno.EBADF, "standard output is closed")
        colour = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(render(fmt, reports, colour=colour, base=path_base), nl=False)  # writes and flushes
    except BrokenPipeError:
        _discard_stdout()  # the reader has gone (`| head`): it read what it wanted
    except OSError as exc:  # a full disk, a closed descriptor: say so, after the --output files
        _discard_stdout()
        stdout_error = exc.strerror or type(exc).__name__
    # Every report is attempted: one that cannot be written (a read-only folder) is an error line
    # and exit 2, since CI would otherwise pass without the artifact it asked for; it does not
    # cost the others.
    unwritten = [name for name, file in targets if not _write_report(name, file, render(name, reports, base=path_base),
                                                                     [r.root for r in reports])]
    if stdout_error is not None:
        raise UsageError(f"cannot write the report to standard output: {stdout_error}")
    global _FAST_EXIT
    _FAST_EXIT = True
    if unwritten:
        raise SystemExit(2)


def _output_targets(outputs: tuple[str, ...], fmt: str) -> tuple[list[tuple[str, str]], str]:
    """The ``--output FORMAT=FILE`` files, and the format of standard output (``FILE`` '-' sets it)."""
    targets = []
    to_stdout = None
    for spec in outputs:
        name, sep, file = spec.partition("=")
        if not sep or name not in FORMATS or not file:
            raise UsageError(f"--output takes FORMAT=FILE with FORMAT one of {', '.join(FORMATS)}: got {spec!r}")
        if file == "-":
            if to_stdout is not None and to_stdout != name:
                raise UsageError(f"--output {to_stdout}=- and --output {name}=-: one report goes to standard output")
            to_stdout = name
        else:
            targets.append((name, file))
    if to_stdout is None:
        return targets, fmt
    from click.core import ParameterSource

    if click.get_current_context().get_parameter_source("fmt") != ParameterSource.DEFAULT and fmt != to_stdout:
        raise UsageError(f"--format {fmt} and --output {to_stdout}=-: one report goes to standard output")
    return targets, to_stdout


def _write_report(name: str, file: str, text: str, roots: list) -> bool:
    """Write one ``--output`` report, making its missing folders; False (said on stderr) when it fails."""
    from .safepaths import inside
    from .yamlio import atomic_write

    folder = os.path.dirname(os.path.abspath(file))
    # a report inside the repository (CI writes gl-sast.sarif there): its temporary file goes in
    # the git-ignored cache folder, so a killed run leaves nothing git shows
    home = next((root for root in roots if inside(root, folder)), None)
    try:
        os.makedirs(folder, exist_ok=True)
        atomic_write(file, text, overwrite=True, root=home)
    except OSError as exc:
        click.echo(f"gitops-kit: error: {file}: cannot write the {name} report: {exc.strerror or exc}", err=True)
        return False
    return True


def _rule_ids(values: tuple[str, ...], option: str) -> list[str] | None:
    """Every rule id of a repeated ``--select``/``--ignore`` (each comma-separated), checked
    against the catalog; None when the option is not given."""
    if not values:
        return None
    from . import catalog

    ids = []
    for value in values:
        parts = [v.strip() for v in value.split(",") if v.strip()]
        if not parts:
            raise UsageError(f"{option} needs one or more rule ids (see 'gitops-kit rules'): got {value!r}")
        ids += parts
    specs = catalog.load()
    for rid in ids:
        if rid not in specs:
            raise UsageError(f"{option}: {catalog.unknown_rule(rid, specs)}")
    return list(dict.fromkeys(ids))


def _repositories(paths: tuple[str, ...], root_dir: str | None) -> list:
    """(root, the PATHS in it) for each repository the PATHS are in (no PATHS: the current
    directory's, with no path named); ``--root`` is the one root, which must hold every PATH."""
    from pathlib import Path

    from .discover import find_root, group_by_root

    if root_dir is not None:
        from .safepaths import inside

        root = Path(root_dir).resolve()
        for p in paths:
            if not inside(root, p):
                raise UsageError(f"{p} is not in --root {root_dir}")
        return [(root, list(paths))]
    if not paths:
        return [(find_root(Path("."), strict=True), [])]
    return group_by_root(list(paths))


def _one_repository_only(groups: list, **given: object) -> None:
    """Refuse what needs a single repository when PATHS are in several."""
    flags = {"path_base": "--path-base root", "fix": "--fix", "diff": "--diff", "baseline": "--baseline",
             "write_baseline": "--write-baseline"}
    for key, value in given.items():
        if value:
            where = ", ".join(str(root) for root, _ in groups)
            raise UsageError(f"{flags[key]} works on one repository at a time, and the paths are in "
                             f"{len(groups)} ({where}): run gitops-kit once for each")


def _rule_params(model, rid: str) -> dict:
    """A rule's parameters in ``model``'s configuration (for ``fix.mark``)."""
    from . import catalog
    from .engine import params_for

    return params_for(catalog.load()[rid], model)


@cli.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: each rule's default and effective severity (after the .gitops-kit.yaml of the "
                   "repository containing the current directory), whether it is enabled and whether --fix "
                   "can fix it.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
@click.pass_context
def rules(ctx: click.Context, fmt: str, config_file: str | None) -> None:
    """List every rule (id, severity, summary)."""
    if ctx.invoked_subcommand is not None:
        return
    from . import catalog

    specs = catalog.load()
    if fmt == "json":
        import json
        from pathlib import Path

        from . import config as config_mod
        from .discover import find_root
        from .fix import FIXERS

        cfg = config_mod.load(find_root(Path(".")), Path(config_file) if config_file else None)
        click.echo(json.dumps(catalog.table(specs, cfg, set(FIXERS)), indent=2))
        return
    width = max(len(r) for r in specs)
    for spec in specs.values():
        click.echo(f"{spec.id:<{width}}  {str(spec.severity):<7}  {catalog.CONVENTION_MARK[spec.convention_label]:<10}  "
                   f"{spec.summary}")


@rules.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Print a rule's rationale, fix and examples."""
    from . import catalog
    from .docs import explain_rule

    specs = catalog.load()
    if rule_id not in specs:
        raise UsageError(catalog.unknown_rule(rule_id, specs))
    click.echo(explain_rule(specs[rule_id]), nl=False)


@cli.group("config")
def config_cmd() -> None:
    """The configuration gitops-kit uses (.gitops-kit.yaml over the shipped defaults)."""


@config_cmd.command("show")
@click.argument("path", default=".", type=click.Path(exists=True))
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
def config_show(path: str, config_file: str | None) -> None:
    """Print the merged configuration of the repository containing PATH, one value a line, each
    with where it came from: `# default` or `# .gitops-kit.yaml:LINE`."""
    from pathlib import Path

    from . import config as config_mod
    from .discover import find_root

    cfg = config_mod.load(find_root(Path(path)), Path(config_file) if config_file else None)
    click.echo(config_mod.show(cfg), nl=False)


@config_cmd.command("schema")
def config_schema() -> None:
    """Print the JSON schema of .gitops-kit.yaml (`gitops-kit config schema > .gitops-kit.schema.json`
    refreshes the copy that `init` writes for editors)."""
    from . import data

    click.echo(data.read_text("schemas", "config.schema.json"), nl=False)


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (click's), e.g. in ~/.bashrc:
    eval "$(gitops-kit completion bash)"; zsh: eval "$(gitops-kit completion zsh)";
    fish: gitops-kit completion fish > ~/.config/fish/completions/gitops-kit.fish"""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # bash, zsh and fish are click's own
    click.echo(cls(cli, {}, "gitops-kit", "_GITOPS_KIT_COMPLETE").source())


# Sub-commands in modules of their own (imported here, after ``cli`` exists).
from .cli_adopt import adopt
from .cli_charts import charts
from .cli_render import render
from .cli_update import check_update
from .generate.commands import init, new_app

for _command in (init, new_app, adopt, charts, render, check_update):
    cli.add_command(_command)


# Set once lint has written its reports: nothing is left to clean up but the model, and freeing
# its hundreds of thousands of objects one by one at interpreter exit takes 30 ms on 1000 apps.
_FAST_EXIT = False
_CONSOLE = False  # run as the console script (not main() from a test or an embedding program)


def _discard_stdout() -> None:
    """Point stdout at the null device, so that no later flush fails again on a dead pipe."""
    try:
        sys.stdout = open(os.devnull, "w")
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
