"""resource-quota beyond the rule cases: odd shapes, what counts as a quota, where it may live."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REFERENCE, overlay, reference_copy, run_check, run_lint

RULE = "resource-quota"
FB_QUOTA = "apps/manifests/filebrowser/quota.yaml"
FB_APP = "argo/apps/filebrowser-app.yaml"


def quota(spec: str, api: str = "v1", ns: str | None = "filebrowser") -> str:
    meta = f"metadata: {{name: q, namespace: {ns}}}\n" if ns else "metadata: {name: q}\n"
    return f"apiVersion: {api}\nkind: ResourceQuota\n{meta}{spec}"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return reference_copy(tmp_path / "repo")


@pytest.mark.parametrize("spec", ["spec: null\n", "spec: [a]\n", "spec: text\n", "spec: {hard: [a]}\n",
                                  "spec: {hard: text}\n", "spec: {hard: null}\n", "spec: {hard: {}}\n", ""])
def test_odd_or_empty_quotas_do_not_count_and_never_crash(repo, spec):
    overlay(repo, {FB_QUOTA: quota(spec)})
    assert [h.path for h in run_check(repo, RULE)] == [FB_APP]
    assert run_lint(repo).crashed == ()


def test_only_core_v1_quotas_count(repo):
    overlay(repo, {FB_QUOTA: quota("spec: {hard: {pods: '5'}}\n", api="quota.example.com/v1")})
    assert [h.path for h in run_check(repo, RULE)] == [FB_APP]


def test_quota_anywhere_in_the_repository_counts(repo):
    overlay(repo, {FB_QUOTA: None, "infra/quotas.yaml": quota("spec: {hard: {pods: '5'}}\n")})
    assert run_check(repo, RULE) == []


def test_namespace_less_quota_in_another_bundle_does_not_count(repo):
    overlay(repo, {FB_QUOTA: None, "apps/manifests/netbox/extra-quota.yaml": quota("spec: {hard: {pods: '5'}}\n",
                                                                                  ns=None)})
    assert [h.path for h in run_check(repo, RULE)] == [FB_APP]


def test_odd_applications_never_crash(repo):
    overlay(repo, {FB_APP: "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: filebrowser}\n"
                           "spec: {destination: {namespace: 7}}\n"})
    run_check(repo, RULE)
    overlay(repo, {FB_APP: "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: [a]\nspec: null\n"})
    run_check(repo, RULE)


def test_reference_is_clean():
    assert run_check(REFERENCE, RULE) == []
