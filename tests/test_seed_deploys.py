"""The platform `init --platform seed` generates must deploy (issue 21).

Not lint: these tests build and measure what ArgoCD would build from a fresh seed repository,
against the real upstream artefacts in ../shared/upstream/ (skipped cleanly when absent):

- every kustomization builds with `kubectl kustomize` (the remote ArgoCD HA install.yaml is
  replaced by the local copy of the same version; other remote files by stubs, see
  ``_localise``), and the argocd build holds the patched argocd-cm in argocd-system, RBAC
  subjects in argocd-system and a Kubernetes token for the Vault plugin (defects 1-3);
- the avp-helm plugin's discover rule, evaluated as ArgoCD's CMP server does, takes no plain
  kustomize/manifests directory (defect 4: argocd and volume-snapshot-crds before Vault exists);
- an Application that delivers a CRD too large for client-side apply's last-applied annotation
  syncs with ServerSideApply=true (defect 5: the cloudnative-pg chart's poolers CRD);
- every values file validates against its pinned chart's values.schema.json and sets only keys
  the chart has (defect 6: traefik's ports.web.redirections; netbox, filebrowser).
"""

from __future__ import annotations

import copy
import csv
import glob
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import SHARED
from served_charts import RAW

UPSTREAM = SHARED / "upstream"
ARGO_INSTALL = UPSTREAM / "argo-cd" / "install"
CHARTS = UPSTREAM / "charts"
KUBECTL = shutil.which("kubectl")
ARGO_INSTALL_URL = re.compile(
    r"https://raw\.githubusercontent\.com/argoproj/argo-cd/v(?P<version>[0-9.]+)/manifests/ha/install\.yaml")
# kubectl apply (client side) stores the whole object as JSON in this annotation; the API server
# refuses annotations over 256 KiB in total.
ANNOTATION_LIMIT = 262_144
ARGOCD_NAMESPACE = "argocd-system"

needs_kubectl = pytest.mark.skipif(KUBECTL is None or not ARGO_INSTALL.is_dir(),
                                   reason="kubectl or ../shared/upstream/argo-cd/install is not available")
needs_charts = pytest.mark.skipif(not (CHARTS / "MAPPING.tsv").is_file(),
                                  reason="../shared/upstream/charts is not available")


@pytest.fixture(scope="module")
def seed_repo(tmp_path_factory) -> Path:
    from gitops_kit.cli import main

    target = tmp_path_factory.mktemp("seed-deploys") / "gitops"
    assert main(["init", str(target), "--platform", "seed"]) == 0
    return target


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


def _applications(root: Path) -> list[dict[str, Any]]:
    apps = []
    for path in sorted((root / "argo").rglob("*.yaml")):
        apps += [d for d in _docs(path.read_text()) if d.get("kind") == "Application"]
    return apps


def _sources(app: dict[str, Any]) -> list[dict[str, Any]]:
    spec = app.get("spec") or {}
    return list(spec.get("sources") or ([spec["source"]] if spec.get("source") else []))


# --- (a) every kustomization builds ----------------------------------------------------------------

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _stub(url: str) -> str:
    """A local stand-in for a remote resource other than ArgoCD's install.yaml (offline build).

    A CRD file of the `<group>_<plural>.yaml` convention becomes a minimal CRD of that name,
    anything else one ConfigMap: the build then checks the kustomization's own structure (its
    patches must not need objects of the remote file, as a strategic-merge patch by path would).
    """
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    m = re.fullmatch(r"(?P<group>[a-z0-9.-]+)_(?P<plural>[a-z0-9]+)\.ya?ml", name)
    if m:
        group, plural = m["group"], m["plural"]
        return yaml.safe_dump({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": plural, "kind": plural.capitalize()},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    stem = re.sub(r"[^a-z0-9-]", "-", name.rsplit(".", 1)[0].lower()).strip("-")
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"stub-{stem}"}})


def _localise(kdir: Path) -> list[str]:
    """Rewrite the kustomization in ``kdir`` to build offline; returns what was replaced."""
    kfile = next(kdir / n for n in KUSTOMIZATION_NAMES if (kdir / n).is_file())
    text = kfile.read_text()
    notes = []
    for i, url in enumerate(sorted(set(re.findall(r"https?://\S+", text)))):
        if not re.search(r"^\s*-\s*" + re.escape(url) + r"\s*$", text, re.M):
            continue  # not a resources entry (a chart repository, a comment)
        m = ARGO_INSTALL_URL.fullmatch(url)
        local = f"remote-{i}.yaml"
        if m:
            src = ARGO_INSTALL / f"ha-install-v{m['version']}.yaml"
            assert src.is_file(), f"{kfile}: no local copy of ArgoCD {m['version']} ({src})"
            shutil.copyfile(src, kdir / local)
        else:
            (kdir / local).write_text(_stub(url))
            notes.append(f"stub for {url}")
        text = re.sub(r"(^\s*-\s*)" + re.escape(url) + r"(\s*)$", r"\g<1>" + local + r"\g<2>", text, flags=re.M)
    data = yaml.safe_load(text)
    if data.get("helmCharts"):
        # No helm binary offline: the chart is checked by the values tests below; build the rest.
        notes.append("helmCharts left out")
        del data["helmCharts"]
        text = yaml.safe_dump(data, sort_keys=False)
    kfile.write_text(text)
    return notes


@pytest.fixture(scope="module")
def builds(seed_repo, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    if KUBECTL is None or not ARGO_INSTALL.is_dir():
        pytest.skip("kubectl or ../shared/upstream/argo-cd/install is not available")
    work = tmp_path_factory.mktemp("kustomize") / "gitops"
    shutil.copytree(seed_repo, work)
    out = {}
    for kfile in sorted(p for n in KUSTOMIZATION_NAMES for p in work.rglob(n)):
        kdir = kfile.parent
        _localise(kdir)
        out[kdir.relative_to(work).as_posix()] = subprocess.run(
            [KUBECTL, "kustomize", str(kdir)], capture_output=True, text=True, timeout=300)
    return out


def _build(builds, rel: str) -> list[dict[str, Any]]:
    result = builds[rel]
    assert result.returncode == 0, f"{rel}: {result.stderr}"
    return _docs(result.stdout)


@needs_kubectl
def test_every_kustomization_of_the_seed_builds(builds):
    assert "apps/manifests/argocd" in builds and "apps/manifests/volume-snapshot-crds" in builds
    failed = {rel: r.stderr.strip()[-400:] for rel, r in builds.items() if r.returncode != 0}
    assert failed == {}


@needs_kubectl
def test_argocd_cm_patch_lands_in_argocd_system(seed_repo, builds):
    """Defect 1: the strategic-merge patch must match the upstream argocd-cm."""
    patch = _docs((seed_repo / "apps/manifests/argocd/argocd-cm.yaml").read_text())[0]
    cms = [d for d in _build(builds, "apps/manifests/argocd")
           if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "argocd-cm"]
    assert len(cms) == 1
    assert cms[0]["metadata"].get("namespace") == ARGOCD_NAMESPACE
    assert {k: cms[0].get("data", {}).get(k) for k in patch["data"]} == patch["data"]


@needs_kubectl
def test_argocd_rbac_subjects_are_in_argocd_system(builds):
    """Defect 2: a ClusterRoleBinding subject left in `argocd` gives the controller no rights."""
    docs = _build(builds, "apps/manifests/argocd")
    bindings = [d for d in docs if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]
    assert any(d["kind"] == "ClusterRoleBinding" for d in bindings)
    wrong = [(d["kind"], d["metadata"]["name"], s.get("namespace"))
             for d in bindings for s in d.get("subjects") or []
             if s.get("kind") == "ServiceAccount" and s.get("namespace") != ARGOCD_NAMESPACE]
    assert wrong == []
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] == "ServiceAccount"} == {ARGOCD_NAMESPACE}


@needs_kubectl
def test_repo_server_gives_the_vault_plugin_a_service_account_token(builds):
    """Defect 3: argocd-vault-plugin logs in to Vault with the pod's Kubernetes token."""
    docs = _build(builds, "apps/manifests/argocd")
    deploy = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "argocd-repo-server")
    pod = deploy["spec"]["template"]["spec"]
    avp = [c for c in pod["containers"]
           if any(e.get("name") == "AVP_AUTH_TYPE" and e.get("value") == "k8s" for e in c.get("env") or [])]
    assert avp, "no container of argocd-repo-server runs argocd-vault-plugin with Kubernetes auth"
    sa_name = pod.get("serviceAccountName", "default")
    sa = next((d for d in docs if d["kind"] == "ServiceAccount" and d["metadata"]["name"] == sa_name), {})
    automount = pod.get("automountServiceAccountToken", sa.get("automountServiceAccountToken", True))
    projected = {v["name"] for v in pod.get("volumes") or []
                 if any("serviceAccountToken" in s for s in (v.get("projected") or {}).get("sources") or [])}
    for c in avp:
        mounted = any(m["name"] in projected and m["mountPath"].rstrip("/") == "/var/run/secrets/kubernetes.io/serviceaccount"
                      for m in c.get("volumeMounts") or [])
        assert automount is True or mounted, f"{c['name']}: no service account token (automount {automount})"


# --- (b) the config-management plugin's discover rule ---------------------------------------------

def _plugin_config(root: Path) -> dict[str, Any]:
    cm = _docs((root / "apps/manifests/argocd/cmp-plugin.yaml").read_text())[0]
    (text,) = cm["data"].values()
    return yaml.safe_load(text)


def _discover_matches(plugin: dict[str, Any], app_dir: Path, env: dict[str, str]) -> bool | None:
    """ArgoCD's CMP server (cmpserver/plugin.matchRepository): None when no discover rule is set."""
    discover = (plugin.get("spec") or {}).get("discover") or {}
    find = discover.get("find") or {}
    if discover.get("fileName"):
        return bool(glob.glob(str(app_dir / discover["fileName"])))
    if find.get("glob"):
        return bool(glob.glob(str(app_dir / find["glob"]), recursive=True))
    if find.get("command"):
        argv = list(find["command"]) + list(find.get("args") or [])
        r = subprocess.run(argv, cwd=app_dir, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
        return r.returncode == 0 and r.stdout.strip() != ""
    return None


def _plugin_takes(plugin: dict[str, Any], app_dir: Path, named: bool, env: dict[str, str]) -> bool:
    """reposerver's cmpSupports: a named plugin without discovery takes the app; otherwise the
    discover rule decides, also for an Application that names the plugin."""
    matched = _discover_matches(plugin, app_dir, env)
    return named if matched is None else matched


def test_avp_plugin_discovers_only_the_apps_that_name_it(seed_repo):
    """Defect 4: a plain kustomize directory must not go through the Vault plugin (argocd and
    volume-snapshot-crds sync before Vault, which needs Longhorn, which needs those CRDs)."""
    plugin = _plugin_config(seed_repo)
    name = plugin["metadata"]["name"] + (f"-{plugin['spec']['version']}" if plugin["spec"].get("version") else "")
    wrong_in, wrong_out = [], []
    for app in _applications(seed_repo):
        for src in _sources(app):
            if "path" not in src or "chart" in src:
                continue
            app_dir = seed_repo / src["path"]
            named = (src.get("plugin") or {}).get("name") == name
            env = {"ARGOCD_APP_NAME": app["metadata"]["name"], "ARGOCD_APP_SOURCE_PATH": src["path"]}
            takes = _plugin_takes(plugin, app_dir, named, env)
            if takes and not named:
                wrong_in.append(src["path"])
            if named and not takes:
                wrong_out.append(src["path"])
    assert wrong_in == [], "rendered by avp-helm although the Application does not name it"
    assert wrong_out == [], "name avp-helm but its discover rule refuses them"
    for rel in ("apps/manifests/argocd", "apps/manifests/volume-snapshot-crds"):
        assert not _plugin_takes(plugin, seed_repo / rel, False, {}), rel


# --- (c) CRDs too large for client-side apply ------------------------------------------------------

def _chart_folder() -> dict[str, str]:
    with open(CHARTS / "MAPPING.tsv", encoding="utf-8") as fh:
        return {row["helm_repo_url"].rstrip("/"): row["folder"] for row in csv.DictReader(fh, delimiter="\t")}


def _archive(repo_url: str, chart: str, version: str) -> Path | None:
    folder = _chart_folder().get(repo_url.rstrip("/"))
    path = CHARTS / folder / f"{chart}-{version}.tgz" if folder else None
    return path if path is not None and path.is_file() else None


_TEMPLATE_LINE = re.compile(r"^\s*\{\{.*\}\}\s*$")
_TEMPLATE = re.compile(r"\{\{.*?\}\}")


def _crd_sizes(tgz: Path) -> dict[str, int]:
    """Every CRD a chart archive can deliver (crds/ and templates/, subcharts and nested
    archives included, whatever the values), with the size of its compact JSON: what kubectl's
    client-side apply writes into the last-applied-configuration annotation."""
    sizes: dict[str, int] = {}

    def walk(tar: tarfile.TarFile) -> None:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            raw = tar.extractfile(member).read()
            if member.name.endswith(".tgz"):
                with tarfile.open(fileobj=io.BytesIO(raw)) as inner:
                    walk(inner)
                continue
            text = raw.decode("utf-8", "replace")
            if not member.name.endswith((".yaml", ".yml")) or "CustomResourceDefinition" not in text:
                continue
            text = "\n".join(line for line in text.splitlines() if not _TEMPLATE_LINE.match(line))
            for part in re.split(r"^---.*$", text, flags=re.M):
                if "kind: CustomResourceDefinition" not in part:
                    continue
                try:
                    doc = yaml.safe_load(_TEMPLATE.sub("x", part))
                except yaml.YAMLError:  # a template YAML cannot read: its text bounds the JSON from above
                    name = re.search(r"^\s*name:\s*(\S+)", part, re.M)
                    sizes[name[1] if name else f"{member.name}#{len(sizes)}"] = len(part.encode())
                    continue
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    sizes[doc["metadata"]["name"]] = len(json.dumps(doc, separators=(",", ":")))

    with tarfile.open(tgz) as tar:
        walk(tar)
    return sizes


def _delivered_charts(root: Path, app: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(repo URL, chart, version) of every chart an Application renders: Helm sources, umbrella
    Chart.yaml dependencies and kustomize helmCharts of its git paths."""
    out = []
    for src in _sources(app):
        if "chart" in src:
            out.append((src["repoURL"], src["chart"], str(src["targetRevision"])))
        elif "path" in src:
            d = root / src["path"]
            if (d / "Chart.yaml").is_file():
                for dep in yaml.safe_load((d / "Chart.yaml").read_text()).get("dependencies") or []:
                    out.append((dep["repository"], dep["name"], str(dep["version"])))
            if (d / "kustomization.yaml").is_file():
                for hc in yaml.safe_load((d / "kustomization.yaml").read_text()).get("helmCharts") or []:
                    out.append((hc["repo"], hc["name"], str(hc["version"])))
    return out


@needs_charts
def test_apps_delivering_oversized_crds_use_server_side_apply(seed_repo):
    """Defect 5: cloudnative-pg 0.23.0's poolers CRD is 317,835 bytes of JSON."""
    measured, missing = {}, []
    for app in _applications(seed_repo):
        big = {}
        for repo_url, chart, version in _delivered_charts(seed_repo, app):
            tgz = _archive(repo_url, chart, version)
            if tgz is not None:
                big.update({n: s for n, s in _crd_sizes(tgz).items() if s > ANNOTATION_LIMIT})
        if not big:
            continue
        measured[app["metadata"]["name"]] = big
        options = ((app["spec"].get("syncPolicy") or {}).get("syncOptions")) or []
        if "ServerSideApply=true" not in options:
            missing.append((app["metadata"]["name"], sorted(big)))
    assert "cnpg" in measured and measured["cnpg"]["poolers.postgresql.cnpg.io"] == 317_835
    assert missing == []


@needs_kubectl
def test_kustomize_apps_with_oversized_crds_use_server_side_apply(seed_repo, builds):
    """The same limit for the CRDs a git kustomization delivers (ArgoCD's own install, the CSI
    snapshot CRDs), measured on the build output."""
    missing = []
    for app in _applications(seed_repo):
        paths = [src["path"] for src in _sources(app) if "path" in src and src["path"] in builds]
        big = [d["metadata"]["name"] for rel in paths for d in _build(builds, rel)
               if d["kind"] == "CustomResourceDefinition"
               and len(json.dumps(d, separators=(",", ":"))) > ANNOTATION_LIMIT]
        options = ((app["spec"].get("syncPolicy") or {}).get("syncOptions")) or []
        if big and "ServerSideApply=true" not in options:
            missing.append((app["metadata"]["name"], big))
    assert missing == []


# --- (d) values files against the pinned charts ----------------------------------------------------

# Keys under which charts pass the value through (toYaml) into a Kubernetes object: the children
# are Kubernetes fields, not chart keys, whatever the chart's default holds.
PASS_THROUGH = {"nodeSelector", "tolerations", "affinity", "resources", "securityContext",
                "containerSecurityContext", "podSecurityContext", "annotations", "podAnnotations",
                "labels", "podLabels", "topologySpreadConstraints", "env", "extraEnv", "service.spec"}
# Keys a chart reads without declaring a default (checked in the chart's templates).
READ_WITHOUT_DEFAULT = {
    # gatekeeper 3.18.0: `{{ if hasKey .Values "emitAdmissionEvents" }}` in the controller-manager
    # deployment, `emitAuditEvents` likewise in the audit deployment.
    ("gatekeeper", "emitAdmissionEvents"), ("gatekeeper", "emitAuditEvents"),
    # snipeit 3.4.1: templates/persistentvolumeclaim.yaml reads .Values.persistence.storageClass
    # (the default is a comment in values.yaml).
    ("asset-mgmt", "persistence.storageClass"),
    # grafana 8.6.3 (kube-prometheus-stack's subchart): templates/pvc.yaml reads
    # .Values.persistence.storageClassName (commented out in values.yaml).
    ("kube-prometheus-stack", "grafana.persistence.storageClassName"),
}
# Free-form configuration rendered whole into the component's own config file.
FREE_FORM = {
    ("kube-prometheus-stack", "alertmanager.config"),  # templates/alertmanager/secret.yaml: toYaml
    ("loki", "loki.limits_config"),  # values.yaml loki.config: `with .Values.loki.limits_config` | toYaml
}


def _merge(base: Any, over: Any) -> Any:
    """Helm's coalescing of user values over chart defaults (null deletes a key)."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def _chart_defaults(tgz: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A chart's default values, its subcharts' defaults merged under their name or alias, and
    its values.schema.json."""
    def load(tar: tarfile.TarFile) -> tuple[dict[str, Any], dict[str, Any] | None]:
        names = {m.name: m for m in tar.getmembers() if m.isfile()}
        top = min(n.split("/", 1)[0] for n in names)

        def read(rel: str) -> bytes | None:
            m = names.get(f"{top}/{rel}")
            return tar.extractfile(m).read() if m else None

        values = yaml.safe_load(read("values.yaml") or b"") or {}
        schema_raw = read("values.schema.json")
        chart = yaml.safe_load(read("Chart.yaml") or b"") or {}
        aliases = {d["name"]: d.get("alias") or d["name"] for d in chart.get("dependencies") or []}
        subs: dict[str, dict[str, Any]] = {}
        for n in names:
            parts = n.split("/")
            if len(parts) == 4 and parts[1] == "charts" and parts[3] == "Chart.yaml":
                sub = yaml.safe_load(tar.extractfile(names[n]).read())["name"]
                sub_values = names.get(f"{top}/charts/{parts[2]}/values.yaml")
                subs[sub] = yaml.safe_load(tar.extractfile(sub_values).read()) or {} if sub_values else {}
            elif len(parts) == 3 and parts[1] == "charts" and n.endswith(".tgz"):
                with tarfile.open(fileobj=io.BytesIO(tar.extractfile(names[n]).read())) as inner:
                    sub_values, _ = load(inner)
                    inner_names = [m.name for m in inner.getmembers()]
                    sub = yaml.safe_load(inner.extractfile(f"{inner_names[0].split('/')[0]}/Chart.yaml").read())["name"]
                    subs[sub] = sub_values
        for sub, sub_values in subs.items():
            key = aliases.get(sub, sub)
            values[key] = _merge(sub_values, values.get(key) or {})
        return values, json.loads(schema_raw) if schema_raw else None

    with tarfile.open(tgz) as tar:
        return load(tar)


def _unknown_keys(app: str, values: Any, defaults: Any, path: str = "") -> list[str]:
    out = []
    for key, value in values.items():
        p = f"{path}.{key}" if path else str(key)
        if (app, p) in READ_WITHOUT_DEFAULT:
            continue
        if not isinstance(defaults, dict) or key not in defaults:
            out.append(p)
            continue
        if key in PASS_THROUGH or p in PASS_THROUGH or (app, p) in FREE_FORM:
            continue
        default = defaults[key]
        if isinstance(value, dict) and isinstance(default, dict) and default:
            out += _unknown_keys(app, value, default, p)
    return out


def _values_under_test(root: Path) -> list[tuple[str, Path, dict[str, Any], Path]]:
    """(app, values file, the values the chart receives, chart archive) for every seed app whose
    pinned chart is in ../shared/upstream/charts."""
    from gitops_kit.generate import seed

    out = []
    for app in seed.load():
        if not app.chart:
            continue
        tgz = _archive(app.chart_repo or "", app.chart, app.chart_version or "")
        if tgz is None:
            continue
        vfile = root / "apps/helm" / app.name / "values.yaml"
        values = yaml.safe_load(vfile.read_text()) or {}
        if app.pattern == "umbrella-avp":  # the umbrella chart passes `<chart>:` to the dependency
            values = values.get(app.chart) or {}
        out.append((app.name, vfile, values, tgz))
    return out


@needs_charts
def test_values_validate_against_the_pinned_charts_schema(seed_repo):
    """Defect 6: traefik 39.0.x's schema rejects ports.web.redirections (now ports.web.http)."""
    import jsonschema

    checked, errors = [], []
    for app, _vfile, values, tgz in _values_under_test(seed_repo):
        defaults, schema = _chart_defaults(tgz)
        if schema is None:
            continue
        checked.append(app)
        validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)(schema)
        for e in validator.iter_errors(_merge(defaults, values)):
            errors.append(f"{app}: {'.'.join(map(str, e.absolute_path))}: {e.message[:200]}")
    assert {"traefik", "netbox", "cnpg", "valkey", "vault-ha"} <= set(checked)
    assert errors == []


@needs_charts
def test_values_set_only_keys_the_pinned_chart_has(seed_repo):
    """netbox 5.0.30 has no `valkey`/`tasksDatabase` (7.1.13+): a bundled Redis would run and
    the shared Valkey stay unused; filebrowser 1.0.0 reads no `persistence.rootDir`."""
    unknown = []
    for app, _vfile, values, tgz in _values_under_test(seed_repo):
        defaults, _schema = _chart_defaults(tgz)
        unknown += [f"{app}: {k}" for k in _unknown_keys(app, values, defaults)]
    assert unknown == []


# --- (e) custom resources against the CRDs of the pinned charts ------------------------------------

def _closed(schema: Any) -> Any:
    """A CRD's structural schema as the API server applies it: an object that lists its
    properties has no others (they are pruned, or refused under strict field validation)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def _chart_crds(tgz: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema of every CRD a chart archive holds."""
    out = {}

    def walk(tar: tarfile.TarFile) -> None:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            raw = tar.extractfile(member).read()
            if member.name.endswith(".tgz"):
                with tarfile.open(fileobj=io.BytesIO(raw)) as inner:
                    walk(inner)
                continue
            text = raw.decode("utf-8", "replace")
            if not member.name.endswith((".yaml", ".yml")) or "CustomResourceDefinition" not in text:
                continue
            text = "\n".join(line for line in text.splitlines() if not _TEMPLATE_LINE.match(line))
            for part in re.split(r"^---.*$", text, flags=re.M):
                try:
                    doc = yaml.safe_load(_TEMPLATE.sub("x", part))
                except yaml.YAMLError:
                    continue
                if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                for v in spec.get("versions") or []:
                    schema = (v.get("schema") or {}).get("openAPIV3Schema")
                    if schema:
                        out[(spec["group"], v["name"], spec["names"]["kind"])] = schema

    with tarfile.open(tgz) as tar:
        walk(tar)
    return out


@needs_charts
def test_custom_resources_validate_against_the_pinned_charts_crds(seed_repo):
    """The backups and databases the seed declares (CNPG Cluster and ScheduledBackup, MariaDB and
    its Backup, Database/User/Grant, MetalLB pools, Traefik routes...) against the CRDs of the
    operator charts the seed pins: gitops-kit has no schema for some of them."""
    import jsonschema

    from gitops_kit.generate import seed

    crds: dict[tuple[str, str, str], dict[str, Any]] = {}
    for app in seed.load():
        tgz = _archive(app.chart_repo or "", app.chart or "", app.chart_version or "") if app.chart else None
        if tgz is not None:
            crds.update(_chart_crds(tgz))
    checked, errors = set(), []
    for path in sorted(seed_repo.rglob("*.yaml")):
        rel = path.relative_to(seed_repo).as_posix()
        if "/templates/" in rel or path.name.startswith("values") or path.name == "kustomization.yaml":
            continue
        for doc in _docs(path.read_text()):
            group, _, version = str(doc.get("apiVersion", "")).rpartition("/")
            schema = crds.get((group, version, doc.get("kind")))
            if schema is None:
                continue
            checked.add(doc["kind"])
            validator = jsonschema.Draft7Validator(_closed(schema))
            for e in validator.iter_errors(doc):
                errors.append(f"{rel}: {doc['kind']} {'.'.join(map(str, e.absolute_path))}: {e.message[:200]}")
    assert {"Cluster", "ScheduledBackup", "MariaDB", "Backup", "Database", "IPAddressPool", "IngressRoute"} <= checked
    assert errors == []


# --- (f) every Helm app renders from the served upstream charts ------------------------------------

# Seed apps whose pinned chart ../shared/upstream/charts does not hold (its SOURCES.tsv, SKIPPED).
# `charts pull --all` must fail for exactly these, so a wrong entry (or a new unserved chart)
# fails the test.
NOT_SERVED = {
    "cert-manager": "cert-manager v1.16.2: its Chart.yaml is generated at release, no packageable source",
    "awx": "awx-operator 2.19.1: generated by `make helm-chart`, only on GitHub release assets",
    "ci-runner": "gitlab-runner 0.71.0: lives on gitlab.com",
}
# Rendered in ArgoCD by `kustomize build --enable-helm` (pattern 3); gitops-kit renders the
# helmCharts from the chart cache (docs/render.md) and the test cross-checks the chart's objects
# against a direct Helm SDK render, as the `helm template` step of --enable-helm does.
HELM_CHARTS_APPS = {"asset-mgmt"}
# Seed apps whose remote kustomize resources ../shared/upstream does not hold: `charts pull --all`
# fails for them (a 404 from the test server, never the internet). ArgoCD's install.yaml is there.
NOT_FETCHED = {
    "volume-snapshot-crds": "external-snapshotter v8.2.0 manifests: not in ../shared/upstream",
}
# What `lint --render` cannot check offline in the reference (warnings of the `render` rule, one
# per app): the charts and remote resources above.
NOT_CHECKED_OFFLINE = {
    **{app: "is not in the chart cache" for app in NOT_SERVED},
    "volume-snapshot-crds": "is not in the resource cache: run `gitops-kit charts pull volume-snapshot-crds`",
}
# Findings of `lint --render` on the rendered upstream ArgoCD HA install (argocd app): upstream
# spreads these workloads with a *required* podAntiAffinity on kubernetes.io/hostname (at most one
# pod per node), which the topology-spread rule does not count yet. Listed so that any other
# finding fails the test; the rule (not owned by the render work) should accept that affinity.
# Findings accepted on upstream objects: none (the upstream HA install's workloads keep their
# replicas apart with a required podAntiAffinity on the hostname, which topology-spread counts).
KNOWN_RENDERED: set[tuple[str, str]] = set()


def _serve_charts(root: Path, server, files=None) -> None:
    """Point every chart repository of ``root`` at the test server: the served ones at their
    folder, the others at a folder that does not exist there (a 404 on 127.0.0.1, never the
    internet); raw.githubusercontent.com at the file server ``files`` (ArgoCD's install.yaml), or
    at a 404 of the chart server without it."""
    from gitops_kit import config as config_mod
    from gitops_kit.charts import chart_refs
    from gitops_kit.model import build

    model = build(root, config_mod.load(root))
    served = {url.rstrip("/") for url in server.mirrors}
    mirrors = dict(server.mirrors)
    upstream = sorted({ref.repo_url for app in model.child_apps() for _src, ref in chart_refs(model, app)})
    for i, url in enumerate(upstream):
        if url.rstrip("/") not in served:
            mirrors[url] = f"{server.url}/not-served-{i}"
    mirrors.update(files.mirrors if files is not None else {RAW: f"{server.url}/not-served-raw"})
    cfg = root / ".gitops-kit.yaml"
    lines = ["charts:", "  mirrors:"] + [f'    "{up}": "{to}"' for up, to in sorted(mirrors.items())]
    cfg.write_text(cfg.read_text() + "\n" + "\n".join(lines) + "\n")


def _pull_all(root: Path, capsys) -> set[str]:
    """`gitops-kit charts pull --all`; the apps whose chart or remote resource failed."""
    from gitops_kit.cli import main

    capsys.readouterr()
    code = main(["charts", "pull", "--all", "--root", str(root)])
    out = capsys.readouterr().out
    failed = {m[1] for m in re.finditer(r"^failed\s+([a-z0-9-]+):.*$", out, re.M)}
    assert all("127.0.0.1" in line for line in out.splitlines() if line.startswith("failed")), out
    assert code == (1 if failed else 0), out
    return failed


def _helm_apps(root: Path) -> set[str]:
    """Seed apps that render a Helm chart: a chart source, an umbrella chart, or helmCharts."""
    return {app["metadata"]["name"] for app in _applications(root) if _delivered_charts(root, app)}


@pytest.fixture(scope="module")
def argo_files():
    """ArgoCD's HA install.yaml of ../shared/upstream served as raw.githubusercontent.com serves it."""
    from served_charts import argo_install_routes, serve_files

    with serve_files(argo_install_routes()) as server:
        yield server


@pytest.fixture
def served_seed(seed_repo, chart_server, argo_files, tmp_path, monkeypatch) -> Path:
    pytest.importorskip("helm_python")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "gitops"
    shutil.copytree(seed_repo, root, ignore=shutil.ignore_patterns(".gitops-kit-cache"))
    _serve_charts(root, chart_server, argo_files)
    return root


def test_every_helm_app_renders_from_its_pinned_chart(served_seed, capsys):
    """Issue 21's 'done when': every Helm app whose chart is served renders, its values checked
    against the chart's values.schema.json by Helm itself (traefik 39.0.1, netbox 5.0.30,
    cloudnative-pg, valkey, vault... ship one); the apps whose chart is not served are listed."""
    from helm_python import Chart

    from gitops_kit import config as config_mod
    from gitops_kit.charts import ChartRef, locate
    from gitops_kit.model import build
    from gitops_kit.render import Options, render_apps

    root = served_seed
    assert _pull_all(root, capsys) == set(NOT_SERVED) | set(NOT_FETCHED)
    model = build(root, config_mod.load(root))
    helm_apps = _helm_apps(root)
    assert set(NOT_SERVED) | HELM_CHARTS_APPS <= helm_apps
    renders = {r.app.name: r for r in render_apps(model, sorted(helm_apps), Options(renderer="sdk"))}
    assert set(renders) == helm_apps
    wrong, rendered = {}, set()
    for name, r in sorted(renders.items()):
        kinds = {p.kind for p in r.problems}
        if name in NOT_SERVED:
            if kinds != {"cache-miss"}:
                wrong[name] = [p.message for p in r.problems]
        elif r.problems or not r.objects or {s.index for s in r.app.sources} != r.rendered:
            wrong[name] = [p.message for p in r.problems] or [f"rendered sources {sorted(r.rendered)}"]
        else:
            rendered.add(name)
    for name in sorted(HELM_CHARTS_APPS):
        # gitops-kit's helmCharts render holds every object of the chart rendered directly
        kdir = root / "apps/helm" / name
        ours = {(o.kind, o.name) for o in renders[name].objects}
        for hc in yaml.safe_load((kdir / "kustomization.yaml").read_text())["helmCharts"]:
            tgz = locate(ChartRef(hc["repo"], hc["name"], str(hc["version"])))
            values = yaml.safe_load((kdir / hc.get("valuesFile", "values.yaml")).read_text()) or {}
            with Chart.load(tgz) as chart:
                manifests = chart.render(values, name=hc["releaseName"], namespace=hc["namespace"], is_install=True)
            direct = {(d["kind"], d["metadata"]["name"]) for text in manifests.values()
                      for d in yaml.safe_load_all(text) if isinstance(d, dict) and "kind" in d}
            assert direct and direct <= ours, (name, direct - ours)
    assert wrong == {}
    assert rendered == helm_apps - set(NOT_SERVED)
    assert len(rendered) == 18


def test_rendering_checks_values_against_the_chart_schema(served_seed, capsys):
    """The render above is a schema check: traefik's values as the seed first wrote them
    (`ports.web.redirections`, moved under `ports.web.http` in chart 39.0.x: defect 6) do not
    render."""
    from gitops_kit import config as config_mod
    from gitops_kit.model import build
    from gitops_kit.render import Options, render_apps

    root = served_seed
    _pull_all(root, capsys)
    values = root / "apps/helm/traefik/values.yaml"
    data = yaml.safe_load(values.read_text())
    web = data["ports"]["web"]
    web["redirections"] = web.pop("http")["redirections"]
    values.write_text(yaml.safe_dump(data, sort_keys=False))
    (r,) = render_apps(build(root, config_mod.load(root)), ["traefik"], Options(renderer="sdk"))
    assert [p.kind for p in r.problems] == ["render"], [p.message for p in r.problems]
    assert "schema" in r.problems[0].message and "redirections" in r.problems[0].message


def test_reference_lints_clean_with_and_without_render(chart_server, argo_files, tmp_path, monkeypatch, capsys):
    """examples/reference (what init --platform seed generates, tests/test_generate_init.py) has
    no finding from plain lint, and none from `lint --render` with every served chart cached but
    the `render` warnings of what cannot be checked offline, exactly NOT_CHECKED_OFFLINE: one per
    app, none an error, exit code 0. Nothing else (but KNOWN_RENDERED): no object rule finds
    anything in the rendered charts, helmCharts and upstream ArgoCD install (loki's PVC
    retention, the Longhorn UI's replicas, netbox's superuser Secret were found this way)."""
    pytest.importorskip("helm_python")
    from gitops_kit.cli import main
    from helpers import reference_copy, run_lint

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = reference_copy(tmp_path / "reference")
    assert [f"{f.path}:{f.line} [{f.rule}] {f.message}" for f in run_lint(root).findings] == []
    _serve_charts(root, chart_server, argo_files)
    assert _pull_all(root, capsys) == set(NOT_SERVED) | set(NOT_FETCHED)
    report = run_lint(root, render=True)
    others = [f"{f.path}:{f.line} [{f.rule}] {f.message}" for f in report.findings if f.rule != "render"
              and not any(f.rule == rule and f"'{name}'" in f.message for rule, name in KNOWN_RENDERED)]
    assert others == []
    known = {(rule, name) for rule, name in KNOWN_RENDERED
             for f in report.findings if f.rule == rule and f"'{name}'" in f.message}
    assert known == KNOWN_RENDERED
    # the argocd app renders (upstream's install.yaml from the resource cache): its objects are linted
    argocd = [r for r in report.renders if r.app.name == "argocd"]
    assert argocd and argocd[0].objects and not argocd[0].problems
    found = {}
    for f in (f for f in report.findings if f.rule == "render"):
        assert f.severity.name == "WARNING", f.message
        assert f.app not in found, f"two render findings for {f.app}"
        found[f.app] = f.message
    assert set(found) == set(NOT_CHECKED_OFFLINE)
    assert {app: NOT_CHECKED_OFFLINE[app] in msg for app, msg in found.items()} == dict.fromkeys(found, True)
    capsys.readouterr()
    assert main(["lint", "--render", "--root", str(root)]) == 0


# --- (g) the rendered workloads fit their namespace's ResourceQuota --------------------------------

# Nodes a DaemonSet runs on, by the tier its nodeSelector names (3 control, 3 worker nodes).
NODES = {"control": 3, "worker": 3, None: 6}
# Namespaces with a quota whose workloads are not all rendered here: their charts are not served
# (NOT_SERVED).
QUOTA_NOT_CHECKED = {"awx", "ci-runner"}
# Custom resources whose operator runs them as a StatefulSet of spec.replicas pods.
OPERATOR_PODS = {("Prometheus", "monitoring.coreos.com/v1"), ("Alertmanager", "monitoring.coreos.com/v1")}


def _quantity(value: Any, memory: bool) -> float:
    text = str(value)
    units = ({"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9} if memory
             else {"m": 1e-3})
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def _pod_totals(pod: dict[str, Any], defaults: dict[str, Any]) -> dict[str, float]:
    """A pod's requests and limits as the quota counts them: LimitRange defaults filled in, the
    sum of its containers or its largest init container, whichever is larger."""
    def container(c: dict[str, Any]) -> dict[str, float]:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        out = {}
        for r in ("cpu", "memory"):
            # the API server's defaulting (a missing request is the limit), then LimitRanger's
            # (defaultRequest, else the default limit; default for a missing limit)
            req = requests.get(r) or limits.get(r) or (defaults.get("defaultRequest") or {}).get(r) \
                or (defaults.get("default") or {}).get(r)
            lim = limits.get(r) or (defaults.get("default") or {}).get(r)
            out.update({f"requests.{r}": _quantity(req, r == "memory")} if req else {})
            out.update({f"limits.{r}": _quantity(lim, r == "memory")} if lim else {})
        return out

    keys = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
    main = [container(c) for c in pod.get("containers") or []]
    init = [container(c) for c in pod.get("initContainers") or []]
    return {k: max(sum(c.get(k, 0.0) for c in main), max((c.get(k, 0.0) for c in init), default=0.0)) for k in keys}


def test_rendered_workloads_fit_the_namespace_quota(served_seed, capsys):
    """Every workload's pods, at full replicas plus a Deployment's rolling-update surge (25 %, at
    least one pod), fit their namespace's ResourceQuota with the LimitRange defaults applied: a
    quota below what a chart asks for (registry-core's CPU limit against Harbor's 15
    Deployment replicas) leaves pods uncreated (`exceeded quota`) and a rollout stuck. The
    Prometheus and Alertmanager pods of the operator count too; Jobs and CronJobs run now and
    then and are left out."""
    from gitops_kit import config as config_mod, yamlio
    from gitops_kit.model import build
    from gitops_kit.render import Options, is_applied, render_apps

    root = served_seed
    _pull_all(root, capsys)
    model = build(root, config_mod.load(root))
    renders = render_apps(model, None, Options(renderer="sdk"))
    objects = [(r.app.dest_namespace, yamlio.plain(o.data, str_keys=True)) for r in renders for o in r.objects
               if is_applied(o)]
    quotas, limit_ranges, used = {}, {}, {}
    for default_ns, obj in objects:
        ns = (obj.get("metadata") or {}).get("namespace") or default_ns
        if obj.get("kind") == "ResourceQuota":
            quotas[ns] = obj["spec"]["hard"]
        elif obj.get("kind") == "LimitRange":
            limit_ranges[ns] = next((lim for lim in obj["spec"]["limits"] if lim.get("type") == "Container"), {})
    tier_label = model.config.tier_label
    for default_ns, obj in objects:
        kind = obj.get("kind")
        if kind not in ("Deployment", "StatefulSet", "DaemonSet") and (kind, obj.get("apiVersion")) not in OPERATOR_PODS:
            continue
        ns = (obj.get("metadata") or {}).get("namespace") or default_ns
        if kind in ("Deployment", "StatefulSet", "DaemonSet"):
            pod = obj["spec"]["template"]["spec"]
        else:  # the operator's StatefulSet: the main container (a lower bound: its sidecars are left out)
            pod = {"containers": [{"resources": obj["spec"].get("resources") or {}}]}
            kind = "StatefulSet"
        if kind == "DaemonSet":
            pods = NODES[(pod.get("nodeSelector") or {}).get(tier_label)]
        else:
            replicas = obj["spec"].get("replicas", 1)
            pods = replicas + (max(1, -(-replicas // 4)) if kind == "Deployment" and replicas else 0)
        totals = _pod_totals(pod, limit_ranges.get(ns, {}))
        ns_used = used.setdefault(ns, {"pods": 0.0})
        ns_used["pods"] += pods
        for k, v in totals.items():
            ns_used[k] = ns_used.get(k, 0.0) + pods * v
    assert QUOTA_NOT_CHECKED <= set(quotas)
    over = {}
    for ns, hard in sorted(quotas.items()):
        if ns in QUOTA_NOT_CHECKED:
            continue
        for key, limit in hard.items():
            if key in used.get(ns, {}):
                need = used[ns][key]
                if need > _quantity(limit, "memory" in key) + 1e-9:
                    over[f"{ns} {key}"] = f"{need:g} needed, quota {limit}"
    assert "registry-core" in used and used["registry-core"]["pods"] >= 15
    assert over == {}
