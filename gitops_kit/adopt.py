"""``gitops-kit adopt``: read an existing ArgoCD repository and propose the ``.gitops-kit.yaml``
that describes it, each key with a comment saying what it was inferred from.

Everything comes from the repository model (one walk, one parse) and from ``.git/config`` and
``.git/HEAD`` read as text: the repository is untrusted, so no git or other program is run. The
proposal only sets keys the repository shows evidence for; the rest stay the shipped defaults.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import config as config_mod
from .config import CONFIG_NAME, Config
from .errors import UsageError
from .model import AppSource, Application, K8sObject, RepoModel, build, strip_credentials, url_key
from .model.assemble import appset_git_urls, implied_repo, with_repo_url
from .model.values import reads_this_repo, value_files
from .yamlio import YMap, YSeq

ARGOCD_DEFAULT_NAMESPACE = "argocd"  # where ArgoCD's install manifests put it
# Node labels every node carries: selecting on them picks an OS or a node, not a tier.
_NOT_TIER_LABELS = ("kubernetes.io/os", "kubernetes.io/arch", "kubernetes.io/hostname",
                    "beta.kubernetes.io/os", "beta.kubernetes.io/arch")
# Namespaces a layer may use whatever its suffix convention (Kubernetes' own, and ArgoCD's).
_SHARED_NAMESPACES = ("kube-system", "kube-public", "default")
_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_WAVE = re.compile(r"-?[0-9]+")
_GIT_FILE_LIMIT = 1 << 20


@dataclass
class Observed:
    """One proposed value and the sentence saying what it was inferred from."""

    value: Any
    why: str


@dataclass
class LayerGuess:
    """A layer found in the app-of-apps tree: a parent Application and the children it deploys."""

    name: str
    dir: str
    root: Application
    children: list[Application]
    depth: int
    wave: str
    why: str
    band: tuple[int, int] | None = None
    suffixes: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    tier: str | None = None
    owns: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Proposal:
    """What adopt inferred: the keys of the proposed configuration, each with its evidence."""

    root: Path
    argocd_namespace: Observed
    repo_url: Observed
    branch: Observed
    layers: list[LayerGuess]
    layers_why: str
    tier_label: Observed | None
    tiers: Observed | None
    app_tiers: dict[str, str]
    daemonsets: dict[str, str]  # app -> why it runs on every node
    crds: str
    applications: int
    applicationsets: int = 0
    templates: list[str] = field(default_factory=list)  # templated YAML (Jinja, Go) to exclude
    rules: dict[str, Observed] = field(default_factory=dict)  # rule id -> settings, and why
    kept: dict[str, Any] = field(default_factory=dict)  # keys of the current file adopt does not infer

    def data(self) -> dict[str, Any]:
        """The proposal as plain configuration data (what the file says, without comments)."""
        out: dict[str, Any] = {"version": 1, "argocd_namespace": self.argocd_namespace.value,
                               "repo": {"url": self.repo_url.value, "branch": self.branch.value}}
        if self.tier_label is not None and self.tiers is not None:
            out["tier_label"] = self.tier_label.value
            out["tiers"] = list(self.tiers.value)
        out["layers"] = [_layer_data(g) for g in self.layers]
        # The shipped per-app overrides describe the seed's apps, not this repository's: each is
        # dropped (null), then the current file's own entries and the tiers seen are laid over.
        apps: dict[str, Any] = {name: None for name in (config_mod.defaults().data.get("apps") or {})}
        for name, over in (self.kept.get("apps") or {}).items():
            apps[name] = dict(over) if isinstance(over, dict) else over
        for name, tier in sorted(self.app_tiers.items()):
            entry = apps.get(name) or {}
            entry.setdefault("tier", tier)
            apps[name] = entry
        for name in sorted(self.daemonsets):
            entry = apps.get(name) or {}
            entry.setdefault("daemonset", True)
            apps[name] = entry
        out["apps"] = apps
        rules = {rid: obs.value for rid, obs in sorted(self.rules.items())}
        for rid, settings in (self.kept.get("rules") or {}).items():
            rules[rid] = settings  # what the current file says about a rule wins
        if rules:
            out["rules"] = rules
        for key, value in self.kept.items():
            if key not in out and key not in INFERRED:
                out[key] = value
        if self.templates:
            kept = list(out.get("exclude") or [])
            out["exclude"] = kept + [t for t in self.templates if t not in kept]
        return out


# Keys adopt infers; every other key of the current file is kept as it is.
INFERRED = ("version", "argocd_namespace", "repo", "tier_label", "tiers", "layers", "apps", "rules")


def _templates(model: RepoModel) -> list[str]:
    """Template files (Jinja, Go, cookiecutter) that do not parse as YAML: what ``exclude`` is for.
    A directory whose YAML files are all such templates is excluded whole."""
    broken = {rel for rel, sf in model.files.items()
              if sf.text is not None and any(p.fatal for p in sf.problems)
              and ("{{" in sf.text or "{%" in sf.text)}
    if not broken:
        return []
    per_dir: dict[str, list[str]] = {}
    for rel in model.files:
        per_dir.setdefault(posixpath.dirname(rel), []).append(rel)
    out: set[str] = set()
    for rel in broken:
        d = posixpath.dirname(rel)
        whole = d and all(f in broken for f in per_dir[d])
        out.add(d + "/" if whole else rel)
    return sorted(out)


def _declared(rule_id: str) -> dict[str, Any]:
    """The parameters a shipped rule declares (only those may be configured)."""
    from . import catalog

    spec = catalog.load().get(rule_id)
    return dict(spec.params) if spec is not None else {}


def _sync_policies(apps: list[Application], appsets: list[K8sObject]) -> list[YMap]:
    """The syncPolicy of every Application with a spec, and of every ApplicationSet's template
    (the Applications it generates), an empty one where none is set."""
    out = [a.sync_policy or YMap() for a in apps if a.obj.spec is not None]
    for obj in appsets:
        spec = obj.data.get("spec")
        template = spec.get("template") if isinstance(spec, YMap) else None
        tspec = template.get("spec") if isinstance(template, YMap) else None
        if isinstance(tspec, YMap):
            policy = tspec.get("syncPolicy")
            out.append(policy if isinstance(policy, YMap) else YMap())
    return out


def _rule_settings(model: RepoModel, apps: list[Application], parents: dict[int, Application],
                   layers: list[LayerGuess], appsets: list[K8sObject] | None = None) -> dict[str, Observed]:
    """Rule settings for conventions of the seed that this repository shows it does not follow:
    a rule that judges a convention nobody here opted into reports the convention, not a problem."""
    out: dict[str, Observed] = {}
    with_spec = _sync_policies(apps, list(appsets or ()))
    what = "Applications and ApplicationSet templates" if appsets else "Applications"
    if with_spec:
        auto = [p for p in with_spec if isinstance(p.get("automated"), YMap)]
        if len(auto) * 2 < len(with_spec):
            out["automated-sync"] = Observed({"enabled": False}, f"{len(auto)} of {len(with_spec)} {what} "
                                             "sync automatically: this repository syncs by hand")
        else:
            required = list(_declared("automated-sync").get("require") or [])
            keep = [k for k in required if sum(1 for p in auto if p["automated"].get(k) is True) * 2
                    >= len(auto)]
            counts = ", ".join(f"{k}: {sum(1 for p in auto if p['automated'].get(k) is True)}"
                               for k in required)
            settings: dict[str, Any] = {}
            if keep != required:
                settings["params"] = {"require": keep}
            # A convention most Applications follow but not all: the others are an opinion on a
            # repository that never opted into it, not something that breaks (a warning).
            behind = [p for p in with_spec if not isinstance(p.get("automated"), YMap)
                      or any(p["automated"].get(k) is not True for k in keep)]
            if behind:
                settings["severity"] = "warning"
            if settings:
                why = f"of {len(auto)} automated {what}, these set true: {counts}"
                if behind:
                    why += f"; {len(behind)} of {len(with_spec)} do not follow it (a warning)"
                out["automated-sync"] = Observed(settings, why)
    children = [a for a in apps if id(a) in parents]
    waved = [a for a in children if a.wave is not None]
    if not waved:
        why = ("no Application deploys another one" if not children else
               f"none of the {len(children)} Applications another one deploys has a sync wave")
        out["app-health-check"] = Observed({"enabled": False}, why + ": nothing waits for an Application's "
                                           "health, so its health check changes nothing")
    params = _layout_params(model, apps, parents, layers)
    if params:
        out["layout"] = params
    out.update(_owned_namespace_rules(model, layers))
    return out


def _node_tier_off(label: Observed | None) -> dict[str, Observed]:
    """node-tier judges the tiers ``tier_label`` selects: without a tier label in the repository,
    the shipped one (example.com/role) is nothing this repository uses."""
    if label is not None:
        return {}
    return {"node-tier": Observed({"enabled": False}, "no node label with two values or more in nodeSelectors: "
                                  "no tiers to check")}


def _owned_namespace_rules(model: RepoModel, layers: list[LayerGuess]) -> dict[str, Observed]:
    """resource-quota and network-policy judge the namespaces of layers that own them: off when no
    app there ships the object, a warning when some do not (a convention, not a breakage, until
    they all do)."""
    children = [c for g in layers if g.owns for c in g.children if c.dest_namespace]
    if not children:
        return {}
    out: dict[str, Observed] = {}
    for rid, kind, what in (("resource-quota", "ResourceQuota", "a ResourceQuota"),
                            ("network-policy", "NetworkPolicy", "a NetworkPolicy")):
        objs = list(model.kind(kind))
        having = [c for c in children if any(
            o.namespace == c.dest_namespace or (o.namespace is None and o.path in _app_files(model, c))
            for o in objs)]
        seen = f"{len(having)} of the {len(children)} apps of layers that own their namespaces ship {what}"
        if not having:
            out[rid] = Observed({"enabled": False}, seen + ": not this repository's convention")
        elif len(having) < len(children):
            out[rid] = Observed({"severity": "warning"}, seen + " (the others, a warning)")
    return out


def _layout_params(model: RepoModel, apps: list[Application], parents: dict[int, Application],
                   layers: list[LayerGuess]) -> Observed | None:
    """layout's sub-checks this repository's shape does not follow, when the rule declares them
    as parameters (see docs/adoption.md for the names)."""
    declared = _declared("layout")
    off: dict[str, bool] = {}
    why: list[str] = []
    children = [a for g in layers for a in g.children]
    if "file_names" in declared and children:
        named = [a for a in children if posixpath.basename(a.path) in (f"{a.name}-app.yaml", f"{a.name}-app.yml")]
        if len(named) * 2 < len(children):
            off["file_names"] = False
            why.append(f"{len(named)} of {len(children)} child Applications are in <name>-app.yaml")
    roots = {id(g.root) for g in layers}
    loose = [a for a in apps if id(a) not in parents and id(a) not in roots]
    if "placement" in declared and loose:
        off["placement"] = False
        why.append(f"{len(loose)} Applications outside the layers are applied by hand (no Application deploys them)")
    if "roots" in declared and not layers:
        off["roots"] = False
        why.append("no layers: no layer roots to check")
    return Observed({"params": off}, "; ".join(why)) if off else None


def _layer_data(g: LayerGuess) -> dict[str, Any]:
    item: dict[str, Any] = {"name": g.name, "dir": g.dir, "root": g.root.path, "wave": g.wave}
    if g.band is not None:
        item["child_waves"] = {"min": g.band[0], "max": g.band[1]}
    item["namespace"] = {"suffixes": list(g.suffixes), "allow": list(g.allow), "forbid_suffixes": list(g.forbid)}
    if g.tier is not None:
        item["tier"] = g.tier
    item["owns_namespaces"] = g.owns
    return item


# --- reading ---------------------------------------------------------------------------------------

def _base_config(root: Path) -> Config:
    """The repository's own configuration when it has a valid one (its excludes matter), else the
    shipped defaults: adopt is how a repository gets a configuration, so a broken one is no stop."""
    try:
        return config_mod.load(root)
    except UsageError:
        return config_mod.defaults()


def _kept(base: Config) -> dict[str, Any]:
    """The current file's own keys (not the defaults'), to carry into the proposal."""
    from .yamlio import plain

    if base.positions is None or base.path != CONFIG_NAME:
        return {}
    user = plain(base.positions, str_keys=True)
    return dict(user) if isinstance(user, dict) else {}


def propose(root: Path) -> Proposal:
    """Read the repository at ``root`` and infer its configuration."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory")
    base = _base_config(root)
    model = build(root, base)
    apps = [a for a in model.applications]
    remote_url, remote_branch, head_branch = read_git(root)
    appsets = [o for o in model.kind("ApplicationSet") if o.api_version.startswith("argoproj.io/")]
    refs = appset_git_urls(model)
    url = _repo_url(model, remote_url, bool(refs))
    # every fact below answers for the proposed URL ("which sources read this repository")
    model = with_repo_url(model, url.value)
    apps = list(model.applications)
    branch = _branch(model, apps, url.value, head_branch, remote_branch, refs)
    parents = _parents(model, apps, url.value)
    layers, layers_why = _layers(model, apps, parents)
    label, tiers, app_tier = _tiers(model, apps, url.value)
    for g in layers:
        _namespaces(g, layers)
        _layer_tier(g, app_tier)
        _owns(model, g, apps, url.value)
    _forbid(layers)
    overrides: dict[str, str] = {}
    for g in layers:
        for child in g.children:
            tier = app_tier.get(child.name)
            if tier and g.tier and tier != g.tier and _NAME.fullmatch(child.name or ""):
                overrides[child.name] = tier
    daemonsets = _daemonsets(model, apps, url.value) if label is not None else {}
    templates = _templates(model)
    rules = _rule_settings(model, apps, parents, layers, appsets)
    rules.update(_node_tier_off(label))
    crds = list(model.kind("CustomResourceDefinition"))
    crd_files = sorted({o.path for o in crds})
    crds_why = (f"{len(crds)} CustomResourceDefinitions in {len(crd_files)} files of the repository "
                "validate their custom resources without being listed" if crds else
                "no CustomResourceDefinition in the repository: custom resources of other CRDs are "
                "reported as unknown kinds unless crds lists them")
    return Proposal(root=root, argocd_namespace=_argocd_namespace(apps, appsets), repo_url=url, branch=branch,
                    layers=layers, layers_why=layers_why, tier_label=label, tiers=tiers, app_tiers=overrides,
                    daemonsets=daemonsets,
                    crds=crds_why, applications=len(apps), applicationsets=len(appsets), kept=_kept(base),
                    templates=templates, rules=rules)


def read_git(root: Path) -> tuple[str | None, str | None, str | None]:
    """(origin's URL without credentials, the branch the checkout tracks, the branch HEAD is on),
    read from ``.git/config`` and ``.git/HEAD`` as text. Only a real ``.git`` directory of the
    repository is read (a ``.git`` file or link could point anywhere)."""
    git = root / ".git"
    if git.is_symlink() or not git.is_dir():
        return None, None, None
    config_text = _small_text(git / "config")
    head_text = _small_text(git / "HEAD")
    head = None
    if head_text:
        m = re.match(r"ref:\s*refs/heads/(\S+)", head_text.strip())
        head = m.group(1) if m else None
    sections = _git_sections(config_text or "")
    remotes = {name: values for (kind, name), values in sections.items() if kind == "remote"}
    chosen = "origin" if "origin" in remotes else (sorted(remotes)[0] if remotes else None)
    url = remotes[chosen].get("url") if chosen else None
    tracked = None
    if head:
        merge = sections.get(("branch", head), {}).get("merge")
        if merge and merge.startswith("refs/heads/"):
            tracked = merge[len("refs/heads/"):]
    return (strip_credentials(url) if url else None), tracked, head


def _small_text(path: Path) -> str | None:
    from .model import TooBig, read_bytes

    try:
        return read_bytes(str(path), _GIT_FILE_LIMIT).decode("utf-8", "replace")
    except (OSError, TooBig):
        return None


def _git_sections(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """The ``[kind "name"]`` sections of a git config file and their ``key = value`` lines."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r'\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]', line)
        if m:
            current = out.setdefault((m.group(1).lower(), m.group(2) or ""), {})
            continue
        if current is not None and "=" in line:
            key, _, value = line.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            current.setdefault(key.strip().lower(), value)
    return out


norm_url = url_key  # the model's comparison of repository URLs, under adopt's older name


def _git_sources(model: RepoModel, apps: Iterable[Application]) -> list[tuple[Application, AppSource]]:
    """Sources that read a path of a git repository whose path exists here (this repository's, by
    every appearance)."""
    out = []
    for app in apps:
        for s in app.sources:
            if s.chart is None and s.path is not None and s.repo_url and model.exists(s.path):
                out.append((app, s))
    return out


def _repo_url(model: RepoModel, remote: str | None, appsets: bool) -> Observed:
    """repo.url: the model's implied URL of this repository (:func:`implied_repo`), and why."""
    guess = implied_repo(model, remote or "")  # "": no remote (not the configuration's)
    total = sum(guess.votes.values())
    what = "sources whose path exists here" + (" and ApplicationSet git URLs" if appsets else "")
    if guess.from_remote:
        n = guess.votes.get(guess.key, 0)
        return Observed(guess.url, f"the git remote; {n} of {total} {what} read it")
    if guess.url is not None:
        n = guess.votes.get(guess.key, 0)
        extra = f" (the git remote is {remote}: a fork or a mirror?)" if remote else ""
        return Observed(guess.url, f"{n} of {total} {what} read this URL{extra}")
    if remote:
        return Observed(remote, "the git remote (no Application reads a path of this repository)")
    return Observed(None, "no git remote and no Application source with a path that exists here")


def _branch(model: RepoModel, apps: list[Application], url: str | None, head: str | None,
            tracked: str | None, refs: list[tuple[str, str | None]]) -> Observed:
    revs: Counter[str] = Counter()
    found: list[Any] = []
    for _, s in _git_sources(model, apps):
        if url is None or norm_url(s.repo_url or "") == norm_url(url):
            found.append(s.target_revision)
    found += [rev for u, rev in refs if url is None or norm_url(u) == norm_url(url)]
    for rev in found:
        if isinstance(rev, str) and rev.strip() not in ("", "HEAD") and "{{" not in rev:
            revs[rev.strip()] += 1
    total = len(found)
    git_branch = tracked or head
    if revs:
        top, n = revs.most_common(1)[0]
        return Observed(top, f"{n} of {total} sources of this repository read revision {top}")
    if git_branch:
        what = f"{total} sources of this repository read HEAD (its default branch); " if total else ""
        return Observed(git_branch, f"{what}the checkout is on {git_branch}")
    default = config_mod.defaults().branch
    return Observed(default, f"no targetRevision and no git checkout: the default {default}")


def _argocd_namespace(apps: list[Application], appsets: list[K8sObject]) -> Observed:
    seen: Counter[str] = Counter()
    missing = 0
    objs = [a.obj for a in apps] + appsets
    for obj in objs:
        ns = obj.metadata.get("namespace")
        if isinstance(ns, str) and ns:
            seen[ns] += 1
        else:
            missing += 1
    total = len(objs)
    what = "Applications and ApplicationSets" if appsets else "Applications"
    tail = f"; {missing} have no metadata.namespace (applied with -n)" if missing and seen else ""
    if not seen:
        if not total:
            return Observed(ARGOCD_DEFAULT_NAMESPACE, "no Application or ApplicationSet in the repository: "
                            "ArgoCD's default")
        return Observed(ARGOCD_DEFAULT_NAMESPACE, f"none of {total} {what} names a namespace (applied with "
                        "-n): ArgoCD's default")
    ranked = [ns for ns, _ in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])) if _NAME.fullmatch(ns)]
    parts = ", ".join(f"{n} of {total} {what} are in namespace {ns}" for ns, n in
                      sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])))
    if not ranked:
        return Observed(ARGOCD_DEFAULT_NAMESPACE, f"{parts}: none a valid name{tail}")
    return Observed(ranked[0] if len(ranked) == 1 else ranked, parts + tail)


# --- the app-of-apps tree --------------------------------------------------------------------------

def _delivered_apps(model: RepoModel, app: Application, url: str | None) -> list[Application]:
    """The Applications of this repository that ``app``'s sources deliver (directory and kustomize
    sources; a Helm chart's templates are not rendered here)."""
    from .checks import _kustomize

    by_obj = model.memo.get("adopt_app_of_obj")
    if by_obj is None:
        by_obj = model.memo["adopt_app_of_obj"] = {id(a.obj): a for a in model.applications}
    out: list[Application] = []
    for s in app.sources:
        if url is not None and s.repo_url and norm_url(s.repo_url) != norm_url(url):
            continue
        for obj in _kustomize.delivered(model, app, s) or ():
            child = by_obj.get(id(obj))
            if child is not None and child is not app and child not in out:
                out.append(child)
    return out


def _parents(model: RepoModel, apps: list[Application], url: str | None) -> dict[int, Application]:
    """id(child) -> the Application that deploys it (the first, in file order, when several do)."""
    parents: dict[int, Application] = {}
    for app in sorted(apps, key=lambda a: (a.path, a.obj.doc)):
        for child in _delivered_apps(model, app, url):
            parents.setdefault(id(child), app)
    return parents


def _depth(app: Application, parents: dict[int, Application]) -> int:
    depth, seen = 0, {id(app)}
    while id(app) in parents:
        app = parents[id(app)]
        if id(app) in seen:
            break  # two Applications deploying each other: a cycle, not a deeper tree
        seen.add(id(app))
        depth += 1
    return depth


def _layers(model: RepoModel, apps: list[Application], parents: dict[int, Application]
            ) -> tuple[list[LayerGuess], str]:
    is_parent = {id(p) for p in parents.values()}
    roots = [a for a in apps if id(a) not in parents]
    groups: dict[int, list[Application]] = {}
    for app in apps:
        if id(app) in parents and id(app) not in is_parent:
            groups.setdefault(id(parents[id(app)]), []).append(app)
    by_id = {id(a): a for a in apps}
    guesses: list[LayerGuess] = []
    taken: dict[str, LayerGuess] = {}
    for pid, children in groups.items():
        parent = by_id[pid]
        dirs = Counter(posixpath.dirname(c.path) for c in children)
        common = posixpath.commonpath(list(dirs)) if dirs else ""
        directory = common or dirs.most_common(1)[0][0]
        if not directory:
            continue  # children at the top level: no directory can hold the layer
        outside = sum(n for d, n in dirs.items() if not (d == directory or d.startswith(directory + "/")))
        if directory in taken:
            taken[directory].notes.append(f"{parent.label} also deploys Applications of {directory}/")
            continue
        wave_value = parent.wave
        wave = str(wave_value).strip() if wave_value is not None else "0"
        wave = wave if _WAVE.fullmatch(wave) else "0"
        why = (f"{parent.label} ({parent.path}) deploys {len(children)} Application"
               f"{'s' if len(children) != 1 else ''} of {directory}/")
        if outside:
            why += f" ({outside} outside it)"
        g = LayerGuess(name="", dir=directory, root=parent, children=children, depth=_depth(parent, parents),
                       wave=wave, why=why, band=_band(children))
        taken[directory] = g
        guesses.append(g)
    guesses.sort(key=lambda g: (g.depth, int(g.wave), g.root.path))
    used: set[str] = set()
    for g in guesses:
        g.name = _layer_name(g.dir, used)
    n_roots = len(roots)
    if not guesses:
        why = (f"no Application deploys another one ({len(apps)} Applications, {n_roots} applied by hand): "
               "no app-of-apps tree, so no layers")
    else:
        why = (f"{n_roots} of {len(apps)} Applications are deployed by no other "
               f"({', '.join(sorted(a.label for a in roots)[:5])}{', ...' if n_roots > 5 else ''}); "
               f"{len(guesses)} parent Application{'s' if len(guesses) != 1 else ''} deploy the others, "
               "one layer each, in tree order then sync wave")
    return guesses, why


def _layer_name(directory: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", posixpath.basename(directory).lower()).strip("-")[:50] or "layer"
    name, i = base, 2
    while name in used:
        name, i = f"{base}-{i}", i + 1
    used.add(name)
    return name


def _band(children: list[Application]) -> tuple[int, int] | None:
    """The child wave band: a single-digit band around the waves in use (-10..0 when every child
    syncs at or before wave 0 and some before it, else 0..9), widened to the waves seen."""
    waves = []
    for child in children:
        w = child.wave
        text = str(w).strip() if isinstance(w, (str, int)) and not isinstance(w, bool) else None
        if text is not None and _WAVE.fullmatch(text):
            waves.append(int(text))
    if not waves:
        return None
    lo, hi = min(waves), max(waves)
    if lo < 0 and hi <= 0:
        return min(lo, -10), 0
    return min(lo, 0), max(hi, 9)


# --- namespaces ------------------------------------------------------------------------------------

def _suffix(ns: str) -> str | None:
    return "-" + ns.rsplit("-", 1)[1] if "-" in ns.strip("-") else None


def _namespaces(g: LayerGuess, layers: list[LayerGuess]) -> None:
    """Suffixes only when the layer follows them: every namespace of its Applications (other than
    Kubernetes' and ArgoCD's own) ends in a suffix that at least two of them share."""
    names = sorted({ns for c in g.children if (ns := c.dest_namespace)})
    argo_ns = {str(c.obj.metadata.get("namespace")) for c in g.children}
    shared = [ns for ns in names if ns in _SHARED_NAMESPACES or ns in argo_ns]
    own = [ns for ns in names if ns not in shared]
    counts = Counter(s for ns in own if (s := _suffix(ns)))
    common = {s for s, n in counts.items() if n >= 2}
    if len(own) >= 2 and common and all(_suffix(ns) in common for ns in own):
        g.suffixes = sorted(common, key=lambda s: (-counts[s], s))
        g.allow = shared
        g.notes.append(f"{len(own)} of {len(own)} namespaces end in {' or '.join(g.suffixes)}"
                       + (f" (besides {', '.join(shared)})" if shared else ""))
    elif names:
        g.notes.append(f"{len(names)} namespaces, no suffix shared by all: none required")


def _forbid(layers: list[LayerGuess]) -> None:
    """A layer without suffixes forbids the others' suffixes when none of its namespaces uses them."""
    if not any(g.suffixes for g in layers):
        return
    for g in layers:
        if g.suffixes:
            continue
        names = {ns for c in g.children if (ns := c.dest_namespace)}
        others = sorted({s for o in layers for s in o.suffixes})
        if names and not any(ns.endswith(s) for ns in names for s in others):
            g.forbid = others
            g.notes.append(f"none of its {len(names)} namespaces ends in {' or '.join(others)} (other layers' "
                           "suffixes): forbidden here")


# --- tiers -----------------------------------------------------------------------------------------

def _selectors(node: Any) -> Iterable[YMap]:
    """Every ``nodeSelector`` mapping below ``node`` (iterative: a deep document cannot overflow)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, YMap):
            for key, value in current.items():
                if key == "nodeSelector" and isinstance(value, YMap):
                    yield value
                elif isinstance(value, (YMap, YSeq)):
                    stack.append(value)
        elif isinstance(current, YSeq):
            stack.extend(v for v in current if isinstance(v, (YMap, YSeq)))


def _app_files(model: RepoModel, app: Application) -> list[str]:
    """The files of this repository an Application reads: below its source paths, its value files."""
    index = model.memo.get("adopt_files_below")
    if index is None:
        index = model.memo["adopt_files_below"] = {}
        for rel in model.files:
            parts = rel.split("/")[:-1]
            for depth in range(0, len(parts) + 1):
                index.setdefault("/".join(parts[:depth]), []).append(rel)
    out: list[str] = []
    for s in app.sources:
        if s.chart is None and s.path is not None and reads_this_repo(model, s):
            base = posixpath.normpath(s.path.strip("/")) if s.path.strip("/") else ""
            base = "" if base == "." else base
            if not base.startswith(".."):
                out.extend(index.get(base, ()) if base else ())  # the whole repository is no app's
        # the model built for the proposed URL resolves them (``$ref/...`` included)
        out.extend(vf.rel for vf in value_files(model, app, s) if vf.rel in model.files)
    bundle = model.bundles.get(app.name) if app.name else None
    if bundle is not None:  # the configured bundle layout (apps/helm/<app>, apps/manifests/<app>)
        for d in (bundle.helm_dir, bundle.manifests_dir):
            if d:
                out.extend(index.get(d, ()))
    return out


def _tiers(model: RepoModel, apps: list[Application], url: str | None
           ) -> tuple[Observed | None, Observed | None, dict[str, str]]:
    keys: Counter[str] = Counter()
    values: dict[str, Counter[str]] = {}
    for sf in model.files.values():
        for doc in sf.documents:
            if isinstance(doc.data, YMap) and doc.data.get("kind") == "CustomResourceDefinition":
                continue  # its schema has a nodeSelector property, not a selection
            for sel in _selectors(doc.data):
                for k, v in sel.items():
                    if isinstance(k, str) and isinstance(v, str) and k not in _NOT_TIER_LABELS and v:
                        keys[k] += 1
                        values.setdefault(k, Counter())[v] += 1
    # a tier label has tiers: one value everywhere pins a host, it does not choose a tier
    candidates = [(n, k) for k, n in keys.items()
                  if n >= 2 and len(values[k]) >= 2 and not k.endswith("/hostname")]
    if not candidates:
        return None, None, {}
    n, label = max(candidates, key=lambda t: (t[0], t[1]))
    tiers = sorted(values[label])
    label_obs = Observed(label, f"{n} nodeSelectors select on {label}")
    tiers_obs = Observed(tiers, ", ".join(f"{t}: {values[label][t]}" for t in tiers) + " nodeSelectors")
    app_tier: dict[str, str] = {}
    for app in apps:
        seen: Counter[str] = Counter()
        for rel in _app_files(model, app):
            for doc in model.files[rel].documents:
                for sel in _selectors(doc.data):
                    v = sel.get(label)
                    if isinstance(v, str) and v in tiers:
                        seen[v] += 1
        if seen and app.name:
            app_tier[app.name] = seen.most_common(1)[0][0]
    return label_obs, tiers_obs, app_tier


# Charts whose main workload is a DaemonSet (a node agent): it runs on every node, whatever the tier.
_DAEMONSET_CHARTS = frozenset({"promtail", "fluent-bit", "fluentd", "metallb", "longhorn", "cilium", "calico",
                               "tigera-operator", "prometheus-node-exporter", "node-exporter", "kube-vip",
                               "alloy", "grafana-agent", "falco", "csi-driver-nfs", "nvidia-device-plugin",
                               "intel-device-plugins-operator", "node-feature-discovery", "kured", "vector-agent"})


def _daemonsets(model: RepoModel, apps: list[Application], url: str | None) -> dict[str, str]:
    """Apps that run on every node (their workloads need no tier): a DaemonSet among their
    objects, ``kind: DaemonSet`` in their chart values, or a chart known as a node agent."""
    out: dict[str, str] = {}
    for app in apps:
        if not app.name or not _NAME.fullmatch(app.name):
            continue
        charts = [c for s in app.sources if (c := s.chart)]
        known = [c for c in charts if c in _DAEMONSET_CHARTS]
        if known:
            out[app.name] = f"chart {known[0]} is a node agent"
            continue
        for rel in _app_files(model, app):
            if any(_holds_daemonset(doc.data) for doc in model.files[rel].documents):
                out[app.name] = f"{rel} runs a DaemonSet"
                break
    return out


def _holds_daemonset(node: Any) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, YMap):
            if current.get("kind") == "DaemonSet":
                return True
            stack.extend(v for v in current.values() if isinstance(v, (YMap, YSeq)))
        elif isinstance(current, YSeq):
            stack.extend(v for v in current if isinstance(v, (YMap, YSeq)))
    return False


def _layer_tier(g: LayerGuess, app_tier: dict[str, str]) -> None:
    """The tier most of the layer's Applications select, when more than half select one."""
    seen = Counter(app_tier[c.name] for c in g.children if c.name in app_tier)
    if not seen:
        return
    tier, n = seen.most_common(1)[0]
    if n * 2 > len(g.children):
        g.tier = tier
        g.notes.append(f"{n} of {len(g.children)} Applications select tier {tier}")
    else:
        g.notes.append(f"only {n} of {len(g.children)} Applications select tier {tier}: no layer tier")


def _owns(model: RepoModel, g: LayerGuess, apps: list[Application], url: str | None) -> None:
    """Each app owns its namespace when every namespace of the layer belongs to one app only and
    most of the layer's apps ship a NetworkPolicy (the convention network-policy then enforces)."""
    users = Counter(ns for a in apps if (ns := a.dest_namespace))
    names = [c.dest_namespace for c in g.children]
    if not names or any(ns is None or users[ns] != 1 for ns in names):
        return
    policy_files = {o.path for o in model.kind("NetworkPolicy")}
    with_policy = sum(1 for child in g.children if any(rel in policy_files for rel in _app_files(model, child)))
    if with_policy * 2 > len(g.children):
        g.owns = True
        g.notes.append(f"each of its {len(names)} apps has a namespace of its own; {with_policy} ship a NetworkPolicy")


# --- output ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LintCount:
    """Findings of one lint run, by severity, or the error that stopped it."""

    errors: int = 0
    warnings: int = 0
    infos: int = 0
    failure: str | None = None

    @property
    def total(self) -> int:
        return self.errors + self.warnings + self.infos

    def __str__(self) -> str:
        if self.failure:
            return f"not run ({self.failure})"
        return f"{self.total} findings ({self.errors} errors, {self.warnings} warnings, {self.infos} info)"


def lint_count(root: Path, config_file: str | None = None) -> LintCount:
    """Lint ``root`` in-process (no cache written: the repository may not be ours to write to)."""
    from . import api

    try:
        report = api.lint(root=root, config_file=config_file, use_cache=False)
    except UsageError as exc:
        return LintCount(failure=str(exc))
    c = report.counts()
    return LintCount(c["error"], c["warning"], c["info"])


def render(p: Proposal, before: LintCount | None = None, after: LintCount | None = None) -> str:
    """The proposal as YAML, a comment on each key saying what it was inferred from."""
    import io

    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from .yamlio import _round_trip

    def cmap(pairs: dict[str, Any]) -> CommentedMap:
        out = CommentedMap()
        for k, v in pairs.items():
            out[k] = cmap(v) if isinstance(v, dict) else (flow(v) if isinstance(v, list) else v)
        return out

    def flow(items: list) -> CommentedSeq:
        seq = CommentedSeq(items)
        if all(not isinstance(i, (dict, list)) for i in items):
            seq.fa.set_flow_style()
        return seq

    from .yamlio import plain

    data = plain(p.data(), str_keys=True)  # repository strings may be position-carrying subclasses
    doc = CommentedMap()
    for key in ("version", "argocd_namespace", "repo", "tier_label", "tiers"):
        if key in data:
            doc[key] = cmap(data[key]) if isinstance(data[key], dict) else (
                flow(data[key]) if isinstance(data[key], list) else data[key])
    layers = CommentedSeq()
    for g, item in zip(p.layers, data["layers"]):
        m = cmap(item)
        m.yaml_set_start_comment("\n".join([g.why, *g.notes]), indent=2)
        layers.append(m)
    doc["layers"] = layers
    doc["apps"] = cmap(data["apps"])
    extra = [k for k in data if k not in doc]
    for key in extra:
        value = data[key]
        doc[key] = cmap(value) if isinstance(value, dict) else (flow(value) if isinstance(value, list) else value)

    def say(key: str, text: str, parent: CommentedMap = doc, indent: int = 0) -> None:
        parent.yaml_set_comment_before_after_key(key, before=text, indent=indent)

    say("argocd_namespace", p.argocd_namespace.why)
    say("repo", "the repository every Application's own sources must read")
    say("url", p.repo_url.why, doc["repo"], 2)
    say("branch", p.branch.why, doc["repo"], 2)
    if "tier_label" in doc:
        say("tier_label", p.tier_label.why if p.tier_label else "")
        say("tiers", p.tiers.why if p.tiers else "")
    say("layers", p.layers_why)
    n_over = len(p.app_tiers)
    say("apps", "the shipped per-app settings describe the seed's apps: null drops them"
        + ("; the current file's entries are kept" if p.kept.get("apps") else "")
        + (f"; {n_over} app{'s' if n_over != 1 else ''} select another tier than their layer" if n_over else "")
        + "".join(f"\n{name}: daemonset, {why}" for name, why in sorted(p.daemonsets.items())))
    if "rules" in doc:
        for rid, obs in sorted(p.rules.items()):
            if rid in doc["rules"]:
                say(rid, obs.why, doc["rules"], 2)
    if "exclude" in doc and p.templates:
        say("exclude", f"{len(p.templates)} templated file(s) or folder(s) that are not YAML until rendered "
            "(Jinja, Go, cookiecutter)")
    if extra and not (extra[0] == "exclude" and p.templates):
        say(extra[0], f"kept from the current {CONFIG_NAME}")
    header = ["# .gitops-kit.yaml proposed by `gitops-kit adopt` (review it: every value is inferred)",
              f"# {p.applications} Applications, {p.applicationsets} ApplicationSets; {p.crds}"]
    if "tier_label" not in doc:
        header.append("# no node label with two values or more in nodeSelectors: no tiers (layers get none)")
    if before is not None:
        header.append(f"# lint with the current configuration: {before}")
    if after is not None:
        header.append(f"# lint with this proposal:            {after}")
    buf = io.StringIO()
    rt = _round_trip()
    rt.dump(doc, buf)
    return "\n".join(header) + "\n" + buf.getvalue()


def proposal_text(root: Path, with_counts: bool = True) -> tuple[str, Proposal, LintCount | None, LintCount | None]:
    """The rendered proposal for ``root``, with the lint counts before and after it when asked."""
    import tempfile

    p = propose(root)
    if not with_counts:
        return render(p), p, None, None
    before = lint_count(p.root)
    fd, tmp = tempfile.mkstemp(prefix="gitops-kit-adopt-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(render(p))
        after = lint_count(p.root, tmp)
    finally:
        os.unlink(tmp)
    return render(p, before, after), p, before, after


def write(root: Path, text: str, force: bool) -> Path:
    """Write the proposal to ``root/.gitops-kit.yaml`` atomically; an existing file only with ``force``."""
    from .safepaths import jail
    from .yamlio import atomic_write

    target = jail(root, CONFIG_NAME, "configuration")
    if os.path.lexists(target) and not force:
        raise UsageError(f"{CONFIG_NAME} exists: not overwritten (--force replaces it)", str(target))
    atomic_write(target, text, overwrite=force, root=root)
    return target
