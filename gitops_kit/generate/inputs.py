"""Input checks for ``init`` and ``new-app``, made before anything is rendered or written.

The conventions are the lint rules' own: DNS-1123 labels, namespace suffixes per layer and exact
chart versions come from :mod:`gitops_kit.checks._apps`, the Vault path of an app from the
``avp-placeholder`` rule's parameters. What only a generator needs (Helm's release-name limit,
names Kubernetes reserves, the shape of a URL or a git branch) is here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..checks._apps import is_dns1123_label, namespace_problem, version_problem
from ..config import Config, LayerSpec
from ..errors import UsageError

# Helm refuses release names longer than 53 characters; an app's release name is its name.
HELM_RELEASE_MAX = 53
# Namespaces Kubernetes creates and owns; an app may deploy into one only where its layer's
# configuration allows it by name (kube-system for bootstrap).
RESERVED = ("default", "kube-system", "kube-public", "kube-node-lease")
PATTERNS = ("multi-source", "umbrella-avp", "kustomize")

_CHART = re.compile(r"[a-z0-9](?:[-a-z0-9._]*[a-z0-9])?")
_URL = re.compile(r"(?:https?|oci)://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~%+@/-]*)?")
_GIT_URL = re.compile(r"(?:(?:https?|ssh|git)://[^\s'\"#<>{}]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s'\"#<>{}]+)")
_BRANCH = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._/-]*")
_DOMAIN = re.compile(r"(?=.{1,253}\Z)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)+")
_LABEL_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
_K8S_VERSION = re.compile(r"1\.[0-9]{1,2}")
_SECRET_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# --tool-source. Its parts land in a CI shell line and in YAML, so only URL characters pass: no
# quote, space, '$', '#' or backtick that could end a string, start a comment or expand.
_URL_CHARS = r"[A-Za-z0-9._~%+/:@=-]"
_TOOL_GIT = re.compile(rf"(?:gitops-kit\s*@\s*)?git\+(?P<url>(?:https?|ssh|git|file)://{_URL_CHARS}+?)"
                       r"@(?P<rev>[A-Za-z0-9_][A-Za-z0-9._/+-]*)")
_TOOL_INDEX = re.compile(rf"gitops-kit==(?P<version>[0-9][A-Za-z0-9.+!-]*)\s+--index-url\s+"
                         rf"(?P<index>https?://{_URL_CHARS}+)")
# What the generated CI installs when init had no --tool-source: not a pip requirement, so pip
# fails on it at once and never asks any index for a project of that name; lint reports it.
TOOL_SOURCE_PLACEHOLDER = "<set me: gitops-kit init --tool-source, see the comment above>"


def app_name(name: str) -> None:
    """An app name is a namespace-safe label, a Helm release name, and not reserved."""
    if not is_dns1123_label(name):
        raise UsageError(f"app name {name!r} is not a DNS-1123 label: lowercase letters, digits and '-', "
                         "starting and ending with a letter or digit, at most 63 characters")
    if len(name) > HELM_RELEASE_MAX:
        raise UsageError(f"app name {name!r} has {len(name)} characters: Helm release names (the app's) "
                         f"may have at most {HELM_RELEASE_MAX}")
    if name in RESERVED:
        raise UsageError(f"app name {name!r} is reserved by Kubernetes")


def namespace(ns: str, spec: LayerSpec) -> None:
    """The namespace is valid for the layer (the namespace-suffix rule's check) and not reserved."""
    problem = namespace_problem(ns, spec)
    if problem:
        raise UsageError(problem)
    if ns in RESERVED and ns not in spec.allow:
        raise UsageError(f"namespace {ns!r} is reserved by Kubernetes: an app gets a namespace of its own")


def default_namespace(name: str, spec: LayerSpec) -> str:
    """NAME for a layer without suffixes (apps), else NAME plus the layer's first suffix."""
    return name + spec.suffixes[0] if spec.suffixes else name


def chart(name: str, repo: str, version: str) -> None:
    """A chart name, a chart repository URL and an exact version (the helm-pattern rule's test)."""
    if not _CHART.fullmatch(name or ""):
        raise UsageError(f"chart name {name!r} is not a Helm chart name (lowercase letters, digits, '-', '.', '_')")
    if not _URL.fullmatch(repo or ""):
        raise UsageError(f"chart repository {repo!r} is not an http(s):// or oci:// URL")
    problem = version_problem(version)
    if problem:
        raise UsageError(f"chart version {version!r} is not an exact version ({problem}): pin one "
                         "MAJOR.MINOR.PATCH release, e.g. 1.2.3")


def wave(value: int, spec: LayerSpec) -> None:
    """A sync wave inside the layer's band (the sync-wave rule's band)."""
    if not spec.wave_min <= value <= spec.wave_max:
        raise UsageError(f"wave {value} is outside layer {spec.name!r}'s band {spec.wave_min}..{spec.wave_max}")


def tier(value: str, cfg: Config) -> None:
    if value not in cfg.tiers:
        raise UsageError(f"tier {value!r} is not one of the configured tiers: {', '.join(cfg.tiers)}")


def secret_keys(keys: list[str]) -> None:
    seen = set()
    for key in keys:
        if not _SECRET_KEY.fullmatch(key) or len(key) > 128:
            raise UsageError(f"secret key {key!r}: letters, digits, '_', '.' and '-' only (a Vault key and a YAML key)")
        if key == "nodeSelector":
            raise UsageError("secret key 'nodeSelector' would replace the chart's nodeSelector")
        if key in seen:
            raise UsageError(f"secret key {key!r} is given twice")
        seen.add(key)


def repo_url(url: str) -> None:
    if not _GIT_URL.fullmatch(url or ""):
        raise UsageError(f"repository URL {url!r} is not a git URL (https://host/group/repo.git or git@host:group/repo.git)")


def branch(name: str) -> None:
    if not _BRANCH.fullmatch(name or "") or ".." in name or name.endswith((".lock", "/", ".")):
        raise UsageError(f"branch {name!r} is not a valid git branch name")


def domain(name: str) -> None:
    if not _DOMAIN.fullmatch(name or ""):
        raise UsageError(f"domain {name!r} is not a DNS name such as example.com")


def tier_label(key: str) -> None:
    """A Kubernetes label key: an optional DNS-subdomain prefix, '/', a name of at most 63 characters."""
    prefix, _, name = key.rpartition("/")
    if (prefix and not _DOMAIN.fullmatch(prefix)) or not _LABEL_NAME.fullmatch(name) or len(name) > 63:
        raise UsageError(f"tier label {key!r} is not a Kubernetes label key such as example.com/role")


def k8s_version(value: str) -> None:
    if not _K8S_VERSION.fullmatch(value or ""):
        raise UsageError(f"Kubernetes version {value!r} is not MAJOR.MINOR, e.g. 1.31")


def vault_path(params: dict[str, Any], layer: str, app: str) -> str:
    """The Vault KV path of ``app``'s secrets, from the avp-placeholder rule's parameters."""
    ref = str((params.get("layer_paths") or {}).get(layer, ""))
    template = ref if "{app}" in ref else params.get(ref)
    if not isinstance(template, str) or "{app}" not in template:
        raise UsageError(f"rule avp-placeholder has no Vault path for layer {layer!r} (params.layer_paths)")
    return template.strip("/").replace("{app}", app)


def kv_cli_path(path: str) -> str:
    """``kv/data/x`` as the ``vault kv`` command spells it (``kv/x``: it adds data/ for KV v2)."""
    mount, sep, rest = path.partition("/data/")
    return f"{mount}/{rest}" if sep and "/" not in mount else path


@dataclass(frozen=True)
class ToolSource:
    """Where the generated CI and pre-commit get gitops-kit from (``init --tool-source``)."""

    requirement: str  # what CI passes to pip install
    index_url: str = ""  # PIP_INDEX_URL of the CI job ("" keeps pip's configured index)
    hook_repo: str = ""  # the pre-commit repo and rev ("": a local hook on PATH)
    hook_rev: str = ""

    @property
    def placeholder(self) -> bool:
        return self.requirement == TOOL_SOURCE_PLACEHOLDER


def tool_source(spec: str | None) -> ToolSource:
    """``--tool-source``: ``git+URL@REV`` (a tag of a gitops-kit repository: CI pip-installs it,
    pre-commit uses that repository's hook at REV) or ``gitops-kit==X.Y.Z --index-url URL`` (an
    internal index: CI installs from it only; pre-commit runs the gitops-kit on PATH).

    No spec gives the placeholder. A bare ``gitops-kit==X.Y.Z`` is refused: installed from the
    public index, whoever registers that name there would run code in every pipeline."""
    if spec is None:
        return ToolSource(TOOL_SOURCE_PLACEHOLDER)
    text = spec.strip()
    m = _TOOL_GIT.fullmatch(text)
    if m and ".." not in m["rev"] and not m["rev"].endswith((".lock", "/", ".")):
        # The bare VCS form: pip reads the name from the package (PEP 508 "name @ git+file:///..." is
        # refused by some pip versions, which want a host in the URL).
        return ToolSource(f"git+{m['url']}@{m['rev']}", hook_repo=m["url"], hook_rev=m["rev"])
    m = _TOOL_INDEX.fullmatch(text)
    if m:
        return ToolSource(f"gitops-kit=={m['version']}", index_url=m["index"])
    raise UsageError(
        f"--tool-source {spec!r}: give git+URL@TAG (e.g. git+https://gitlab.example.com/platform/gitops-kit.git@v0.1.0) "
        "or 'gitops-kit==X.Y.Z --index-url https://your-index/simple' (a version on your internal index; "
        "gitops-kit is not published on the public package index)")
