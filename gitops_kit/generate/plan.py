"""What ``init`` and ``new-app`` write: validated inputs -> rendered blueprints -> changes.

Nothing here touches the target repository; :mod:`.writer` does the writing.

Blueprint composition. An app is ``app-base`` (its namespace bundle in apps/manifests/<app>/:
namespace.yaml, the default-deny network-policy.yaml, quota.yaml, limit-range.yaml) plus the
blueprint of its pattern (``app-multi-source``, ``app-umbrella-avp``, ``app-kustomize``, or
``app-manifests`` for the seed's git-manifests apps), which writes the Application and
apps/helm/<app>/. ``init`` renders ``repo``, then every app of the seed data it generates (the
``core`` ones always, all 25 with ``--platform seed``), then lays the files of ``seed`` (what is
specific to one seed app: values, extra manifests, Helm templates) over them.

Default wave of a new app: 0, or one above the highest wave of the apps it comes ``--after``
in the same layer. 0 is the first wave of the platform and apps bands and the last of the
bootstrap band (-10..0), i.e. after the seed's infrastructure and still before root-platform.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import catalog, config as config_mod, yamlio
from ..config import CONFIG_NAME, Config, LayerSpec
from ..errors import UsageError
from . import inputs, render, seed
from .render import Blueprint, RenderedFile
from .writer import Change

PATTERN_BLUEPRINTS = {"multi-source": "app-multi-source", "umbrella-avp": "app-umbrella-avp",
                      "kustomize": "app-kustomize", "manifests": "app-manifests"}
DEFAULT_QUOTA = {"requests_cpu": "2", "requests_memory": "4Gi", "limits_cpu": "4", "limits_memory": "8Gi",
                 "pods": "20", "pvcs": "5"}
DEFAULT_DOMAIN = "example.com"
DEFAULT_REPO_URL = "https://gitlab.example.com/platform/gitops.git"


@dataclass(frozen=True)
class AppSpec:
    """One app bundle to render."""

    name: str
    layer: LayerSpec
    pattern: str
    namespace: str
    wave: int
    tier: str
    chart: str | None = None
    chart_repo: str | None = None
    chart_version: str | None = None
    description: str | None = None
    secret_keys: tuple[str, ...] = ()
    namespace_file: bool = True
    baseline: bool = True
    pod_security: str = "baseline"
    namespace_labels: dict[str, str] = field(default_factory=dict)
    quota: dict[str, str] | None = None
    server_side_apply: bool = False
    # The Application's source for apps/manifests/<app>/ (off when the bundle has no file there).
    manifests_source: bool = True


@dataclass
class Plan:
    """The changes of one command and what to tell the user afterwards."""

    root: Path
    changes: list[Change]
    app: AppSpec | None = None
    vault_path: str | None = None
    summary: str = ""
    # Lines the user must read after the write: placeholders left in the files.
    notes: list[str] = field(default_factory=list)


def shipped_config() -> Config:
    """The shipped defaults as a Config (what a repository without .gitops-kit.yaml gets)."""
    with tempfile.TemporaryDirectory(prefix="gitops-kit-defaults-") as empty:
        return config_mod.load(Path(empty))


def avp_params(cfg: Config) -> dict[str, Any]:
    """The avp-placeholder rule's parameters, with the repository's overrides."""
    spec = catalog.load()["avp-placeholder"]
    user = cfg.rule_settings(spec.id).get("params") or {}
    return config_mod.merge(dict(spec.params), dict(user))


def app_values(app: AppSpec, cfg: Config, repo_url: str, params: dict[str, Any]) -> dict[str, Any]:
    """The cookiecutter context of an app blueprint."""
    return {
        "name": app.name, "layer": app.layer.name, "layer_dir": app.layer.dir, "namespace": app.namespace,
        "wave": str(app.wave), "tier": app.tier, "tier_label": cfg.tier_label, "repo_url": repo_url,
        "branch": cfg.branch, "argocd_namespace": cfg.argocd_namespace, "helm_dir": cfg.helm_dir,
        "manifests_dir": cfg.manifests_dir, "avp_plugin": cfg.avp_plugin,
        "chart": app.chart or app.name, "chart_repo": app.chart_repo or "", "chart_version": app.chart_version or "",
        "description": app.description or app.name,
        "vault_path": inputs.vault_path(params, app.layer.name, app.name),
        "secret_keys": ",".join(app.secret_keys),
        "namespace_file": app.namespace_file, "baseline": app.baseline, "pod_security": app.pod_security,
        "namespace_labels": dict(app.namespace_labels), "quota": dict(app.quota or DEFAULT_QUOTA),
        "server_side_apply": app.server_side_apply, "manifests_source": app.manifests_source,
    }


def render_app(app: AppSpec, values: dict[str, Any], blueprint: Blueprint | None = None,
               trusted: bool = False) -> dict[str, RenderedFile]:
    """The files of one app bundle: app-base plus its pattern's blueprint, or a user blueprint."""
    if blueprint is not None:
        return render.render(blueprint, values, trusted=trusted)
    files = dict(render.render(render.bundled("app-base"), values))
    files.update(render.render(render.bundled(PATTERN_BLUEPRINTS[app.pattern]), values))
    return files


# --- init ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InitOptions:
    directory: Path
    domain: str = DEFAULT_DOMAIN
    repo_url: str | None = None  # default: DEFAULT_REPO_URL, a placeholder the output and config say is one
    branch: str = "master"
    tier_label: str | None = None  # default: <domain>/role
    k8s_version: str | None = None  # default: the shipped defaults' kubernetes_version
    platform: str = "none"
    tool_source: str | None = None  # default: a placeholder in CI (lint reports it), a local pre-commit hook


def plan_init(opts: InitOptions) -> Plan:
    """Every file of a new repository (and of the seed platform's apps with platform=seed)."""
    inputs.domain(opts.domain)
    repo_url = opts.repo_url or DEFAULT_REPO_URL
    inputs.repo_url(repo_url)
    tool = inputs.tool_source(opts.tool_source)
    inputs.branch(opts.branch)
    label = opts.tier_label or f"{opts.domain}/role"
    inputs.tier_label(label)
    shipped = shipped_config()
    k8s = opts.k8s_version or str(shipped.data["kubernetes_version"])
    inputs.k8s_version(k8s)
    if opts.platform not in ("none", "seed"):
        raise UsageError(f"--platform {opts.platform!r}: choose none or seed")
    cfg = Config(data={**shipped.data, "tier_label": label,
                       "repo": {"url": repo_url, "branch": opts.branch}}, layers=shipped.layers)
    apps = [a for a in seed.load() if a.core or opts.platform == "seed"]
    specs = [_seed_spec(a, cfg) for a in apps]

    files: dict[str, RenderedFile] = {}
    files.update(render.render(render.bundled("repo"), {
        "domain": opts.domain, "repo_url": repo_url, "branch": opts.branch, "tier_label": label,
        "default_tier_label": shipped.tier_label, "kubernetes_version": k8s,
        "default_kubernetes_version": str(shipped.data["kubernetes_version"]),
        "argocd_namespace": cfg.argocd_namespace, "tool_requirement": tool.requirement,
        "tool_index_url": tool.index_url, "tool_hook_repo": tool.hook_repo, "tool_hook_rev": tool.hook_rev,
        "repo_url_placeholder": opts.repo_url is None, "platform": opts.platform,
        "empty_layers": opts.platform == "none", "apps": _readme_tables(apps, cfg),
    }))
    params = avp_params(cfg)
    for spec in specs:
        files.update(render_app(spec, app_values(spec, cfg, repo_url, params)))
    overlay = render.render(render.bundled("seed"), {"domain": opts.domain, "tier_label": label})
    names = {a.name for a in apps}
    for rel, f in overlay.items():
        if _bundle_app(rel, cfg) in names:
            files[rel] = f
    changes = [Change(rel, f.data, f.mode) for rel, f in sorted(files.items())]
    what = "the seed platform's 25 apps" if opts.platform == "seed" else "the argocd app"
    notes = []
    if opts.repo_url is None:
        notes.append(f"--repo-url not given: every Application points at the placeholder {repo_url}. Set repo.url "
                     f"in {CONFIG_NAME} to this repository's URL, then run `gitops-kit lint --fix` to point them at it")
    if tool.placeholder:
        notes.append("--tool-source not given: .gitlab-ci.yml installs gitops-kit from a placeholder (lint reports "
                     "it, CI fails on it) and .pre-commit-config.yaml runs the gitops-kit on your PATH. Set "
                     "GITOPS_KIT_SOURCE in .gitlab-ci.yml, or run init again with --tool-source git+URL@TAG")
    return Plan(opts.directory, changes, summary=f"a three-layer GitOps repository with {what}", notes=notes)


def _seed_spec(app: seed.SeedApp, cfg: Config) -> AppSpec:
    layer = cfg.layer(app.layer)
    if layer is None:  # pragma: no cover - the seed data is tested against the defaults
        raise UsageError(f"seed app {app.name}: unknown layer {app.layer!r}")
    return AppSpec(
        name=app.name, layer=layer, pattern=app.pattern, namespace=app.namespace, wave=app.wave,
        tier=app.tier or layer.tier or cfg.tiers[0], chart=app.chart, chart_repo=app.chart_repo,
        chart_version=app.chart_version, description=app.description, namespace_file=app.namespace_file,
        baseline=app.baseline, pod_security=app.pod_security, namespace_labels=dict(app.namespace_labels),
        quota=app.quota, server_side_apply=app.server_side_apply)


def _bundle_app(rel: str, cfg: Config) -> str | None:
    for base in (cfg.helm_dir, cfg.manifests_dir):
        if rel.startswith(base + "/"):
            return rel[len(base) + 1:].split("/", 1)[0]
    return None


def _source_text(app: seed.SeedApp) -> str:
    return {
        "multi-source": f"Helm `{app.chart}` {app.chart_version} + values",
        "umbrella-avp": f"umbrella chart (`{app.chart}` {app.chart_version}) + AVP",
        "kustomize": f"kustomize + Helm (`{app.chart}` {app.chart_version}) + AVP",
        "manifests": "git manifests",
    }[app.pattern]


def _flow(app: seed.SeedApp) -> str:
    parts = []
    if app.tier:
        parts.append(f"tier: {app.tier}")
    if app.daemonset:
        parts.append("daemonset: true")
    if app.after:
        parts.append(f"after: [{', '.join(app.after)}]")
    return "{" + ", ".join(parts) + "}"


def _readme_tables(apps: list[seed.SeedApp], cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"bootstrap": [], "platform": [], "apps": [], "overrides": [],
                           "multi_source": [], "umbrella_avp": [], "kustomize": [], "manifests": []}
    for app in apps:
        layer = cfg.layer(app.layer)
        tier = app.tier_note or app.tier or (layer.tier if layer else "")
        out[app.layer].append({"name": app.name, "namespace": app.namespace, "wave": str(app.wave),
                               "tier": tier, "source": _source_text(app)})
        out[app.pattern.replace("-", "_")].append(app.name)
        if app.tier or app.daemonset or app.after:
            out["overrides"].append({"name": app.name, "comment": app.config_comment or "", "flow": _flow(app)})
    return out


# --- new-app -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewAppOptions:
    name: str
    layer: str
    pattern: str | None = None
    chart: str | None = None
    chart_repo: str | None = None
    chart_version: str | None = None
    namespace: str | None = None
    tier: str | None = None
    wave: int | None = None
    secrets: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    blueprint: str | None = None
    trust_blueprint: bool = False


def plan_new_app(root: Path, opts: NewAppOptions, *, replace: bool = False) -> Plan:
    """The files of one new app in the repository at ``root`` (checked, rendered, not written).

    ``replace`` (``--force``): the app's existing bundle is replaced as a whole, so the plan also
    deletes what the new files do not cover (see :func:`_stale_bundle_files`)."""
    from ..model import build

    inputs.app_name(opts.name)
    cfg = config_mod.load(root)
    layer = cfg.layer(opts.layer)
    if layer is None:
        raise UsageError(f"--layer {opts.layer!r}: this repository's layers are "
                         f"{', '.join(spec.name for spec in cfg.layers)}")
    pattern = _pattern(opts)
    namespace = opts.namespace or inputs.default_namespace(opts.name, layer)
    inputs.namespace(namespace, layer)
    tier = opts.tier or layer.tier or cfg.tiers[0]
    inputs.tier(tier, cfg)
    inputs.secret_keys(list(opts.secrets))
    chart = opts.chart or opts.name
    if not opts.chart_repo or not opts.chart_version:
        missing = " and ".join(o for o, v in (("--chart-repo", opts.chart_repo),
                                              ("--chart-version", opts.chart_version)) if not v)
        raise UsageError(f"new-app needs {missing}: the chart the app installs, at an exact version")
    inputs.chart(chart, opts.chart_repo, opts.chart_version)

    model = build(root, cfg)
    if not any(lay.root is not None for lay in model.layers.values()):
        raise UsageError(f"no GitOps repository at {root} (no root Application in argo/): run gitops-kit init first")
    repo_url = model.repo_url
    if not repo_url:
        raise UsageError("cannot tell this repository's URL: set repo.url in .gitops-kit.yaml", CONFIG_NAME)
    for other in model.apps_by_name.get(opts.name, []):
        if other.path != f"{layer.dir}/{opts.name}-app.yaml":
            raise UsageError(f"an Application named {opts.name!r} already exists in {other.path}")
    wave = _wave(opts, layer, model)
    inputs.wave(wave, layer)
    users = sorted({app.name for app in model.child_apps() if app.dest_namespace == namespace and app.name != opts.name})
    if users and layer.owns_namespaces:
        raise UsageError(f"namespace {namespace!r} already belongs to {', '.join(users)}: one app per namespace "
                         f"in layer {layer.name!r} (choose another --namespace)")
    shared = bool(users) or any(o.name == namespace for o in model.kind("Namespace")
                                if not o.path.startswith(f"{cfg.manifests_dir}/{opts.name}/"))

    spec = AppSpec(name=opts.name, layer=layer, pattern=pattern, namespace=namespace, wave=wave, tier=tier,
                   chart=chart, chart_repo=opts.chart_repo, chart_version=opts.chart_version,
                   secret_keys=tuple(opts.secrets), namespace_file=not shared, baseline=not shared,
                   manifests_source=not shared)
    params = avp_params(cfg)
    values = app_values(spec, cfg, repo_url, params)
    blueprint = render.user_blueprint(opts.blueprint) if opts.blueprint else None
    files = render_app(spec, values, blueprint, opts.trust_blueprint)
    if not files:
        raise UsageError(f"blueprint {blueprint.name if blueprint else pattern} rendered no file")
    changes = [Change(rel, f.data, f.mode) for rel, f in sorted(files.items())]
    if replace:
        changes += _stale_bundle_files(root, cfg, spec, values, set(files), pattern)
    edit = _config_edit(root, opts.name, tier if tier != layer.tier else None, opts.after)
    if edit is not None:
        changes.append(edit)
    where = f"layer {layer.name}, pattern {pattern}, namespace {namespace}, tier {tier}, wave {wave}"
    if shared:
        where += f"; namespace {namespace} already exists, so no namespace bundle"
    return Plan(root, changes, app=spec, vault_path=values["vault_path"], summary=where)


def bundle_paths(root: Path, cfg: Config, name: str, layer: LayerSpec) -> list[str]:
    """The files of app ``name``'s bundle that exist: its Application file(s), everything in
    ``apps/helm/NAME/`` and ``apps/manifests/NAME/`` (symlinks are not followed)."""
    out = [rel for rel in (f"{layer.dir}/{name}-app.yaml", f"{layer.dir}/{name}-app.yml")
           if os.path.lexists(root / rel)]
    for base in (cfg.helm_dir, cfg.manifests_dir):
        top = root / base / name
        if top.is_symlink() or not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for f in sorted(filenames):
                out.append(Path(dirpath, f).relative_to(root).as_posix())
    return out


def _stale_bundle_files(root: Path, cfg: Config, app: AppSpec, values: dict[str, Any], written: set[str],
                        pattern: str) -> list[Change]:
    """Deletions that make ``--force`` replace the whole bundle: every file of the app's Application
    and of ``apps/helm/NAME/`` the new files do not rewrite (a kustomization.yaml left next to a new
    Chart.yaml is two patterns at once), and the namespace-bundle files of ``apps/manifests/NAME/``
    the new bundle no longer has. Kept: the app's own manifests (they deploy with any pattern) and,
    for umbrella-avp, its ``templates/`` (that pattern renders them)."""
    generated_base = set(render.render(render.bundled("app-base"),
                                       {**values, "namespace_file": True, "baseline": True}))
    helm = f"{cfg.helm_dir}/{app.name}/"
    out = []
    for rel in bundle_paths(root, cfg, app.name, app.layer):
        if rel in written:
            continue
        if rel.startswith(helm):
            if pattern == "umbrella-avp" and rel.startswith(helm + "templates/"):
                continue
            why = f"not part of the {pattern} pattern"
        elif rel.startswith(f"{cfg.manifests_dir}/{app.name}/"):
            if rel not in generated_base:
                continue
            why = "the new bundle has no such file"
        else:
            why = f"replaced by {app.layer.dir}/{app.name}-app.yaml"
        out.append(Change(rel, b"", base=(root / rel).read_bytes(), note=why, delete=True))
    return out


def _pattern(opts: NewAppOptions) -> str:
    pattern = opts.pattern
    if pattern is not None and pattern not in inputs.PATTERNS:
        raise UsageError(f"--pattern {pattern!r}: choose one of {', '.join(inputs.PATTERNS)}")
    if opts.secrets:
        if pattern == "multi-source":
            raise UsageError("--secret needs a pattern rendered by the AVP plugin (umbrella-avp or kustomize): "
                             "a multi-source chart's values never pass through argocd-vault-plugin")
        return pattern or "umbrella-avp"
    return pattern or "multi-source"


def _wave(opts: NewAppOptions, layer: LayerSpec, model: Any) -> int:
    if opts.wave is not None:
        wave = opts.wave
    else:
        wave = max(0, layer.wave_min) if layer.wave_min <= 0 <= layer.wave_max else layer.wave_min
    for dep in opts.after:
        apps = model.apps_by_name.get(dep)
        if not apps:
            raise UsageError(f"--after {dep}: no Application named {dep!r} in this repository")
        dep_app = apps[0]
        if dep_app.layer != layer.name:
            order = [spec.name for spec in model.config.layers]
            if dep_app.layer in order and order.index(dep_app.layer) > order.index(layer.name):
                raise UsageError(f"--after {dep}: {dep!r} is in layer {dep_app.layer!r}, which syncs after "
                                 f"layer {layer.name!r}")
            continue  # an earlier layer: the roots' waves already order them
        try:
            dep_wave = int(str(dep_app.wave))
        except ValueError:
            continue
        if opts.wave is None:
            wave = max(wave, dep_wave + 1)
        elif opts.wave <= dep_wave:
            raise UsageError(f"--wave {opts.wave} is not after {dep!r} (wave {dep_wave}) in layer {layer.name!r}")
    return wave


def _config_edit(root: Path, name: str, tier: str | None, after: tuple[str, ...]) -> Change | None:
    """Register the app's overrides in .gitops-kit.yaml with a comment-preserving round trip."""
    overrides: dict[str, Any] = {}
    if tier:
        overrides["tier"] = tier
    if after:
        overrides["after"] = list(after)
    if not overrides:
        return None
    path = root / CONFIG_NAME
    note = "registers " + ", ".join(f"apps.{name}.{k}" for k in overrides)
    if not path.exists():
        text = "# gitops-kit configuration (see gitops-kit's defaults.yaml for every key).\n"
        text += yamlio.dump({"apps": {name: overrides}})
        return Change(CONFIG_NAME, text.encode("utf-8"), note=note)
    base = path.read_bytes()
    try:
        text = base.decode("utf-8")
        edited = yamlio.edit_text(text, [(0, ("apps", name, key), value) for key, value in overrides.items()])
    except (UnicodeDecodeError, yamlio.EditError) as exc:
        raise UsageError(f"cannot register {name!r} in {CONFIG_NAME}: {exc}", CONFIG_NAME) from None
    return Change(CONFIG_NAME, edited.encode("utf-8"), mode=path.stat().st_mode & 0o7777, base=base, note=note)
