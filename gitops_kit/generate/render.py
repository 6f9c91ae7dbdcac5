"""Render a cookiecutter blueprint into memory: ``{repo-relative path: RenderedFile}``.

Rendering goes through cookiecutter itself (``generate_context`` + ``generate_files``) into a
private temporary directory that is read back and deleted, so a failing render writes nothing
anywhere else. Cookiecutter and Jinja are imported here only: they are slow to import and
only ``init``/``new-app`` need them.

Trust. The bundled blueprints have no hooks. A blueprint from a user-given path may carry
cookiecutter hooks (``hooks/*``: programs run on this machine) or Jinja ``_extensions``
(Python modules imported into the renderer): either is refused unless the user passes
``--trust-blueprint``. Without that flag the blueprint's Jinja is also rendered in Jinja's
sandbox, so a template cannot reach Python internals, and no rendered path may leave the
output directory.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .. import data
from ..errors import UsageError

CONTEXT_FILE = "cookiecutter.json"
_ENV_LOCK = threading.Lock()  # the sandbox swaps a cookiecutter module global while it renders


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


def render(blueprint: Blueprint, values: dict[str, Any], *, trusted: bool = False) -> dict[str, RenderedFile]:
    """Render ``blueprint`` with ``values`` (keys it does not declare are left out).

    Returns the files below the rendered project directory, by posix path relative to it.
    Hooks run only for a trusted blueprint (bundled ones have none).
    """
    check_trust(blueprint, trusted)
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.generate import generate_context, generate_files
    from jinja2 import TemplateError

    declared = blueprint.keys()
    extra = {k: v for k, v in values.items() if k in declared}
    sandbox = not (blueprint.bundled or trusted)
    with tempfile.TemporaryDirectory(prefix="gitops-kit-render-") as tmp:
        try:
            context = generate_context(context_file=str(blueprint.path / CONTEXT_FILE), extra_context=extra)
            if not blueprint.bundled:  # ours are reviewed, and their values validated
                _check_paths(blueprint, context, sandbox)
            with _environment(sandbox):
                project = generate_files(repo_dir=str(blueprint.path), context=context, output_dir=tmp,
                                         overwrite_if_exists=True, accept_hooks=trusted or blueprint.bundled)
        except (CookiecutterException, TemplateError, ValueError) as exc:
            raise UsageError(f"cannot render blueprint {blueprint.name}: {_reason(exc)}") from None
        return _collect(Path(tmp), Path(project))


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    error = getattr(exc, "error", None)  # UndefinedVariableInTemplate carries the Jinja error
    return f"{message}: {error}" if error is not None else message


def _collect(tmp: Path, project: Path) -> dict[str, RenderedFile]:
    real_tmp = os.path.realpath(tmp)
    if os.path.commonpath([real_tmp, os.path.realpath(project)]) != real_tmp:
        raise UsageError("blueprint renders its project directory outside the output directory: refused")
    out: dict[str, RenderedFile] = {}
    for dirpath, dirnames, filenames in os.walk(project):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath, name)
            if full.is_symlink():
                raise UsageError(f"blueprint renders a symlink ({full.relative_to(project)}): refused")
            st = full.stat()
            out[full.relative_to(project).as_posix()] = RenderedFile(full.read_bytes(), stat.S_IMODE(st.st_mode))
    return out


def _check_paths(blueprint: Blueprint, context: dict[str, Any], sandbox: bool) -> None:
    """Every rendered file and directory name stays inside the rendered project."""
    from cookiecutter.find import find_template

    env = _make_env(context, sandbox)
    template_dir = Path(find_template(str(blueprint.path), env))
    for dirpath, dirnames, filenames in os.walk(template_dir):
        for name in [*dirnames, *filenames]:
            rel = Path(dirpath, name).relative_to(template_dir.parent).as_posix()
            rendered = env.from_string(rel).render(**context)
            norm = os.path.normpath(rendered)
            if os.path.isabs(rendered) or norm == ".." or norm.startswith("../"):
                raise UsageError(f"blueprint {blueprint.name}: {rel!r} renders to {rendered!r}, outside the repository")


def _make_env(context: dict[str, Any], sandbox: bool):
    from cookiecutter.utils import create_env_with_context

    return _sandboxed_env(context) if sandbox else create_env_with_context(context)


def _sandboxed_env(context: dict[str, Any]):
    from cookiecutter.environment import ExtensionLoaderMixin
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    class _Sandboxed(ExtensionLoaderMixin, SandboxedEnvironment):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(undefined=StrictUndefined, **kwargs)

    envvars = dict(context.get("cookiecutter", {}).get("_jinja2_env_vars", {}) or {})
    envvars.pop("extensions", None)
    return _Sandboxed(context=context, keep_trailing_newline=True, **envvars)


@contextmanager
def _environment(sandbox: bool) -> Iterator[None]:
    """cookiecutter builds its Jinja environment inside generate_files; swap in the sandbox."""
    if not sandbox:
        yield
        return
    from cookiecutter import generate as cc_generate

    with _ENV_LOCK:
        original = cc_generate.create_env_with_context
        cc_generate.create_env_with_context = _sandboxed_env
        try:
            yield
        finally:
            cc_generate.create_env_with_context = original
