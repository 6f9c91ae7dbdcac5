"""Carry out a plan: dry run, or lock -> safe paths -> conflicts -> all-or-nothing write -> lint -> report.

A dry run writes nothing at all (no lock, no directory, no cache folder), and refuses what the
real run would refuse: a path leaving the repository is exit 2 either way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..errors import UsageError
from . import inputs
from .plan import InitOptions, NewAppOptions, Plan, plan_init, plan_new_app
from .writer import apply, check_edits, check_targets, conflicts, describe, lock, refuse_conflicts

Echo = Callable[[str], None]


def run_init(opts: InitOptions, *, dry_run: bool, force: bool, echo: Echo) -> int:
    """``gitops-kit init``: exit 0 written (or shown) and lint-clean, 1 lint errors, 2 refused."""
    target = opts.directory
    if os.path.lexists(target) and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    plan = plan_init(opts)
    if dry_run:
        found = []
        if target.is_dir():  # a new directory holds no symlink (and jail needs its root to exist)
            check_targets(target, plan.changes)  # what the real run would refuse, a dry run refuses
            found = conflicts(target, plan.changes)
        if not force:
            refuse_conflicts(found, f"init {target}")
        _show_dry_run(plan, echo, f"init {target}")
        for note in plan.notes:
            echo(f"placeholder: {note}")
        return 0
    made = _make_dirs(target)
    try:
        with lock(target):
            check_targets(target, plan.changes)
            if not force:
                refuse_conflicts(conflicts(target, plan.changes), f"init {target}")
            written = apply(target, plan.changes)
    except BaseException:
        for d in reversed(made):
            try:
                d.rmdir()
            except OSError:
                pass
        raise
    echo(f"init: wrote {len(written)} file(s) in {target}: {plan.summary}")
    for note in plan.notes:
        echo(f"placeholder: {note}")
    code = _lint(target, None, echo)
    echo("next steps: review the repository, push it to the repository URL, then follow README.md "
         "(infra/ for the nodes, `kubectl apply -f argo/root-bootstrap.yaml` for the platform).")
    return code


def run_new_app(root: Path, opts: NewAppOptions, *, dry_run: bool, force: bool, echo: Echo) -> int:
    """``gitops-kit new-app``: exit 0 written (or shown) and lint-clean, 1 lint errors, 2 refused."""
    from ..model import reuse_parses

    with reuse_parses():  # planning and the final lint read the same repository: parse it once
        return _run_new_app(root, opts, dry_run=dry_run, force=force, echo=echo)


def _run_new_app(root: Path, opts: NewAppOptions, *, dry_run: bool, force: bool, echo: Echo) -> int:
    what = f"new-app {opts.name}"
    if dry_run:
        plan = plan_new_app(root, opts, replace=force)
        check_targets(root, plan.changes)  # what the real run would refuse, a dry run refuses
        if not force:
            refuse_conflicts(conflicts(root, plan.changes), what)
        _show_dry_run(plan, echo, what)
        return 0
    with lock(root):
        plan = plan_new_app(root, opts, replace=force)
        check_targets(root, plan.changes)
        if not force:
            refuse_conflicts(conflicts(root, plan.changes), what)
        check_edits(root, plan.changes)
        listing = describe(root, plan.changes, dry_run=False)
        written = apply(root, plan.changes)
    deleted = sum(ch.delete for ch in plan.changes)
    echo(f"{what}: wrote {len(written)} file(s)" + (f", deleted {deleted}" if deleted else "") + f" ({plan.summary}):")
    echo(listing)
    code = _lint(root, _bundle_files(root, plan, written), echo)
    echo(_next_steps(plan))
    return code


def _bundle_files(root: Path, plan: Plan, written: list[str]) -> list[str]:
    """What the post-write lint covers: the written files and the app's whole bundle as it now is
    (files kept from before are part of what gets deployed)."""
    from ..config import load
    from .plan import bundle_paths

    app = plan.app
    assert app is not None
    rels = dict.fromkeys(written)
    rels.update(dict.fromkeys(bundle_paths(root, load(root), app.name, app.layer)))
    return list(rels)


def _show_dry_run(plan: Plan, echo: Echo, what: str) -> None:
    deleted = sum(ch.delete for ch in plan.changes)
    echo(f"dry run: {what} would write {len(plan.changes) - deleted} file(s)"
         + (f" and delete {deleted}" if deleted else "") + f" in {plan.root} ({plan.summary}):")
    echo(describe(plan.root, plan.changes, dry_run=True))
    echo("nothing was written.")


def _make_dirs(target: Path) -> list[Path]:
    missing = []
    d = target.absolute()
    while not d.exists():
        missing.append(d)
        d = d.parent
    made = []
    try:
        for d in reversed(missing):
            d.mkdir()
            made.append(d)
    except OSError as exc:
        for m in reversed(made):
            m.rmdir()
        raise UsageError(f"cannot create {target}: {exc.strerror}") from None
    return made


def _lint(root: Path, written: list[str] | None, echo: Echo) -> int:
    """Lint what was written with the full catalog; print the findings and the summary."""
    from ..api import lint
    from ..report import render

    paths = [str(root)] if written is None else [str(root / rel) for rel in written]
    report = lint(paths)
    scope = "the repository" if written is None else "the app's files"
    text = render("text", report).rstrip("\n")
    echo(f"lint ({scope}, full catalog): " + (text.split("\n")[-1] if not report.findings else ""))
    if report.findings:
        echo(text)
    if report.exit_code:
        echo("gitops-kit: the generated files have lint errors (listed above): fix them before committing")
    return report.exit_code


def _next_steps(plan: Plan) -> str:
    app = plan.app
    assert app is not None
    steps = []
    if app.secret_keys and plan.vault_path:
        kv = inputs.kv_cli_path(plan.vault_path)
        cmds = [f"vault kv put {kv} {app.secret_keys[0]}=-"]
        cmds += [f"vault kv patch {kv} {key}=-" for key in app.secret_keys[1:]]
        steps.append("store the secrets in Vault (each command reads the value from standard input, so it is "
                     "never in a file or your shell history; `put` creates the secret, `patch` adds a key):\n"
                     + "\n".join(f"       {c}" for c in cmds))
        steps.append(f"move each <path:{plan.vault_path}#...> placeholder in {_values_file(plan)} "
                     "to the key the chart reads it from")
    steps.append(f"review {_values_file(plan)} (the chart's own values: replicas, storage, ingress)")
    root_file = f"{app.layer.root}"
    steps.append(f"commit and push: {root_file} picks up {app.layer.dir}/{app.name}-app.yaml at the next sync")
    return "next steps:\n" + "\n".join(f"  {i}. {s}" for i, s in enumerate(steps, 1))


def _values_file(plan: Plan) -> str:
    for ch in plan.changes:
        if ch.rel.endswith(f"/{plan.app.name}/values.yaml"):
            return ch.rel
    return "the app's values"
