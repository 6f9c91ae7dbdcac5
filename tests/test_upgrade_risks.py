"""Each upgrade risk of check-update fires on a real two-commit repository, and stays quiet on a
near miss (issue 18). Object risks use a plain-manifest Application (no chart needed); chart risks
(crds/, values no longer read, values.schema.json) use a small chart served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

import upgrade_helpers
from upgrade_helpers import APP, CONFIG, SECRET, app_of, check_json, dir_repo, manifests, two_commits

module_cache = upgrade_helpers.module_cache  # the module's chart cache (a fixture)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

def risks_of(tmp_path: Path, capsys, **changes) -> tuple[int, dict]:
    after = {rel: text for rel, text in manifests(**changes).items() if text != manifests()[rel]}
    for rel in changes.pop("delete", ()):
        after[rel] = None
    root = dir_repo(tmp_path, after)
    code, doc = check_json(root, capsys)
    return code, app_of(doc, "db")


def _with(app: dict, rule: str) -> list[dict]:
    return [r for r in app["risks"] if r["rule"] == rule]


# --- immutable fields -------------------------------------------------------------------------------

@pytest.mark.parametrize("change,field", [({"size": "2Gi"}, "spec.volumeClaimTemplates"),
                                          ({"service": "db-headless"}, "spec.serviceName")])
def test_statefulset_immutable_field_fires(tmp_path, capsys, change, field):
    code, app = risks_of(tmp_path, capsys, **change)
    [risk] = _with(app, "immutable-field")
    assert risk["object"] == "StatefulSet.apps db/db" and risk["field"].startswith(field), risk
    assert risk["severity"] == "error" and "sync fails" in risk["message"] and code == 1


def test_statefulset_replicas_and_image_are_not_immutable(tmp_path, capsys):
    code, app = risks_of(tmp_path, capsys, replicas=3, tag="16.6")
    assert _with(app, "immutable-field") == [] and code == 0
    [image] = _with(app, "image-changed")
    assert image["message"] == "container db: postgres:16.4 -> postgres:16.6" and image["severity"] == "info"
    assert app["verdict"] == "ok" and app["risk_count"] == 0


def test_deployment_selector_and_pvc_spec_are_immutable(tmp_path, capsys):
    code, app = risks_of(tmp_path, capsys, app="web2", pvc_size="10Gi")
    fields = {r["field"] for r in _with(app, "immutable-field")}
    assert "spec.selector.matchLabels.app" in fields and code == 1
    assert not any(f.startswith("spec.resources") for f in fields)  # a PVC may grow


def test_environment_change_is_no_risk(tmp_path, capsys):
    code, app = risks_of(tmp_path, capsys, mode="b")
    assert app["risks"] == [] and code == 0 and app["objects"]["changed"] == 1
    [diff] = app["diffs"]
    assert diff["fields"] == [{"path": "spec.template.spec.containers[name=web].env[name=MODE].value", "op": "changed",
                               "old": "a", "new": "b"}]


# --- stateful resources removed, retain policies dropped ----------------------------------------------

@pytest.mark.parametrize("rel,label", [("apps/manifests/db/pvc.yaml", "PersistentVolumeClaim db/backups"),
                                       ("apps/manifests/db/database.yaml", "Database.k8s.mariadb.com db/app"),
                                       ("apps/manifests/db/sts.yaml", "StatefulSet.apps db/db")])
def test_removed_stateful_resource_fires(tmp_path, capsys, rel, label):
    code, app = risks_of(tmp_path, capsys, delete=[rel])
    [risk] = _with(app, "stateful-removed")
    assert risk["object"] == label and "prunes" in risk["message"] and code == 1


def test_removed_configmap_is_no_risk(tmp_path, capsys):
    code, app = risks_of(tmp_path, capsys, delete=["apps/manifests/db/configmap.yaml"])
    assert app["objects"]["removed"] == 1 and app["risks"] == [] and code == 0


@pytest.mark.parametrize("change,field", [({"policy": "Delete"}, "spec.cleanupPolicy"),
                                          ({"when": "Delete"}, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"),
                                          ({"pvc_annotations": "{}"}, "metadata.annotations[helm.sh/resource-policy]")])
def test_retain_policy_dropped_fires(tmp_path, capsys, change, field):
    code, app = risks_of(tmp_path, capsys, **change)
    [risk] = _with(app, "retain-dropped")
    assert risk["field"] == field and code == 1


def test_retain_policy_kept_is_no_risk(tmp_path, capsys):
    code, app = risks_of(tmp_path, capsys, pvc_annotations="{helm.sh/resource-policy: keep, note: x}")
    assert _with(app, "retain-dropped") == [] and code == 0


# --- custom resources ----------------------------------------------------------------------------------

def test_custom_resource_api_version_move_fires(tmp_path, capsys):
    code, app = risks_of(tmp_path, capsys, widget="v2")
    [risk] = _with(app, "api-version-moved")
    assert risk["object"] == "Widget.example.com db/w" and "example.com/v1" in risk["message"]
    assert [d["status"] for d in app["diffs"]] == ["changed"]  # one object that moves, not a removal and an addition


def test_unchanged_custom_resource_is_no_risk(tmp_path, capsys):
    code, app = risks_of(tmp_path, capsys, mode="c")
    assert _with(app, "api-version-moved") == [] and code == 0


# --- secrets are never printed ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "markdown", "html", "text"])
def test_secret_values_are_masked_in_every_format(tmp_path, capsys, fmt):
    from gitops_kit.cli import main

    root = dir_repo(tmp_path, {"apps/manifests/db/secret.yaml": SECRET.format(password="New-Pa55word-y2")})
    code = main(["check-update", str(root), "--base", "HEAD~1", "--format", fmt])
    out = capsys.readouterr().out
    assert code == 0 and "Old-Pa55word-x1" not in out and "New-Pa55word-y2" not in out
    if fmt == "json":
        [diff] = app_of(json.loads(out), "db")["diffs"]
        assert diff["fields"] == [{"path": "stringData.password", "op": "changed", "old": "***",
                                   "new": "*** (changed)"}]
    elif fmt == "html":  # the side-by-side diff shows the line, its value masked
        assert "password: &#x27;***&#x27;" in out
    else:  # the change is shown, its values are not
        assert "stringData.password" in out and ("*** (changed)" in out or fmt == "text")


# --- chart risks: crds/, values no longer read, values.schema.json -------------------------------------

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: gadgets.example.com}}
spec:
  group: example.com
  names: {{kind: Gadget, plural: gadgets}}
  scope: Namespaced
  versions:{versions}
"""
V1 = "\n    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}"
V2 = "\n    - {name: v2, served: true, storage: false, schema: {openAPIV3Schema: {type: object}}}"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata:\n  size: {{ .Values.size | quote }}\n"
LEGACY = "  legacy: {{ .Values.legacyKey | quote }}\n"
SCHEMA = json.dumps({"type": "object", "properties": {"size": {"type": "string", "pattern": "^[0-9]+Gi$"}}})
CHARTS = {
    "1.0.0": {"values.yaml": "size: 1Gi\nlegacyKey: a\n", "templates/cm.yaml": CM + LEGACY,
              "crds/gadget.yaml": CRD.format(versions=V1)},
    "1.0.1": {"values.yaml": "size: 1Gi\nlegacyKey: a\n", "templates/cm.yaml": CM + LEGACY,
              "crds/gadget.yaml": CRD.format(versions=V1)},
    "1.1.0": {"values.yaml": "size: 1Gi\n", "templates/cm.yaml": CM, "crds/gadget.yaml": CRD.format(versions=V1 + V2),
              "values.schema.json": SCHEMA},
}


def _tgz(version: str, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel, text in {"Chart.yaml": f"apiVersion: v2\nname: gadget\nversion: {version}\n", **files}.items():
            data = text.encode()
            info = tarfile.TarInfo(f"gadget/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def gadget_repo(tmp_path_factory, module_cache):
    """A Helm repository with gadget 1.0.0, 1.0.1 (same content) and 1.1.0, served and pulled."""
    from served_charts import serve

    from gitops_kit.charts import ChartRef
    from gitops_kit.charts.fetch import Session

    folder = tmp_path_factory.mktemp("gadget-repo")
    entries = []
    for version, files in CHARTS.items():
        data = _tgz(version, files)
        (folder / f"gadget-{version}.tgz").write_bytes(data)
        entries.append(f"    - {{name: gadget, version: {version}, urls: [gadget-{version}.tgz], "
                       f"digest: {hashlib.sha256(data).hexdigest()}}}")
    (folder / "index.yaml").write_text("apiVersion: v1\nentries:\n  gadget:\n" + "\n".join(entries) + "\n")
    with serve(folder) as server:
        session = Session({})
        for version in CHARTS:
            session.pull(ChartRef(server.url, "gadget", version))
        yield server.url


def chart_risks(tmp_path: Path, capsys, url: str, old: str, new: str, values: str = "size: 1Gi\nlegacyKey: b\n",
                new_values: str | None = None) -> tuple[int, dict]:
    root = tmp_path / "platform"
    root.mkdir()
    app = APP.format(name="gadget", chart="gadget", version="{v}").replace("https://charts.example.com", url)
    before = {".gitops-kit.yaml": CONFIG, "argo/apps/gadget-app.yaml": app.replace("{v}", old),
              "apps/helm/gadget/values.yaml": values}
    after = {"argo/apps/gadget-app.yaml": app.replace("{v}", new)}
    if new_values is not None:
        after["apps/helm/gadget/values.yaml"] = new_values
    code, doc = check_json(two_commits(root, before, after), capsys)
    return code, app_of(doc, "gadget")


def test_changed_crds_and_unread_values_fire(tmp_path, capsys, gadget_repo):
    code, app = chart_risks(tmp_path, capsys, gadget_repo, "1.0.0", "1.1.0")
    assert app["rendered"], app["problems"]
    [crd] = _with(app, "crd-changed")
    assert crd["field"] == "crds/gadget.yaml" and "never upgrades" in crd["message"]
    [unread] = _with(app, "values-unread")
    assert unread["field"] == "legacyKey" and unread["path"] == "apps/helm/gadget/values.yaml" and unread["line"] == 2
    assert _with(app, "values-schema") == [] and code == 0  # warnings: the verdict says check, the exit stays 0
    assert app["verdict"] == "check"
    assert {d["kind"] for d in app["diffs"]} == {"ConfigMap", "CustomResourceDefinition"}
    [cm] = [d for d in app["diffs"] if d["kind"] == "ConfigMap"]
    assert cm["fields"][0]["path"] == "data.legacy" and cm["fields"][0]["op"] == "removed"


def test_same_crds_and_read_values_are_no_risk(tmp_path, capsys, gadget_repo):
    code, app = chart_risks(tmp_path, capsys, gadget_repo, "1.0.0", "1.0.1")
    assert app["rendered"] and app["risks"] == [] and app["diffs"] == [] and code == 0
    assert app["verdict"] == "ok"


def test_values_rejected_by_the_new_schema_fire(tmp_path, capsys, gadget_repo):
    code, app = chart_risks(tmp_path, capsys, gadget_repo, "1.0.0", "1.1.0", values="size: 10G\n")
    [schema] = _with(app, "values-schema")
    assert schema["field"] == "size" and schema["severity"] == "error" and code == 1


def test_values_the_new_schema_accepts_are_no_risk(tmp_path, capsys, gadget_repo):
    code, app = chart_risks(tmp_path, capsys, gadget_repo, "1.0.0", "1.1.0", values="size: 10Gi\n")
    assert _with(app, "values-schema") == [] and _with(app, "values-unread") == []
    assert code == 0
