"""`gitops-kit init`: the reference example is exactly what `init --platform seed` generates,
and every generated repository lints clean and validates against the upstream ArgoCD CRD."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from generate_helpers import findings, run, snapshot
from helpers import REFERENCE, SHARED
from gitops_kit import yamlio
from gitops_kit.checks._apps import is_dns1123_label, is_exact_version, namespace_problem
from gitops_kit.generate import seed
from gitops_kit.generate.plan import shipped_config
from gitops_kit.generate.render import blueprints_root

CRD = SHARED / "upstream" / "argo-cd" / "application-crd.yaml"
# The reference (and these fixtures) name where CI and pre-commit get gitops-kit from: without
# --tool-source, init writes a CI placeholder that lint reports (tests/test_everyday_generate.py).
TOOL_SOURCE = "git+https://gitlab.example.com/platform/gitops-kit.git@v0.1.0"


@pytest.fixture(scope="module")
def seed_repo(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("seed") / "gitops"
    from gitops_kit.cli import main

    assert main(["init", str(target), "--platform", "seed", "--tool-source", TOOL_SOURCE]) == 0
    return target


@pytest.fixture(scope="module")
def bare_repo(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("bare") / "gitops"
    from gitops_kit.cli import main

    assert main(["init", str(target), "--tool-source", TOOL_SOURCE]) == 0
    return target


def test_reference_is_exactly_what_init_platform_seed_generates(seed_repo):
    generated, reference = snapshot(seed_repo), snapshot(REFERENCE)
    missing = sorted(set(reference) - set(generated))
    extra = sorted(set(generated) - set(reference))
    differ = sorted(rel for rel in set(generated) & set(reference) if generated[rel] != reference[rel])
    assert (missing, extra, differ) == ([], [], []), (
        "examples/reference/ drifted from the blueprints: regenerate it with "
        f"`gitops-kit init DIR --platform seed --tool-source {TOOL_SOURCE}` and copy DIR over it "
        f"(only in the reference: {missing}; only generated: {extra}; different: {differ})")


def test_seed_repository_lints_without_any_finding(seed_repo):
    assert findings(seed_repo) == []


def test_bare_repository_lints_without_any_finding(bare_repo):
    assert findings(bare_repo) == []
    files = {rel for rel in snapshot(bare_repo) if not rel.endswith("/")}
    assert {"argo/root-bootstrap.yaml", "argo/bootstrap/argocd-app.yaml", ".gitlab-ci.yml",
            ".gitlab/renovate.json", ".pre-commit-config.yaml", "infra/install-first-server.sh",
            "argo/apps/.gitkeep"} <= files
    assert not any("/apps/helm/" in rel and rel.endswith(".yaml") for rel in files)


def test_options_reach_every_file_and_still_lint_clean(tmp_path, capsys):
    target = tmp_path / "acme"
    code, out, err = run(capsys, "init", target, "--domain", "acme.io", "--repo-url",
                         "git@git.acme.io:ops/cluster.git", "--branch", "main", "--k8s-version", "1.30",
                         "--platform", "seed", "--tool-source", "git+https://git.acme.io/ops/gitops-kit.git@v0.1.0")
    assert code == 0, out + err
    assert findings(target) == []
    config = (target / ".gitops-kit.yaml").read_text()
    assert "tier_label: acme.io/role" in config and 'kubernetes_version: "1.30"' in config
    text = "\n".join(p.read_text() for p in target.rglob("*") if p.is_file() and p.suffix in (".yaml", ".md", ".sh"))
    assert "example.com" not in text
    assert "nodeSelector: {acme.io/role: worker}" in (target / "apps/helm/kube-prometheus-stack/values.yaml").read_text()
    assert "targetRevision: main" in (target / "argo/apps/netbox-app.yaml").read_text()


def test_gitlab_ci_publishes_the_code_quality_report(bare_repo):
    ci = yamlio.load_text((bare_repo / ".gitlab-ci.yml").read_text()).documents[0].data
    job = ci["gitops-kit-lint"]
    assert job["stage"] == "lint"
    assert "gitops-kit lint --render --output codequality=gl-code-quality-report.json" in job["script"]
    assert job["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"
    assert job["artifacts"]["when"] == "always"  # the report also when findings fail the job


# The kustomize that ArgoCD's repo-server bundles, by ArgoCD version: argoproj/argo-cd at the tag,
# hack/tool-versions.sh (kustomize5_version) and hack/installers/checksums/
# kustomize_<version>_linux_amd64.tar.gz.sha256 (the sha256 of the kustomize release archive).
ARGOCD_KUSTOMIZE = {"2.13.2": ("5.4.3", "3669470b454d865c8184d6bce78df05e977c9aea31c30df3c669317d43bcc7a7")}
HELM_SDK = "helm-python-sdk>=0.2.2,<0.3"


def _ci_plain(root: Path) -> dict:
    return yamlio.plain(yamlio.load_text((root / ".gitlab-ci.yml").read_text()).documents[0].data, str_keys=True)


def test_gitlab_ci_renders_every_app_with_pinned_tools(seed_repo, tmp_path):
    """Issue 21: CI installs gitops-kit with the Helm SDK and a kustomize pinned to ArgoCD's own
    version and verified by sha256 before use, pulls the charts (the one networked step), then
    lints the rendered apps; the old helm-template job is gone."""
    import hashlib
    import re
    import subprocess

    text = (seed_repo / ".gitlab-ci.yml").read_text()
    ci = _ci_plain(seed_repo)
    assert set(ci) == {"stages", "variables", "gitops-kit-lint", "renovate-update-check", "renovate"}
    # the merge-request job installs the same tools, pinned alike (tests/test_generated_update_job.py runs it)
    update = ci["renovate-update-check"]
    assert update["script"][:4] == [line for line in ci["gitops-kit-lint"]["script"]
                                    if line.startswith("pip install") or "kustomize" in line]
    assert {k: update["variables"][k] for k in ("KUSTOMIZE_VERSION", "KUSTOMIZE_SHA256")} == \
        ci["gitops-kit-lint"]["variables"]
    assert ci["stages"] == ["lint", "renovate"]
    assert not re.search(r"\bhelm (template|dependency)", text) and "pypi" not in text
    job = ci["gitops-kit-lint"]
    script = job["script"]

    def at(pattern: str) -> int:
        (i,) = [n for n, line in enumerate(script) if re.search(pattern, line)]
        return i

    assert script[0] == f'pip install --quiet "$GITOPS_KIT_SOURCE" "{HELM_SDK}"'
    download, verify, unpack = at(r"kustomize_v\$\{KUSTOMIZE_VERSION\}_linux_amd64\.tar\.gz"), at("sha256sum"), at("^tar ")
    pull = at(r"^gitops-kit charts pull --all\b")
    lint = at(r"^gitops-kit lint --render --output codequality=gl-code-quality-report\.json$")
    assert 0 < download < verify < unpack < pull < lint
    assert "releases/download/kustomize%2Fv${KUSTOMIZE_VERSION}/" in script[download]
    assert script[verify] == 'echo "${KUSTOMIZE_SHA256}  /tmp/kustomize.tar.gz" | sha256sum -c -'
    assert "/tmp/kustomize.tar.gz" in script[download] and "/tmp/kustomize.tar.gz" in script[unpack]
    # a failed pull fails the job, but only after lint has written the report
    assert script[pull].endswith("|| charts_failed=1") and script[-1] == 'test -z "${charts_failed:-}"'
    # pinned: an exact version and its checksum, those of the ArgoCD the repository installs
    variables = job["variables"]
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", variables["KUSTOMIZE_VERSION"])
    assert re.fullmatch(r"[0-9a-f]{64}", variables["KUSTOMIZE_SHA256"])
    argocd = re.search(r"argo-cd/v([0-9.]+)/manifests/ha/install\.yaml",
                       (seed_repo / "apps/manifests/argocd/kustomization.yaml").read_text())[1]
    assert (variables["KUSTOMIZE_VERSION"], variables["KUSTOMIZE_SHA256"]) == ARGOCD_KUSTOMIZE[argocd]
    # the verification step, run as written: it refuses an archive that is not the pinned one
    archive = tmp_path / "kustomize.tar.gz"
    archive.write_bytes(b"not the kustomize release")
    step = script[verify].replace("/tmp/kustomize.tar.gz", str(archive))
    env = {"PATH": os.environ["PATH"], "KUSTOMIZE_SHA256": variables["KUSTOMIZE_SHA256"]}
    refused = subprocess.run(["sh", "-c", step], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "FAILED" in refused.stdout + refused.stderr
    env["KUSTOMIZE_SHA256"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert subprocess.run(["sh", "-c", step], env=env, capture_output=True, timeout=60).returncode == 0


def test_renovate_encodes_the_seed_rules(bare_repo):
    cfg = json.loads((bare_repo / ".gitlab" / "renovate.json").read_text())
    assert cfg["schedule"] == ["* * * * 0,6"]  # weekends
    rules = cfg["packageRules"]
    assert any(r.get("matchDatasources") == ["helm"] and r.get("minimumReleaseAge") == "3 days" for r in rules)
    automerge = [r for r in rules if r.get("automerge") is True]
    assert automerge == [r for r in rules if r.get("matchFileNames") == [".gitlab-ci.yml"]]
    assert automerge[0]["matchUpdateTypes"] == ["patch"]
    assert rules[-1] == {**rules[-1], "matchUpdateTypes": ["major"], "automerge": False}  # last rule wins
    assert {r.get("groupName") for r in rules} >= {"vault", "monitoring"}
    assert any(m.get("datasourceTemplate") == "docker" and "apps/manifests" in m["fileMatch"][0]
               for m in cfg["customManagers"])


def test_pre_commit_uses_this_projects_hook(bare_repo):
    hooks = yamlio.load_text((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text()).documents[0].data
    config = yamlio.load_text((bare_repo / ".pre-commit-config.yaml").read_text()).documents[0].data
    assert [h["id"] for h in config["repos"][0]["hooks"]] == [hooks[0]["id"]] == ["gitops-kit-lint"]


def test_infra_scripts_carry_the_seed_flags(bare_repo):
    infra = bare_repo / "infra"
    flags = (infra / "k3s-flags.sh").read_text()
    for flag in ("--disable traefik", "--flannel-backend=none", "node-monitor-period=2s",
                 "node-monitor-grace-period=16s", "default-not-ready-toleration-seconds=30",
                 "default-unreachable-toleration-seconds=30", "heartbeat-interval=500", "election-timeout=5000"):
        assert flag in flags
    assert "--cluster-init" in (infra / "install-first-server.sh").read_text()
    assert "--server https://" in (infra / "join-server.sh").read_text()
    assert "K3S_URL=" in (infra / "join-agent.sh").read_text()
    prep = (infra / "prepare-host.sh").read_text()
    assert "net.ipv4.ip_forward = 1" in prep and "swapoff -a" in prep
    assert 'TIER_LABEL="example.com/role"' in (infra / "label-nodes.sh").read_text()
    for script in infra.glob("*.sh"):
        if script.name != "k3s-flags.sh":
            assert os.access(script, os.X_OK), script


def test_dry_run_writes_nothing(tmp_path, capsys):
    target = tmp_path / "new"
    code, out, _ = run(capsys, "init", target, "--platform", "seed", "--dry-run")
    assert code == 0 and not target.exists()
    assert "+ argo/platform/vault-ha-app.yaml" in out and "nothing was written" in out


def test_init_over_an_existing_repository_is_refused_with_the_files(tmp_path, capsys, bare_repo):
    target = tmp_path / "existing"
    target.mkdir()
    (target / "README.md").write_text("mine\n")
    before = snapshot(target)
    code, _, err = run(capsys, "init", target)
    assert code == 2 and "README.md" in err and "--force" in err
    assert snapshot(target) == before


@pytest.mark.parametrize("args, message", [
    (["--domain", "Example.COM"], "not a DNS name"),
    (["--repo-url", "not a url"], "not a git URL"),
    (["--branch", "a..b"], "not a valid git branch"),
    (["--tier-label", "bad label"], "not a Kubernetes label key"),
    (["--k8s-version", "latest"], "MAJOR.MINOR"),
])
def test_bad_init_options_are_refused_before_anything_is_written(tmp_path, capsys, args, message):
    target = tmp_path / "never"
    code, _, err = run(capsys, "init", target, *args)
    assert code == 2 and message in err
    assert not target.exists()


def test_seed_data_follows_the_conventions_it_is_linted_by():
    cfg = shipped_config()
    apps = seed.load()
    names = [a.name for a in apps]
    assert len(names) == len(set(names)) == 25
    assert [sum(a.layer == layer for a in apps) for layer in ("bootstrap", "platform", "apps")] == [11, 9, 5]
    owners: dict[str, str] = {}
    for app in apps:
        layer = cfg.layer(app.layer)
        assert is_dns1123_label(app.name) and len(app.name) <= 53
        assert namespace_problem(app.namespace, layer) is None, app.name
        assert layer.wave_min <= app.wave <= layer.wave_max, app.name
        assert app.pattern in ("multi-source", "umbrella-avp", "kustomize", "manifests")
        assert (app.chart is None) == (app.pattern == "manifests")
        if app.chart:
            assert is_exact_version(app.chart_version), app.name
        assert set(app.after) <= set(names)
        if app.namespace_file:
            assert app.namespace not in owners, f"{app.name} and {owners[app.namespace]} both create it"
            owners[app.namespace] = app.name


def test_every_blueprint_file_ships_as_package_data():
    """The wheel carries blueprints/ through pyproject's package-data globs, dotfiles included."""
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    assert "gitops_kit.blueprints" in setuptools["packages"]
    assert setuptools["package-dir"]["gitops_kit.blueprints"] == "blueprints"
    globs = setuptools["package-data"]["gitops_kit.blueprints"]
    root = blueprints_root()
    for path in root.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.name != "__init__.py":
            rel = path.relative_to(root).as_posix()
            assert any(_glob_match(rel, g) for g in globs), f"{rel} is not package data"


def _glob_match(rel: str, pattern: str) -> bool:
    # setuptools expands package-data with glob(recursive=True): '**' spans directories,
    # '*' does not match a leading dot.
    import re

    rx, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            rx += r"(?:[^/.][^/]*/)*"
            i += 3
        elif pattern[i] == "*":
            rx += r"[^/]*" if i and pattern[i - 1] != "/" else r"(?:[^/.][^/]*)?"
            i += 1
        else:
            rx += re.escape(pattern[i])
            i += 1
    return re.fullmatch(rx, rel) is not None


@pytest.mark.skipif(not CRD.exists(), reason="../shared/upstream/argo-cd is not present")
def test_every_generated_application_validates_against_the_upstream_crd(seed_repo, bare_repo):
    jsonschema = pytest.importorskip("jsonschema")
    yaml = pytest.importorskip("yaml")
    crd = yaml.safe_load(CRD.read_text())
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")["schema"]["openAPIV3Schema"]
    validator = jsonschema.Draft7Validator(schema)
    count = 0
    for repo in (seed_repo, bare_repo):
        for path in sorted((repo / "argo").rglob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                assert doc["kind"] == "Application"
                errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
                assert errors == [], path
                count += 1
    assert count == 28 + 4


def test_the_cli_does_not_import_cookiecutter_until_a_blueprint_command_runs():
    import subprocess
    import sys

    code = ("import sys, gitops_kit.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cookiecutter', 'jinja2', 'ruamel')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "[]"


def test_the_generator_supplies_every_variable_each_bundled_blueprint_declares():
    """cookiecutter silently keeps a default for an undeclared variable: none may be left to it."""
    from gitops_kit.generate import render as render_mod

    seen: dict[str, set[str]] = {}
    real = render_mod.render

    def spy(blueprint, values, **kw):
        declared = {k for k in blueprint.keys() if not k.startswith("_")}
        seen.setdefault(blueprint.name, set()).update(declared - set(values))
        return real(blueprint, values, **kw)

    import gitops_kit.generate.plan as plan_mod

    original = plan_mod.render.render
    plan_mod.render.render = spy
    try:
        plan_mod.plan_init(plan_mod.InitOptions(directory=Path("unused"), platform="seed"))
    finally:
        plan_mod.render.render = original
    # "repository"/"directory" name the rendered project directory, which the generator reads back.
    assert {name: missing - {"repository", "directory"} for name, missing in seen.items()} == {
        name: set() for name in ("repo", "app-base", "app-multi-source", "app-umbrella-avp", "app-kustomize",
                                 "app-manifests", "seed")}
