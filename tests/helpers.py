"""Shared test helpers: copies of the reference example with overlays and edits, models, one check
run on its own, and in-process lint runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from gitops_kit import catalog, checks, config, engine, yamlio
from gitops_kit.api import LintReport, lint
from gitops_kit.findings import Hit
from gitops_kit.model import RepoModel, build

PROJECT = Path(__file__).resolve().parent.parent
REFERENCE = PROJECT / "examples" / "reference"
SHARED = PROJECT.parent / "shared"
_EXPECT = re.compile(r"#\s*expect:\s*([a-z0-9,\- ]+)\s*$")


def reference_copy(dest: Path) -> Path:
    """A fresh copy of the reference example at ``dest``."""
    shutil.copytree(REFERENCE, dest, symlinks=True, ignore=shutil.ignore_patterns(".gitops-kit-cache"))
    return dest


def overlay(root: Path, files: dict[str, str | None]) -> None:
    """Write (or, for None, delete) files below ``root``."""
    for rel, content in files.items():
        target = root / rel
        if content is None:
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def apply_edits(edits_file: Path, base: Path, files: dict[str, str | None]) -> dict[str, str]:
    """The files an ``_edits.yaml`` changes, with their new text. Each edit works on the file as
    ``files`` has it (a case's own file) or else as ``base`` has it (the reference), after the
    edits before it: ``{file, replace, with}`` (``replace`` must occur exactly once) or
    ``{file, append}``. A malformed edit or a ``replace`` that does not match exactly once raises
    (the reference changed under the case: rewrite the edit)."""
    import yaml

    edits = yaml.safe_load(edits_file.read_text(encoding="utf-8"))
    if not isinstance(edits, list):
        raise ValueError(f"{edits_file}: a list of edits expected")
    out: dict[str, str] = {}
    for no, edit in enumerate(edits, 1):
        where = f"{edits_file}: edit {no}"
        keys = set(edit) if isinstance(edit, dict) else set()
        if keys not in ({"file", "replace", "with"}, {"file", "append"}):
            raise ValueError(f"{where}: keys must be file, replace, with or file, append (got {sorted(keys)})")
        rel = edit["file"]
        if rel in out:
            text = out[rel]
        elif files.get(rel) is not None:
            text = files[rel]
        elif (base / rel).is_file():
            text = (base / rel).read_text(encoding="utf-8")
        else:
            raise ValueError(f"{where}: {rel} is neither in the case nor in {base}")
        if "append" in edit:
            out[rel] = text + edit["append"]
            continue
        old, new = edit["replace"], edit["with"]
        count, at = 0, text.find(old) if old else -1
        while at != -1:
            count, at = count + 1, text.find(old, at + 1)
        if count != 1:
            raise ValueError(f"{where}: the text to replace occurs {count} times in {rel}, not once:\n{old}")
        out[rel] = text.replace(old, new, 1)
    return out


def expected_markers(files: dict[str, str | None], rule: str) -> set[tuple[str, int]]:
    """(path, line) of every ``# expect: <rule>`` marker in overlay files."""
    out = set()
    for rel, content in files.items():
        if content is None:
            continue
        for no, line in enumerate(content.split("\n"), 1):
            m = _EXPECT.search(line)
            if m and rule in [r.strip() for r in m.group(1).split(",")]:
                out.add((rel, no))
    return out


def model_of(root: Path, files: dict[str, str | None] | None = None) -> RepoModel:
    """The model of ``root`` (with ``files`` overlaid first), built as lint builds it."""
    overlay(root, files or {})
    return build(root, config.load(root))


def reference_model(tmp_path: Path, files: dict[str, str | None] | None = None) -> RepoModel:
    """The model of a copy of the reference example (in ``tmp_path/repo``) with ``files`` overlaid."""
    return model_of(reference_copy(tmp_path / "repo"), files)


def run_check(target: Path | RepoModel, rule: str, files: dict[str, str | None] | None = None,
              **params) -> list[Hit]:
    """The hits of one rule's check run on its own (no engine: no suppressions, severities or
    focus), sorted by file and position. ``target`` is a repository (``files`` are overlaid on it
    first) or a built model; the parameters are the rule's defaults, then the repository
    configuration's, then ``params``."""
    model = target if isinstance(target, RepoModel) else model_of(target, files)
    spec = catalog.load()[rule]
    merged = {**engine.params_for(spec, model), **params}
    return sorted(checks.get(spec.check)(model, merged), key=lambda h: (h.path, h.pos))


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` containing ``needle``."""
    return next(no for no, line in enumerate(text.split("\n"), 1) if needle in line)


def reference_config_with(tmp_path: Path, change) -> str:
    """The reference .gitops-kit.yaml as text, after ``change(data)``."""
    text = (reference_copy(tmp_path / "cfg") / ".gitops-kit.yaml").read_text()
    data = yamlio.plain(yamlio.load_text(text).documents[0].data)
    change(data)
    return yamlio.dump(data)


def run_lint(root: Path, **kwargs) -> LintReport:
    """Lint ``root`` in-process."""
    return lint([str(root)], **kwargs)


def by_rule(report: LintReport, rule: str) -> set[tuple[str, int]]:
    return {(f.path, f.line) for f in report.findings if f.rule == rule}


def count_parses(monkeypatch) -> dict[str, int]:
    """Count the files the model parses from here on (``calls["n"]``), in this process."""
    from gitops_kit import model

    calls = {"n": 0}
    real = model._parse_raw

    def counting(rel, raw):
        calls["n"] += 1
        return real(rel, raw)

    monkeypatch.setattr(model, "_parse_raw", counting)
    return calls
