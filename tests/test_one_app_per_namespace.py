"""one-app-per-namespace beyond the rule cases: per-app overrides and ordering."""

from __future__ import annotations

from helpers import line_of, reference_config_with, reference_model, run_check

EXTRA = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: NAME, namespace: argocd-system}
spec:
  destination: {server: https://kubernetes.default.svc, namespace: NS}
"""


def _app(name: str, namespace: str) -> str:
    return EXTRA.replace("NAME", name).replace("NS", namespace)


def test_first_in_path_order_keeps_the_namespace(tmp_path):
    model = reference_model(tmp_path, {"argo/apps/a-netbox-app.yaml": _app("a-netbox", "netbox"),
                                       "argo/apps/z-netbox-app.yaml": _app("z-netbox", "netbox")})
    model.applications.reverse()  # the order of the model must not matter
    found = run_check(model, "one-app-per-namespace")
    assert [h.path for h in found] == ["argo/apps/netbox-app.yaml", "argo/apps/z-netbox-app.yaml"]
    assert all("'a-netbox' (argo/apps/a-netbox-app.yaml)" in h.message for h in found)
    netbox = model.files["argo/apps/netbox-app.yaml"].text
    assert found[0].pos[0] == line_of(netbox, "namespace: netbox") and found[0].app == "netbox"


def test_owns_namespace_override(tmp_path):
    files = {"argo/apps/netbox-worker-app.yaml": _app("netbox-worker", "netbox"),
             ".gitops-kit.yaml": reference_config_with(tmp_path, lambda d: d["apps"].update(
                 {"netbox-worker": {"owns_namespace": False},
                  "loki": {"tier": "worker", "owns_namespace": True},
                  "promtail": {"daemonset": True, "after": ["loki"], "owns_namespace": True}}))}
    found = run_check(reference_model(tmp_path, files), "one-app-per-namespace")
    # netbox-worker shares on purpose; loki and promtail now own monitoring-core, so promtail conflicts.
    assert [h.path for h in found] == ["argo/platform/promtail-app.yaml"]


def test_apps_without_a_destination_namespace_do_not_collide(tmp_path):
    files = {f"argo/apps/x{i}-app.yaml": EXTRA.replace("NAME", f"x{i}").replace(", namespace: NS", "")
             for i in range(3)}
    assert run_check(reference_model(tmp_path, files), "one-app-per-namespace") == []
