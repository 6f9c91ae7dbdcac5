""".gitops-kit.yaml over the shipped defaults, validated by schemas/config.schema.json."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import data, yamlio
from .errors import UsageError
from .safepaths import inside, rel_problem

CONFIG_NAME = ".gitops-kit.yaml"


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the app-of-apps tree, as configured."""

    name: str
    dir: str
    root: str
    wave: str
    wave_min: int
    wave_max: int
    suffixes: tuple[str, ...]
    allow: tuple[str, ...]
    forbid_suffixes: tuple[str, ...]
    tier: str | None
    owns_namespaces: bool


@dataclass
class Config:
    """The effective configuration of one run."""

    data: dict[str, Any]
    path: str | None = None  # repo-relative path of the user's file, when there is one
    positions: Any = None  # the user's file as a YMap, to point findings at its lines
    layers: list[LayerSpec] = field(default_factory=list)
    # origin's URL in the repository's .git/config (read as text, credentials removed), if any:
    # names this repository when neither repo.url nor a layer root does
    git_remote: str | None = None
    # Whether the repository opted into the seed's conventions (see :func:`opts_in`): when not,
    # a finding that judges one of them is at most a warning (catalog.severity_override).
    conventions: bool = True
    # Why it did or did not, in words (for the run's summary and `rules --format json`).
    conventions_why: str = "the shipped defaults"

    @property
    def convention_severity(self) -> Any:
        """The severity a check gives a finding that judges a convention of the seed layout, in a
        rule that also reports breakages (its rule file lists the kinds): None (the rule's own)
        when the repository opted into the conventions, else warning."""
        from .findings import Severity

        return None if self.conventions else Severity.WARNING

    @property
    def tier_label(self) -> str:
        return self.data["tier_label"]

    @property
    def tiers(self) -> list[str]:
        return list(self.data["tiers"])

    @property
    def argocd_namespace(self) -> str:
        """The namespace ArgoCD's Applications live in (the first, when several are configured)."""
        return self.argocd_namespaces[0]

    @property
    def argocd_namespaces(self) -> list[str]:
        """Every namespace ArgoCD watches for Applications (``argocd_namespace``: a name or a list)."""
        value = self.data["argocd_namespace"]
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    @property
    def avp_plugin(self) -> str:
        return self.data["avp_plugin"]

    @property
    def repo_url(self) -> str | None:
        return self.data["repo"].get("url")

    @property
    def branch(self) -> str:
        return self.data["repo"]["branch"]

    @property
    def helm_dir(self) -> str:
        return self.data["bundles"]["helm_dir"].strip("/")

    @property
    def manifests_dir(self) -> str:
        return self.data["bundles"]["manifests_dir"].strip("/")

    @property
    def exclude(self) -> list[str]:
        return list(self.data.get("exclude") or [])

    def is_excluded(self, path: str) -> bool:
        """Whether the repo-relative ``path`` (a file or a directory) is left out by ``exclude``:
        the walk never reads it, so its absence from the model is not its absence from the disk."""
        patterns = self.exclude
        if not patterns:
            return False
        from .discover import matches  # discover imports this module

        rel = "/".join(p for p in path.replace("\\", "/").split("/") if p not in ("", "."))
        # a directory glob ("old/") matches what is below the directory: probe one level down
        return bool(rel) and (matches(rel, patterns) or matches(rel + "/", patterns))

    @property
    def ignores(self) -> list[dict]:
        return list(self.data.get("ignore") or [])

    @property
    def crds(self) -> list[str]:
        return [str(p) for p in (self.data.get("crds") or [])]

    @property
    def max_file_bytes(self) -> int:
        return int(self.data["max_file_bytes"])

    def layer(self, name: str | None) -> LayerSpec | None:
        """The layer called ``name``."""
        for spec in self.layers:
            if spec.name == name:
                return spec
        return None

    def app(self, name: str) -> dict[str, Any]:
        """Per-app overrides of ``name`` (empty when none)."""
        return dict((self.data.get("apps") or {}).get(name) or {})

    def app_tier(self, name: str, layer: str | None) -> str | None:
        """The tier an app must run on: its override, else its layer's default."""
        tier = self.app(name).get("tier")
        if tier:
            return tier
        spec = self.layer(layer)
        return spec.tier if spec else None

    def rule_settings(self, rule_id: str) -> dict[str, Any]:
        """The user's settings for one rule (severity, enabled, params)."""
        return dict((self.data.get("rules") or {}).get(rule_id) or {})

    def pos_of(self, *keys: Any) -> int | None:
        """Line of a key path in the user's config file, when it is there."""
        if self.positions is None:
            return None
        line, matched, _ = _walk_keys(self.positions, list(keys))
        return line if matched else None


def _defaults() -> dict[str, Any]:
    text = data.package_text("defaults.yaml")
    return yamlio.plain(yamlio.load_text(text).documents[0].data)


def defaults() -> Config:
    """The shipped defaults alone, as a configuration (no repository file read)."""
    cfg = Config(data=_defaults())
    cfg.layers = [_layer(item) for item in cfg.data["layers"]]
    return cfg


def merge(base: Any, over: Any) -> Any:
    """Mappings merge key by key; anything else in ``over`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base.get(key), value) if key in base else value
        return out
    return over


def schema(name: str) -> dict[str, Any]:
    """A JSON schema shipped in schemas/."""
    return json.loads(data.read_text("schemas", name))


def load(root: Path, explicit: Path | None = None) -> Config:
    """The configuration of the repository at ``root`` (``explicit`` overrides the file)."""
    data = _defaults()
    cfg_path = explicit if explicit is not None else root / CONFIG_NAME
    rel: str | None = None
    positions = None
    if explicit is None and os.path.islink(cfg_path) and not inside(root, cfg_path):
        raise UsageError("is a symlink that leads outside the repository: refused (the repository's "
                         "configuration must be part of the repository)", CONFIG_NAME)
    if explicit is not None or cfg_path.is_file():
        raw = _read_config(cfg_path)
        try:
            rel = cfg_path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            rel = str(cfg_path)
        text, problems = yamlio.decode(raw)
        loaded = yamlio.load_text(text) if text is not None else yamlio.Loaded(problems=problems)
        bad = [p for p in loaded.problems if p.fatal or "duplicate key" in p.message]
        if bad:
            raise UsageError(f"invalid configuration: {bad[0].message}", rel, bad[0].line)
        docs = [d for d in loaded.documents if d.data is not None]
        if len(docs) > 1:
            raise UsageError("configuration must be a single YAML document", rel, docs[1].pos[0])
        user = docs[0].data if docs else {}
        if not isinstance(user, dict):
            raise UsageError("configuration must be a mapping", rel, docs[0].pos[0] if docs else 1)
        _validate(yamlio.plain(user, str_keys=True), user, rel)
        _check_rule_ids(user, rel)
        positions = user
        data = merge(data, yamlio.plain(user, str_keys=True))
    cfg = Config(data=data, path=rel, positions=positions)
    cfg.conventions, cfg.conventions_why = opts_in(root, rel, data)
    if not cfg.repo_url:
        from .adopt import read_git  # .git/config as text, only from a real .git directory

        cfg.git_remote = read_git(root)[0]
    _check_paths(cfg)
    cfg.layers = [_layer(item) for item in data["layers"]]
    _check_consistency(cfg)
    for i, entry in enumerate(cfg.crds):
        target = Path(entry) if Path(entry).is_absolute() else root / entry
        if not target.exists():
            raise UsageError(f"crds: {entry!r} does not exist", cfg.path, cfg.pos_of("crds", i))
    return cfg


def opts_in(root: Path, config_path: str | None, data: dict[str, Any]) -> tuple[bool, str]:
    """Whether the repository at ``root`` opted into the seed's conventions, and why (or why not).

    It did when it has a configuration file (``.gitops-kit.yaml``, which ``init`` and ``adopt``
    write, or one given with ``--config``), or when it uses the seed's layout: a layer root of the
    configuration (``argo/root-bootstrap.yaml``, ``argo/root-platform.yaml``, ``argo/root-apps.yaml``
    when no file configures them) exists, or a layer directory (``argo/bootstrap/``,
    ``argo/platform/``, ``argo/apps/``) holds a YAML file at any depth. The directories count as
    well as the roots so that a seed repository whose roots were deleted keeps its errors (the
    missing roots among them). Without a configuration the layers are always the shipped ones.
    """
    if config_path is not None:
        return True, f"configuration {config_path}"
    for item in data.get("layers") or []:
        rel = str(item.get("root") or "").strip("/")
        if rel and (root / rel).is_file():
            return True, f"seed layout: {rel}"
    for item in data.get("layers") or []:
        rel = str(item.get("dir") or "").strip("/")
        found = _yaml_below(root / rel) if rel else None
        if found is not None:
            return True, f"seed layout: {rel}/{found}"
    return False, "no .gitops-kit.yaml and not the seed layout (no argo/root-<layer>.yaml, nothing in argo/<layer>/)"


def _yaml_below(folder: Path) -> str | None:
    """A YAML file somewhere below ``folder`` (its path relative to it), or None. Links are not
    followed (the repository's walk does not follow them either)."""
    if folder.is_symlink() or not folder.is_dir():
        return None
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(here, d)))
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")) and not os.path.islink(os.path.join(here, name)):
                return os.path.relpath(os.path.join(here, name), folder).replace(os.sep, "/")
    return None


# A configuration file is a few kilobytes; anything near this is not one (and is not read whole).
MAX_CONFIG_BYTES = 1 << 20


def _read_config(path: Path) -> bytes:
    """The configuration file's bytes: a regular file (a FIFO would hang the run) of sane size."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UsageError("cannot read configuration: not a regular file", str(path))
            if st.st_size > MAX_CONFIG_BYTES:
                raise UsageError(f"cannot read configuration: {st.st_size} bytes, over the "
                                 f"{MAX_CONFIG_BYTES}-byte limit", str(path))
            with os.fdopen(os.dup(fd), "rb") as fh:
                raw = fh.read(MAX_CONFIG_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise UsageError(f"cannot read configuration: {exc.strerror}", str(path)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(f"cannot read configuration: over the {MAX_CONFIG_BYTES}-byte limit", str(path))
    return raw


def _check_paths(cfg: Config) -> None:
    """Every configured value that becomes a path to write is relative and stays in the repository
    (the file is part of the repository, so a merge request can change it: docs/security.md)."""
    bundles = cfg.data.get("bundles") or {}
    for key in ("helm_dir", "manifests_dir"):
        problem = rel_problem(bundles.get(key))
        if problem:
            raise UsageError(f"invalid configuration at bundles.{key}: {problem}", cfg.path,
                             cfg.pos_of("bundles", key))
    for i, item in enumerate(cfg.data.get("layers") or []):
        for key in ("dir", "root"):
            problem = rel_problem(item.get(key))
            if problem:
                raise UsageError(f"invalid configuration at layers.{i}.{key}: {problem}", cfg.path,
                                 cfg.pos_of("layers", i, key))


def _validate(user: dict, positions: Any, rel: str | None) -> None:
    import jsonschema_rs  # the Rust validator imports in ~10 ms; jsonschema takes ~150 ms

    validator = jsonschema_rs.validator_for(schema("config.schema.json"))
    errors = sorted(validator.iter_errors(user), key=lambda e: (list(map(str, e.instance_path)), e.message))
    if not errors:
        return
    err = errors[0]
    keys = list(err.instance_path)
    unknown = type(err.kind).__name__ == "AdditionalProperties" and getattr(err.kind, "unexpected", None)
    if unknown:
        keys.append(sorted(map(str, unknown))[0])
    line, _, value = _walk_keys(positions, keys)
    if unknown:
        message = f"unknown key {keys[-1]!r}"
    else:
        from .schemas_k8s import describe  # words, never the value (a repo URL may hold a token)

        message = describe(err, value)
    where = ".".join(str(k) for k in keys) or "(top level)"
    raise UsageError(f"invalid configuration at {where}: {message}", rel, line)


def show(cfg: Config) -> str:
    """``config show``: the merged configuration, one ``key.path: value`` line per value (JSON
    values), each followed by where it came from: ``# default`` or ``# FILE:LINE``. Mappings merge
    key by key, so each key has its own origin; a list replaces the default whole, so its items
    share the list's origin."""
    import re

    lines: list[str] = []

    def origin(keys: list) -> str:
        if cfg.positions is None:
            return "default"
        line, found, _ = _walk_keys(cfg.positions, keys)
        return f"{cfg.path}:{line}" if found and _has_path(cfg.positions, keys) else "default"

    def emit(keys: list, value: Any, where: str | None) -> None:
        if isinstance(value, dict) and value:
            for key, sub in value.items():
                emit([*keys, key], sub, where)
            return
        here = where or origin(keys)
        if isinstance(value, list) and any(isinstance(item, dict) for item in value):
            for i, item in enumerate(value):
                emit([*keys, i], item, here)
            return
        text = json.dumps(value, ensure_ascii=False)
        # a repository URL may carry credentials: shown as *** (as in every other message)
        text = re.sub(r"(://)[^/@\s\"]+@", r"\1***@", text)
        lines.append(f"{'.'.join(map(str, keys))}: {text}  # {here}")

    for key, value in cfg.data.items():
        emit([key], value, None)
    return "\n".join(lines) + "\n"


def _has_path(node: Any, keys: list) -> bool:
    """Whether every key of ``keys`` is present below ``node`` (the user's file)."""
    for key in keys:
        if isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return False
    return True


def _check_rule_ids(user: Any, rel: str | None) -> None:
    """Every key of ``rules:`` names a shipped rule (a typo would silently configure nothing)."""
    rules = user.get("rules") if isinstance(user, dict) else None
    if not isinstance(rules, dict):
        return
    from . import catalog

    specs = catalog.load()
    for rid in rules:
        if rid not in specs:
            line, _, _ = _walk_keys(user, ["rules", rid])
            raise UsageError(f"invalid configuration at rules.{rid}: {catalog.unknown_rule(str(rid), specs)}", rel, line)


def _walk_keys(node: Any, keys: list) -> tuple[int, bool, Any]:
    """Line of the deepest key of ``keys`` found below ``node`` (the node's own line when none),
    whether at least the first key was found, and the value reached."""
    line = getattr(node, "pos", (1, 1))[0]
    matched = False
    for key in keys:
        if isinstance(node, dict) and key in node:
            line = node.key_pos(key)[0]
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            line = node.item_pos(key)[0]
            node = node[key]
        else:
            break
        matched = True
    return line, matched, node


def _layer(item: dict[str, Any]) -> LayerSpec:
    waves = item.get("child_waves") or {}
    ns = item.get("namespace") or {}
    return LayerSpec(
        name=item["name"], dir=item["dir"].strip("/"), root=item["root"].strip("/"), wave=str(item["wave"]),
        wave_min=int(waves.get("min", -1_000_000)), wave_max=int(waves.get("max", 1_000_000)),
        suffixes=tuple(ns.get("suffixes") or ()), allow=tuple(ns.get("allow") or ()),
        forbid_suffixes=tuple(ns.get("forbid_suffixes") or ()), tier=item.get("tier"),
        owns_namespaces=bool(item.get("owns_namespaces", False)),
    )


def _check_consistency(cfg: Config) -> None:
    names = [layer.name for layer in cfg.layers]
    if len(set(names)) != len(names):
        raise UsageError("layer names must be unique", cfg.path, cfg.pos_of("layers"))
    for i, layer in enumerate(cfg.layers):
        if layer.tier is not None and layer.tier not in cfg.tiers:
            raise UsageError(f"layer {layer.name!r} has tier {layer.tier!r}, not one of {cfg.tiers}",
                             cfg.path, cfg.pos_of("layers", i, "tier"))
        if layer.wave_min > layer.wave_max:
            raise UsageError(f"layer {layer.name!r}: child_waves.min is above child_waves.max",
                             cfg.path, cfg.pos_of("layers", i, "child_waves"))
    for name, over in (cfg.data.get("apps") or {}).items():
        tier = (over or {}).get("tier")
        if tier is not None and tier not in cfg.tiers:
            raise UsageError(f"app {name!r} has tier {tier!r}, not one of {cfg.tiers}",
                             cfg.path, cfg.pos_of("apps", name, "tier"))
