"""Render a cookiecutter blueprint into memory: ``{repo-relative path: RenderedFile}``.

Cookiecutter's context (``generate_context``) and its Jinja environment are used, but the tree is
rendered here (:func:`_render_tree`) rather than by ``generate_files``: cookiecutter renders a
file's name when it writes the file, so a check made before by rendering the name again can be
shown a different name (a template with a side effect, a random value). Here every path is
rendered once, checked (relative, no ``..``, not in ``.git/``) and used as checked, and nothing is
written to disk. Cookiecutter and Jinja are imported here only: they are slow to import and only
``init``/``new-app`` need them.

Trust. The bundled blueprints have no hooks. A blueprint from a user-given path may carry
cookiecutter hooks (``hooks/*``: programs run on this machine) or Jinja ``_extensions``
(Python modules imported into the renderer): either is refused unless the user passes
``--trust-blueprint``. Without that flag the blueprint's Jinja is also rendered in Jinja's
immutable sandbox (no Python internals, no list or dict a template can change), and it may hold
no symlink (a trusted one only links that stay inside it). A trusted blueprint's hooks run on a
temporary copy of the rendered files, which are read back and checked again.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import data, safepaths
from ..errors import UsageError

CONTEXT_FILE = "cookiecutter.json"


@dataclass(frozen=True)
class RenderedFile:
    """A rendered file's bytes and permission bits."""

    data: bytes
    mode: int


@dataclass(frozen=True)
class Blueprint:
    """A cookiecutter template directory, and whether it is one of ours."""

    path: Path
    bundled: bool

    @property
    def name(self) -> str:
        return self.path.name if self.bundled else str(self.path)

    def keys(self) -> dict[str, Any]:
        """The variables of its cookiecutter.json, with their defaults."""
        try:
            return json.loads((self.path / CONTEXT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"blueprint {self.name}: cannot read {CONTEXT_FILE}: {exc}") from None

    def hooks(self) -> list[str]:
        """The hook files a cookiecutter run would execute (relative paths)."""
        hooks = self.path / "hooks"
        if not hooks.is_dir():
            return []
        return sorted(p.relative_to(self.path).as_posix() for p in hooks.rglob("*") if p.is_file())


def blueprints_root() -> Path:
    """The shipped ``blueprints`` folder, on the file system (cookiecutter needs real paths)."""
    root = data.folder("blueprints")
    path = Path(str(root))
    if not (path / "repo" / CONTEXT_FILE).is_file():
        raise UsageError(f"the bundled blueprints are missing from {path} (a broken install?)")
    return path


def bundled(name: str) -> Blueprint:
    """A bundled blueprint by name (``repo``, ``app-multi-source``, ...)."""
    return Blueprint(blueprints_root() / name, bundled=True)


def user_blueprint(path: str) -> Blueprint:
    """A blueprint from a user-given path."""
    p = Path(path).expanduser()
    if not (p / CONTEXT_FILE).is_file():
        raise UsageError(f"--blueprint {path}: not a cookiecutter template (no {CONTEXT_FILE})")
    return Blueprint(p.resolve(), bundled=False)


def check_trust(blueprint: Blueprint, trusted: bool) -> None:
    """Refuse a user blueprint that would run code, unless the user trusts it."""
    if blueprint.bundled or trusted:
        return
    hooks = blueprint.hooks()
    if hooks:
        raise UsageError(
            f"blueprint {blueprint.name} has cookiecutter hooks ({', '.join(hooks)}): hooks are programs that "
            "would run on this machine with your permissions. Read them, then pass --trust-blueprint to run them")
    extensions = blueprint.keys().get("_extensions")
    if extensions:
        raise UsageError(
            f"blueprint {blueprint.name} loads Jinja extensions ({', '.join(map(str, extensions))}): they are "
            "Python code imported into gitops-kit. Read them, then pass --trust-blueprint to load them")


def check_files(blueprint: Blueprint, trusted: bool) -> None:
    """Refuse a user blueprint holding a symlink or anything but files and directories.

    A symlink in a template is read through: ``leak.yaml -> ~/.ssh/id_rsa`` would copy a file of
    this machine into the repository. An untrusted blueprint may hold none; a trusted one only
    links that stay inside the blueprint. A FIFO or device would hang or feed the render."""
    if blueprint.bundled:
        return
    root = blueprint.path
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in [*dirnames, *sorted(filenames)]:
            full = os.path.join(dirpath, name)
            rel = Path(full).relative_to(root).as_posix()
            try:
                st = os.lstat(full)
            except OSError as exc:
                raise UsageError(f"blueprint {blueprint.name}: cannot read {rel}: {exc.strerror}") from None
            if stat.S_ISLNK(st.st_mode):
                link = os.readlink(full)
                if not trusted:
                    raise UsageError(
                        f"blueprint {blueprint.name}: {rel} is a symlink (to {link}): an untrusted blueprint "
                        "may hold no symlink, since rendering reads through it (a link to a file of this "
                        "machine would be copied into the repository). Replace it with the file itself")
                if not safepaths.inside(root, full):
                    raise UsageError(f"blueprint {blueprint.name}: {rel} is a symlink to {link}, outside the "
                                     "blueprint: refused, even with --trust-blueprint")
            elif not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise UsageError(f"blueprint {blueprint.name}: {rel} is not a regular file or directory: refused")


def render(blueprint: Blueprint, values: dict[str, Any], *, trusted: bool = False) -> dict[str, RenderedFile]:
    """Render ``blueprint`` with ``values`` (keys it does not declare are left out).

    Returns the files below the rendered project directory, by posix path relative to it.
    Every path is rendered once, checked, and used as checked: a template whose value changes
    from one render to the next cannot show the check one path and write another. Nothing is
    written anywhere, except for a trusted blueprint with hooks, which run on a temporary copy.
    """
    check_files(blueprint, trusted)
    check_trust(blueprint, trusted)
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.generate import generate_context
    from jinja2 import TemplateError

    declared = blueprint.keys()
    extra = {k: v for k, v in values.items() if k in declared}
    sandbox = not (blueprint.bundled or trusted)
    try:
        context = generate_context(context_file=str(blueprint.path / CONTEXT_FILE), extra_context=extra)
        env = _make_env(context, sandbox)
        project, files = _render_tree(blueprint, context, env)
        if trusted and not blueprint.bundled and blueprint.hooks():
            files = _run_hooks(blueprint, context, project, files)
    except (CookiecutterException, TemplateError, ValueError) as exc:
        raise UsageError(f"cannot render blueprint {blueprint.name}: {_reason(exc)}") from None
    except OSError as exc:
        raise UsageError(f"cannot render blueprint {blueprint.name}: {exc.filename or ''}: {exc.strerror}") from None
    return files


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    error = getattr(exc, "error", None)  # UndefinedVariableInTemplate carries the Jinja error
    return f"{message}: {error}" if error is not None else message


class _RenderError(ValueError):
    """A template failed: carries the template's path so the user knows which one."""


_NEWLINES = (None, "", "\n", "\r", "\r\n")


def _render_tree(blueprint: Blueprint, context: dict[str, Any], env: Any) -> tuple[str, dict[str, RenderedFile]]:
    """Cookiecutter's ``generate_files`` into memory: (the project directory's name, the files).

    Same semantics (a name rendering empty is no file, ``_copy_without_render``, binary files
    copied, newline of ``_new_lines`` or of the template's first line, the template's mode), but
    each path is rendered exactly once and refused unless it stays inside the project."""
    from binaryornot.check import is_binary
    from cookiecutter.find import find_template
    from cookiecutter.generate import is_copy_only_path
    from jinja2 import FileSystemLoader, TemplateError

    template_dir = Path(find_template(str(blueprint.path), env))
    project = _render_path(blueprint, env, context, template_dir.name, project=True) or "."
    env.loader = FileSystemLoader([str(template_dir), str(blueprint.path / "templates")])
    configured = context["cookiecutter"].get("_new_lines") or None
    if configured not in _NEWLINES:
        raise ValueError(f"_new_lines must be one of \\n, \\r\\n, \\r: got {configured!r}")
    out: dict[str, RenderedFile] = {}
    for dirpath, dirnames, filenames in os.walk(template_dir):  # links were refused or stay inside
        here = Path(dirpath).relative_to(template_dir).as_posix()
        rendered_dirs = []
        for d in sorted(dirnames):
            rel = d if here == "." else f"{here}/{d}"
            if not is_copy_only_path(rel, context):
                rendered_dirs.append(d)
                continue
            dest = _render_path(blueprint, env, context, rel)
            if dest is None:
                continue
            for sub_dir, _, sub_files in os.walk(Path(dirpath, d)):
                for f in sorted(sub_files):
                    src = Path(sub_dir, f)
                    target = _checked(blueprint, rel, f"{dest}/{src.relative_to(Path(dirpath, d)).as_posix()}")
                    out[target] = RenderedFile(src.read_bytes(), _mode(src))
        dirnames[:] = rendered_dirs
        for f in sorted(filenames):
            rel = f if here == "." else f"{here}/{f}"
            dest = _render_path(blueprint, env, context, rel)
            if dest is None:
                continue
            src = Path(dirpath, f)
            if is_copy_only_path(rel, context) or is_binary(str(src)):
                data = src.read_bytes()
            else:
                try:
                    text = env.get_template(rel).render(**context)
                except TemplateError as exc:
                    raise _RenderError(f"{rel}: {type(exc).__name__}: {exc}") from None
                newline = configured or _first_newline(src)
                if newline not in (None, "", "\n"):
                    text = text.replace("\n", newline)
                data = text.encode("utf-8")
            out[dest] = RenderedFile(data, _mode(src))
    return project, out


def _render_path(blueprint: Blueprint, env: Any, context: dict[str, Any], rel: str,
                 project: bool = False) -> str | None:
    """``rel`` rendered once and checked; None when its last part renders empty (no file)."""
    from jinja2 import TemplateError

    try:
        rendered = env.from_string(rel).render(**context)
    except TemplateError as exc:
        raise _RenderError(f"the name {rel!r}: {type(exc).__name__}: {exc}") from None
    if project and rendered in ("", ".", "./"):
        return "."
    if not project and rendered.split("/")[-1] in ("", "."):
        return None  # cookiecutter writes no file whose name renders empty (nothing can leave)
    return _checked(blueprint, rel, rendered)


def _checked(blueprint: Blueprint, rel: str, rendered: str) -> str:
    problem = safepaths.rel_problem(rendered)
    if problem is None and any(part.lower() == ".git" for part in rendered.split("/")):
        problem = "lies in .git/ (git's own files, hooks that git would run)"
    if problem:
        if "'..'" in problem or "relative" in problem:
            problem = "leads outside the repository"
        raise UsageError(f"blueprint {blueprint.name}: {rel!r} renders to {rendered!r}, which {problem}: "
                         "refused, nothing was written")
    return posixpath.normpath(rendered)


def _first_newline(src: Path) -> str | None:
    """The newline of the template's first line, which cookiecutter keeps in the output."""
    with open(src, encoding="utf-8") as fh:
        fh.readline()
        newlines = fh.newlines
    return newlines[0] if isinstance(newlines, tuple) else newlines


def _mode(src: Path) -> int:
    # Permission bits only: a blueprint never makes a set-user-ID or set-group-ID file.
    return stat.S_IMODE(os.stat(src).st_mode) & 0o777


def _run_hooks(blueprint: Blueprint, context: dict[str, Any], project: str,
               files: dict[str, RenderedFile]) -> dict[str, RenderedFile]:
    """A trusted blueprint's hooks around its files, in a private temporary directory."""
    from cookiecutter.hooks import run_hook_from_repo_dir

    with tempfile.TemporaryDirectory(prefix="gitops-kit-render-") as tmp:
        project_dir = Path(tmp, project)
        project_dir.mkdir(parents=True, exist_ok=True)
        run_hook_from_repo_dir(str(blueprint.path), "pre_gen_project", str(project_dir), context, False)
        for rel, f in files.items():
            target = safepaths.jail(project_dir, rel, "blueprint file")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.data)
            os.chmod(target, f.mode)
        run_hook_from_repo_dir(str(blueprint.path), "post_gen_project", str(project_dir), context, False)
        return _collect(Path(tmp), project_dir)


def _collect(tmp: Path, project: Path) -> dict[str, RenderedFile]:
    real_tmp = os.path.realpath(tmp)
    if os.path.commonpath([real_tmp, os.path.realpath(project)]) != real_tmp:
        raise UsageError("blueprint renders its project directory outside the output directory: refused")
    out: dict[str, RenderedFile] = {}
    for dirpath, dirnames, filenames in os.walk(project):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath, name)
            rel = full.relative_to(project).as_posix()
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                raise UsageError(f"blueprint renders a symlink ({rel}): refused")
            if not stat.S_ISREG(st.st_mode):
                raise UsageError(f"blueprint renders {rel}, which is not a regular file: refused")
            out[_checked_collected(rel)] = RenderedFile(full.read_bytes(), stat.S_IMODE(st.st_mode) & 0o777)
    return out


def _checked_collected(rel: str) -> str:
    problem = safepaths.rel_problem(rel)
    if problem is None and any(part.lower() == ".git" for part in rel.split("/")):
        problem = "lies in .git/"
    if problem:
        raise UsageError(f"blueprint hooks made {rel!r}, which {problem}: refused, nothing was written")
    return rel


# Jinja options a blueprint may set in ``_jinja2_env_vars`` when it is not trusted: syntax only
# (no loader, finalize, undefined or bytecode cache, which take Python objects).
_SAFE_ENV_VARS = {"block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
                  "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
                  "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "autoescape"}


def _make_env(context: dict[str, Any], sandbox: bool):
    from cookiecutter.utils import create_env_with_context

    return _sandboxed_env(context) if sandbox else create_env_with_context(context)


def _sandboxed_env(context: dict[str, Any]):
    """Jinja's immutable sandbox: no Python internals, and no list or dict a template can change,
    so a template renders the same text every time it is rendered."""
    from cookiecutter.environment import ExtensionLoaderMixin
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class _Sandboxed(ExtensionLoaderMixin, ImmutableSandboxedEnvironment):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(undefined=StrictUndefined, **kwargs)

    envvars = context.get("cookiecutter", {}).get("_jinja2_env_vars", {}) or {}
    if not isinstance(envvars, dict):
        raise ValueError("_jinja2_env_vars must be a mapping")
    options = {k: v for k, v in envvars.items() if k in _SAFE_ENV_VARS}
    options.setdefault("keep_trailing_newline", True)
    # Only cookiecutter's own extensions: check_trust refused a blueprint's _extensions already.
    return _Sandboxed(context={}, **options)
