"""Configuration shapes that describe repositories other than the seed's: no layers, one layer,
several ArgoCD namespaces, excluded paths (issue 17)."""

from __future__ import annotations

import textwrap
import traceback
from pathlib import Path

import pytest

from gitops_kit import config as config_mod
from gitops_kit.errors import UsageError

from helpers import reference_copy, run_lint

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
spec:
  project: default
  destination: {{server: https://kubernetes.default.svc, namespace: {name}}}
  source: {{repoURL: https://git.example.com/ops.git, targetRevision: HEAD, path: {path}}}
"""


def _repo(tmp_path: Path, cfg: str) -> Path:
    (tmp_path / ".gitops-kit.yaml").write_text(textwrap.dedent(cfg))
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "web.yaml").write_text(APP.format(name="web", ns="argocd", path="web"))
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "deploy.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n")
    return tmp_path


def _crashes(report) -> list[str]:
    return [f.message for f in report.findings if f.message.startswith("internal error")]


def test_no_layers_is_accepted_and_every_rule_runs(tmp_path):
    root = _repo(tmp_path, "layers: []\nrepo: {url: https://git.example.com/ops.git, branch: main}\n")
    cfg = config_mod.load(root)
    assert cfg.layers == []
    try:
        report = run_lint(root, use_cache=False)
    except Exception:  # a crash outside the engine's isolation is the bug this test reports
        pytest.fail("lint crashed on layers: []\n" + traceback.format_exc())
    assert _crashes(report) == []
    assert report.rules_run  # rules did run: not an empty "clean"


def test_a_single_layer_is_accepted(tmp_path):
    root = _repo(tmp_path, """\
        argocd_namespace: argocd
        layers:
          - {name: apps, dir: apps, root: root.yaml, wave: "0"}
        """)
    (root / "root.yaml").write_text(APP.format(name="root", ns="argocd", path="apps"))
    cfg = config_mod.load(root)
    assert [layer.name for layer in cfg.layers] == ["apps"]
    report = run_lint(root, use_cache=False)
    assert _crashes(report) == []
    # the root exists and deploys apps/: no "missing root" for the one layer
    assert not [f for f in report.findings if "is missing" in f.message and f.rule == "layout"]


def test_argocd_namespace_may_be_a_list(tmp_path):
    root = _repo(tmp_path, "argocd_namespace: [argocd, openshift-gitops]\n")
    cfg = config_mod.load(root)
    assert cfg.argocd_namespaces == ["argocd", "openshift-gitops"]
    assert cfg.argocd_namespace == "argocd"  # the first: where new Applications go


def test_argocd_namespace_as_a_string_is_a_list_of_one():
    assert config_mod.defaults().argocd_namespaces == ["argocd-system"]


@pytest.mark.parametrize("value", ["[]", "[argocd, argocd]", "[Not_A_Name]", "42"])
def test_argocd_namespace_list_is_validated(tmp_path, value):
    root = _repo(tmp_path, f"argocd_namespace: {value}\n")
    with pytest.raises(UsageError) as err:
        config_mod.load(root)
    assert "argocd_namespace" in str(err.value)


def test_an_app_set_to_null_drops_the_shipped_override(tmp_path):
    assert config_mod.defaults().app("loki") == {"tier": "worker"}
    root = _repo(tmp_path, "apps: {loki: null, web: {tier: control}}\n")
    cfg = config_mod.load(root)
    assert cfg.app("loki") == {}
    assert cfg.app_tier("loki", "platform") == "control"  # the layer's tier again
    assert cfg.app("web") == {"tier": "control"}


@pytest.mark.parametrize(("patterns", "path", "excluded"), [
    (["legacy/"], "legacy", True),
    (["legacy/"], "legacy/app/values.yaml", True),
    (["legacy/"], "apps/legacy-ish", False),
    (["**/old"], "apps/x/old", True),
    (["**/old"], "apps/x/old/deploy.yaml", True),
    (["*.tmp.yaml"], "a/b/c.tmp.yaml", True),
    (["apps/a*b*c*d*e"], "apps/" + "a" * 40, False),
    ([], "anything", False),
    (["legacy/"], "./legacy/x.yaml", True),
    (["legacy/"], "", False),
])
def test_is_excluded(tmp_path, patterns, path, excluded):
    cfg = config_mod.defaults()
    cfg.data["exclude"] = patterns
    assert cfg.is_excluded(path) is excluded


def test_excluded_paths_are_known_and_not_walked(tmp_path):
    root = _repo(tmp_path, "exclude: [web/]\n")
    cfg = config_mod.load(root)
    from gitops_kit.model import build

    model = build(root, cfg)
    assert "web/deploy.yaml" not in model.files  # the walk never read it...
    assert cfg.is_excluded("web")  # ...and the configuration can say why it is absent


def test_reference_findings_unchanged(tmp_path):
    """The seed layout and its configuration still give exactly today's findings (none)."""
    root = reference_copy(tmp_path / "ref")
    report = run_lint(root, use_cache=False)
    assert report.findings == []
