"""network-policy beyond the rule cases: odd shapes, policies anywhere in the repository, allow-all egress,
and one finding per missing policy with its own fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REFERENCE, overlay, reference_copy, run_check, run_lint

RULE = "network-policy"
FB_POLICIES = "apps/manifests/filebrowser/network-policy.yaml"
FB_APP = "argo/apps/filebrowser-app.yaml"
HEADER = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"


def missing(root: Path) -> set[str]:
    """Which of the three baseline policies filebrowser lacks, by fingerprint key suffix."""
    return {h.key.rsplit(":", 1)[1] for h in run_check(root, RULE) if h.path == FB_APP}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return reference_copy(tmp_path / "repo")


def policy(spec: str, name: str = "p", ns: str | None = "filebrowser") -> str:
    meta = f"metadata: {{name: {name}, namespace: {ns}}}\n" if ns else f"metadata: {{name: {name}}}\n"
    return HEADER + meta + spec


ODD_SPECS = [
    "spec: null\n", "spec: [a]\n", "spec: text\n", "spec: {podSelector: [a]}\n", "spec: {podSelector: text}\n",
    "spec: {podSelector: {}, policyTypes: Ingress}\n", "spec: {podSelector: {}, policyTypes: [1, null]}\n",
    "spec: {podSelector: {}, policyTypes: [Egress], egress: {a: b}}\n",
    "spec: {podSelector: {}, policyTypes: [Egress], egress: [null, text, {ports: text}, {ports: [null, 53, "
    "{port: 53.0}, {port: [53]}, {port: 1, endPort: text}, {protocol: 17, port: 53}]}]}\n",
    "spec: {podSelector: {}, ingress: text}\n",
]


def test_odd_shapes_never_crash(repo):
    docs = [policy(s, f"odd{i}") for i, s in enumerate(ODD_SPECS)]
    docs.append(HEADER + "metadata: null\nspec: {}\n")
    docs.append(HEADER + "metadata: {name: x, namespace: [filebrowser]}\nspec: {}\n")
    overlay(repo, {FB_POLICIES: "\n---\n".join(docs),
                   FB_APP: (repo / FB_APP).read_text().replace("namespace: filebrowser", "namespace: [filebrowser]")})
    run_check(repo, RULE)
    overlay(repo, {FB_APP: "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: filebrowser}\n"
                           "spec: {destination: text}\n"})
    run_check(repo, RULE)
    assert run_lint(repo).crashed == ()


def test_one_finding_per_missing_policy(repo):
    overlay(repo, {FB_POLICIES: None})
    assert missing(repo) == {"default-deny-ingress", "default-deny-egress", "allow-dns-egress"}
    found = [h for h in run_check(repo, RULE) if h.path == FB_APP]
    assert len({h.key for h in found}) == 3 and all(h.pos == found[0].pos for h in found)


def test_policies_anywhere_in_the_repository_count(repo):
    text = (repo / FB_POLICIES).read_text()
    overlay(repo, {FB_POLICIES: None, "infra/policies/filebrowser.yaml": text})
    assert missing(repo) == set()


def test_namespace_less_policy_outside_a_bundle_counts_nowhere(repo):
    text = (repo / FB_POLICIES).read_text().replace("  namespace: filebrowser\n", "")
    overlay(repo, {FB_POLICIES: None, "infra/policies/filebrowser.yaml": text})
    assert missing(repo) == {"default-deny-ingress", "default-deny-egress", "allow-dns-egress"}


def test_allow_all_egress_counts_as_dns_but_peer_without_ports_does_not(repo):
    deny = policy("spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n", "deny")
    overlay(repo, {FB_POLICIES: deny + "---\n" + policy("spec: {podSelector: {}, policyTypes: [Egress], "
                                                        "egress: [{}]}\n", "all")})
    assert missing(repo) == set()
    overlay(repo, {FB_POLICIES: deny + "---\n" + policy(
        "spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {}}]}]}\n", "peers")})
    assert missing(repo) == {"allow-dns-egress"}
    # policyTypes omitted with egress rules: Kubernetes implies Egress, so the DNS rule counts
    overlay(repo, {FB_POLICIES: deny + "---\n" + policy(
        "spec: {podSelector: {}, egress: [{ports: [{protocol: UDP, port: 53}]}]}\n", "implicit")})
    assert missing(repo) == set()


def test_egress_deny_needs_explicit_policy_type(repo):
    # Without policyTypes a policy is Ingress only: it does not deny egress.
    overlay(repo, {FB_POLICIES: policy("spec: {podSelector: {}}\n", "deny") + "---\n" + policy(
        "spec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 53, protocol: UDP}]}]}\n", "dns")})
    assert missing(repo) == {"default-deny-egress"}


def test_protocol_defaults_to_tcp(repo):
    deny = policy("spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n", "deny")
    overlay(repo, {FB_POLICIES: deny + "---\n" + policy(
        "spec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 53}]}]}\n", "dns")})
    assert missing(repo) == set()


def test_wrong_namespace_only_for_bundles_with_an_application(repo):
    overlay(repo, {"apps/manifests/orphan/np.yaml": policy("spec: {podSelector: {}}\n", "x", "netbox")})
    assert [h for h in run_check(repo, RULE) if h.path == "apps/manifests/orphan/np.yaml"] == []


def test_reference_is_clean():
    assert run_check(REFERENCE, RULE) == []
