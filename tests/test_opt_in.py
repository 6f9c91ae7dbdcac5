"""Opting into the seed's conventions (issue 17, "never cries wolf"): a rule, or a kind of finding,
that judges a convention of the seed layout is at most a warning in a repository that has neither
a .gitops-kit.yaml nor the seed's layout; with either, the configured severities apply as before.

Each test builds a small synthetic repository twice: without a configuration (conventions not
opted into) and with a .gitops-kit.yaml (opted in), and compares the severities per rule."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from gitops_kit import adopt, catalog, config, engine, model
from gitops_kit.cli import main
from gitops_kit.findings import Severity
from gitops_kit.yamlio import load_text, plain

from helpers import run_lint

URL = "https://github.com/someone/stranger.git"

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
{annotations}spec:
  project: default
  destination: {{server: https://kubernetes.default.svc, namespace: {dest}}}
  source:
    repoURL: {url}
    targetRevision: HEAD
    path: {path}
  syncPolicy:
    automated: {{prune: true, selfHeal: {heal}}}
"""


def app(name: str, path: str = "apps/x", dest: str = "x", ns: str = "argocd", heal: str = "true",
        annotations: str = "") -> str:
    return APP.format(name=name, ns=ns, dest=dest, url=URL, path=path, heal=heal, annotations=annotations)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def severities(root: Path, rule: str, **kwargs) -> dict[str, str]:
    """message -> severity of ``rule``'s findings on ``root``."""
    return {f.message: str(f.severity) for f in run_lint(root, use_cache=False, **kwargs).findings if f.rule == rule}


def twice(tmp_path: Path, files: dict[str, str], rule: str, cfg: str = "version: 1\n"
          ) -> tuple[dict[str, str], dict[str, str]]:
    """``rule``'s findings on the repository without, then with a .gitops-kit.yaml."""
    root = write(tmp_path / "repo", files)
    without = severities(root, rule)
    (root / ".gitops-kit.yaml").write_text(cfg)
    return without, severities(root, rule)


# --- who opts in ------------------------------------------------------------------------------------

@pytest.mark.parametrize("files,opted", [
    ({"deploy/a.yaml": "a: 1\n"}, False),
    ({".gitops-kit.yaml": "version: 1\n"}, True),
    ({"argo/root-apps.yaml": "a: 1\n"}, True),  # a layer root of the seed
    ({"argo/apps/demo-app.yaml": "a: 1\n"}, True),  # an Application of a seed layer (a seed without roots)
    ({"argo/platform/sub/x.yml": "a: 1\n"}, True),
    ({"argo/README.md": "x\n", "argo/other/a.yaml": "a: 1\n"}, False),  # argo/ alone is not the layout
])
def test_who_opts_into_the_conventions(tmp_path, files, opted):
    root = write(tmp_path / "repo", files)
    cfg = config.load(root)
    assert cfg.conventions is opted, cfg.conventions_why
    assert cfg.convention_severity == (None if opted else Severity.WARNING)


def test_an_explicit_configuration_file_opts_in(tmp_path):
    root = write(tmp_path / "repo", {"deploy/a.yaml": "a: 1\n"})
    other = write(tmp_path / "elsewhere", {"cfg.yaml": "version: 1\n"}) / "cfg.yaml"
    assert config.load(root, other).conventions is True


# --- one rule family each: warnings without opting in, today's errors with a configuration ----------

def test_automated_sync(tmp_path):
    without, with_cfg = twice(tmp_path, {"deploy/a.yaml": app("a", heal="false"), "apps/x/cm.yaml": "a: 1\n"},
                              "automated-sync")
    assert set(without.values()) == {"warning"} and set(with_cfg.values()) == {"error"}
    assert set(without) == set(with_cfg)


def test_layout_conventions_are_warnings_and_a_missing_path_stays_an_error(tmp_path):
    files = {"deploy/a.yaml": app("a", path="apps/a", ns="argocd"),
             "deploy/b.yaml": app("b", path="apps/gone", ns="argocd"),
             "apps/a/cm.yaml": "a: 1\n"}
    without, with_cfg = twice(tmp_path, files, "layout", cfg=f"repo: {{url: {URL}}}\n")
    missing = [m for m in without if "does not exist in this repository" in m]
    assert missing and all(without[m] == "error" for m in missing)  # a breakage: the sync fails
    conventions = {m: s for m, s in without.items() if m not in missing}
    # the seed's roots, its argocd-system namespace, its layer directories
    assert any("root Application of layer" in m for m in conventions)
    assert any("not 'argocd-system'" in m for m in conventions)
    assert any("no root deploys it" in m for m in conventions)
    assert set(conventions.values()) == {"warning"}
    assert set(with_cfg) == set(without) and set(with_cfg.values()) == {"error"}


def test_helm_pattern_version_pin_is_a_convention_a_dangling_ref_is_not(tmp_path):
    chart_app = textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: web, namespace: argocd}}
        spec:
          project: default
          destination: {{server: https://kubernetes.default.svc, namespace: web}}
          syncPolicy: {{automated: {{prune: true, selfHeal: true}}}}
          sources:
            - repoURL: https://charts.example.com
              chart: web
              targetRevision: 1.*
              helm: {{valueFiles: [$values/web/values.yaml]}}
            - repoURL: {URL}
              targetRevision: HEAD
              ref: vals
        """)
    without, with_cfg = twice(tmp_path, {"deploy/web.yaml": chart_app, "web/values.yaml": "a: 1\n"}, "helm-pattern")
    version = next(m for m in without if "not an exact version" in m)
    ref = next(m for m in without if "$values" in m)
    assert (without[version], without[ref]) == ("warning", "error")
    assert (with_cfg[version], with_cfg[ref]) == ("error", "error")


DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      nodeSelector: {{example.com/role: {tier}}}
      containers: [{{name: web, image: "nginx:1.27.0"}}]
"""


def test_node_tier(tmp_path):
    without, with_cfg = twice(tmp_path, {"deploy/web.yaml": DEPLOY.format(replicas=1, tier="gpu")}, "node-tier")
    assert without and set(without.values()) == {"warning"}
    assert set(with_cfg) == set(without) and set(with_cfg.values()) == {"error"}


def test_topology_spread_is_a_warning_either_way(tmp_path):
    without, with_cfg = twice(tmp_path, {"deploy/web.yaml": DEPLOY.format(replicas=3, tier="worker")},
                              "topology-spread")
    assert without and without == with_cfg and set(without.values()) == {"warning"}


def test_sync_wave_ordering_is_a_convention_an_unquoted_wave_is_not(tmp_path):
    # vault-ha must come after vault-transit: an ordering of the shipped defaults (the seed's apps)
    files = {"deploy/vault-ha.yaml": app("vault-ha", path="apps/x",
                                         annotations="  annotations: {argocd.argoproj.io/sync-wave: 1}\n"),
             "apps/x/cm.yaml": "a: 1\n"}
    without, with_cfg = twice(tmp_path, files, "sync-wave")
    after = next(m for m in without if "must come after 'vault-transit'" in m)
    unquoted = next(m for m in without if "unquoted number" in m)
    assert (without[after], without[unquoted]) == ("warning", "error")
    assert (with_cfg[after], with_cfg[unquoted]) == ("error", "error")


LAYERED_CFG = """\
argocd_namespace: argocd
layers:
  - name: apps
    dir: deploy/apps
    root: deploy/root.yaml
    wave: "0"
    child_waves: {min: 0, max: 9}
    namespace: {suffixes: ["-app"], allow: [], forbid_suffixes: []}
    owns_namespaces: true
"""


@pytest.mark.parametrize("rule,breakage", [
    ("namespace-suffix", "not a valid namespace name"),
    ("one-app-per-namespace", None),
    ("network-policy", None),
    ("resource-quota", None),
    ("sync-wave", None),
])
def test_layer_conventions(tmp_path, rule, breakage):
    """The layer rules judge Applications of a layer. Without a configuration the layers are the
    seed's (argo/<layer>/), whose presence opts in: a stranger's repository has nothing for them
    to judge. Their severity is decided all the same: on the layered repository with its
    configuration, the findings are errors; with the conventions off, warnings (an invalid
    namespace name, which breaks the sync, stays an error)."""
    files = {"deploy/root.yaml": app("root", path="deploy/apps", dest="argocd"),
             "deploy/apps/a-app.yaml": app("a", path="apps/a", dest="shared-app",
                                           annotations="  annotations: {argocd.argoproj.io/sync-wave: \"12\"}\n"),
             "deploy/apps/b-app.yaml": app("b", path="apps/b", dest="shared-app"),
             "deploy/apps/c-app.yaml": app("c", path="apps/c", dest="Bad_Name"),
             "deploy/apps/d-app.yaml": app("d", path="apps/d", dest="plain"),
             "apps/a/cm.yaml": "a: 1\n", "apps/b/cm.yaml": "a: 1\n", "apps/c/cm.yaml": "a: 1\n",
             "apps/d/cm.yaml": "a: 1\n"}
    root = write(tmp_path / "repo", files)
    assert not severities(root, rule)  # no configuration: no layer here, nothing to judge
    (root / ".gitops-kit.yaml").write_text(LAYERED_CFG)
    cfg = config.load(root)
    assert cfg.conventions
    opted = _run(root, cfg, rule)
    assert opted and set(opted.values()) == {"error"}, opted
    cfg.conventions = False  # the same repository and layers, conventions not opted into
    lowered = _run(root, cfg, rule)
    assert set(lowered) == set(opted)
    assert "warning" in lowered.values()
    for message, severity in lowered.items():
        assert severity == ("error" if breakage and breakage in message else "warning"), message


def _run(root: Path, cfg: config.Config, rule: str) -> dict[str, str]:
    repo = model.build(root, cfg)
    result = engine.run(repo, [catalog.load()[rule]])
    return {f.message: str(f.severity) for f in result.findings if f.rule == rule}


# --- explicit severities, rules --format json, the summary ---------------------------------------------

def test_an_explicit_severity_always_wins(tmp_path):
    root = write(tmp_path / "repo", {"deploy/a.yaml": app("a", heal="false"), "apps/x/cm.yaml": "a: 1\n"})
    cfg = config.load(root)
    spec = catalog.load()["automated-sync"]
    assert catalog.severity_override(spec, cfg) == "warning"
    cfg.data["rules"] = {"automated-sync": {"severity": "error"}}
    assert catalog.severity_override(spec, cfg) == "error"
    other = write(tmp_path / "cfg", {"c.yaml": "rules:\n  automated-sync: {severity: info}\n"}) / "c.yaml"
    assert set(severities(root, "automated-sync", config_file=str(other)).values()) == {"info"}
    # a rule that is no convention keeps its severity without a configuration
    assert catalog.severity_override(catalog.load()["plaintext-secret"], config.load(root)) is None


def test_rules_json_shows_the_effective_severity(tmp_path, capsys, monkeypatch):
    root = write(tmp_path / "repo", {"deploy/a.yaml": "a: 1\n"})
    monkeypatch.chdir(root)
    assert main(["rules", "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    sync = rows["automated-sync"]
    assert (sync["severity"], sync["default_severity"], sync["convention"]) == ("warning", "error", "yes")
    layout = rows["layout"]
    assert (layout["severity"], layout["convention"], layout["convention_severity"]) == ("error", "partly", "warning")
    assert "roots" in layout["convention_kinds"] and "paths_exist" not in layout["convention_kinds"]
    assert rows["plaintext-secret"]["severity"] == "error" and rows["plaintext-secret"]["convention"] == "no"
    (root / ".gitops-kit.yaml").write_text("version: 1\n")
    assert main(["rules", "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["automated-sync"]["severity"] == "error" and rows["layout"]["convention_severity"] == "error"


def test_the_summary_says_once_how_to_opt_in(tmp_path, capsys):
    root = write(tmp_path / "repo", {"deploy/a.yaml": app("a", heal="false"),
                                     "deploy/b.yaml": app("b", heal="false"), "apps/x/cm.yaml": "a: 1\n"})
    code = main(["lint", "--root", str(root), "--no-cache", "--select", "automated-sync"])
    out = capsys.readouterr().out
    assert code == 0  # only warnings: CI passes on a repository that never opted in
    hints = [line for line in out.splitlines() if "gitops-kit adopt --write" in line]
    assert len(hints) == 1 and hints[0].startswith("2 finding(s)")
    (root / ".gitops-kit.yaml").write_text("version: 1\n")
    code = main(["lint", "--root", str(root), "--no-cache", "--select", "automated-sync"])
    out = capsys.readouterr().out
    assert code == 1 and "adopt --write" not in out


def test_the_rule_files_say_what_is_a_convention():
    specs = catalog.load()
    for rid in ("automated-sync", "node-tier", "network-policy", "resource-quota", "one-app-per-namespace",
                "topology-spread"):
        assert specs[rid].convention_label == "yes", rid
    for rid in ("layout", "helm-pattern", "sync-wave", "namespace-suffix", "avp-placeholder"):
        assert specs[rid].convention_label == "partly", rid
    for rid in ("plaintext-secret", "retain-policy", "schema", "yaml-syntax", "kustomize-files"):
        assert specs[rid].convention_label == "no", rid
    with pytest.raises(catalog.CatalogError):
        catalog.parse("x.yaml", "id: x\nseverity: error\nsummary: s\ncheck: x\nwhy: w\nfix: f\nexamples: []\n")


# --- adopt -----------------------------------------------------------------------------------------

def _proposed(root: Path) -> tuple[dict, str]:
    text = adopt.proposal_text(root, with_counts=False)[0]
    return plain(load_text(text).documents[0].data, str_keys=True), text


def test_adopt_turns_node_tier_off_without_tiers(tmp_path):
    root = write(tmp_path / "repo", {"deploy/a.yaml": app("a"), "apps/x/cm.yaml": "a: 1\n"})
    got, text = _proposed(root)
    assert got["rules"]["node-tier"] == {"enabled": False}
    assert "no tiers to check" in text


QUOTA = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {{name: q, namespace: {ns}}}\nspec: {{hard: {{pods: '9'}}}}\n"
POLICY = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny, namespace: {ns}}}\n"
          "spec: {{podSelector: {{}}, policyTypes: [Ingress, Egress]}}\n")


def test_adopt_proposes_warnings_for_owned_namespace_conventions_some_apps_skip(tmp_path):
    files = {"clusters/root.yaml": app("root", path="clusters/apps", dest="argocd")}
    for name in ("a", "b", "c"):
        files[f"clusters/apps/{name}.yaml"] = app(name, path=f"apps/{name}", dest=name)
        files[f"apps/{name}/policy.yaml"] = POLICY.format(ns=name) if name != "c" else "a: 1\n"
    files["apps/a/quota.yaml"] = QUOTA.format(ns="a")
    root = write(tmp_path / "repo", files)
    got, text = _proposed(root)
    assert got["layers"][0]["owns_namespaces"] is True  # 2 of 3 ship a NetworkPolicy
    assert got["rules"]["network-policy"] == {"severity": "warning"}
    assert got["rules"]["resource-quota"] == {"severity": "warning"}
    assert "1 of the 3 apps of layers that own their namespaces ship a ResourceQuota" in text
    (root / "apps/a/quota.yaml").unlink()
    got, _ = _proposed(root)
    assert got["rules"]["resource-quota"] == {"enabled": False}
