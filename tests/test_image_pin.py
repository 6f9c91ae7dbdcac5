"""image-pin beyond the case driver: the reference grammar, the parameters, positions, odd shapes,
the no-value-in-messages property; and the Secret.data base64 helper of issue 19 part 2."""

from __future__ import annotations


import pytest

from gitops_kit import catalog
from gitops_kit.checks import _secret_data, image_pin
from gitops_kit.checks.image_pin import ImageRef, glob_match, is_moving, parse_image
from helpers import model_of, run_check

RULE = "image-pin"

DIGEST = "sha256:" + "0123456789abcdef" * 4


def lines(hits: list) -> list[int]:
    return [h.pos[0] for h in hits]


# --- the reference grammar ---------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("nginx", ImageRef("nginx", None, None)),
    ("nginx:1.27.3", ImageRef("nginx", "1.27.3", None)),
    ("bitnami/kubectl:latest", ImageRef("bitnami/kubectl", "latest", None)),
    ("registry:5000/app", ImageRef("registry:5000/app", None, None)),  # a port, not a tag
    ("registry.example.com:5000/team/app:1.2", ImageRef("registry.example.com:5000/team/app", "1.2", None)),
    ("localhost/app:v1", ImageRef("localhost/app", "v1", None)),
    ("[::1]:5000/app:v1", ImageRef("[::1]:5000/app", "v1", None)),
    (f"app@{DIGEST}", ImageRef("app", None, DIGEST)),
    (f"app:1.0@{DIGEST}", ImageRef("app", "1.0", DIGEST)),
    ("app:", ImageRef("app", "", None)),
    ("postgres://app:hunter2@db.example.com:5432/app", None),
    ("app@sha256:short", None),
    ("Registry/app:1", ImageRef("Registry/app", "1", None)),  # upper case names a registry host
    ("team/App:1", None),  # repository paths are lower case
    ("app:1:2", None),
    ("app:-bad", None),
    ("two words", None),
    ("", None),
    ("a" * 2000, None),
])
def test_parse_image(text, expected):
    assert parse_image(text) == expected


@pytest.mark.parametrize("tag,moving", [
    ("latest", True), ("LATEST", True), ("stable", True), ("stable-alpine", True), ("lts-slim", True),
    ("main", True), ("nightly", True), ("1.27.3", False), ("v2.13.2", False), ("main-4f2a1c3", False),
    ("latest-alpine3.20", False), ("mainline2", False), ("3.21", False),
])
def test_moving_tags(tag, moving):
    tags = frozenset(catalog.load()["image-pin"].params["moving_tags"])
    assert is_moving(tag, tags) is moving


@pytest.mark.parametrize("pattern,text,ok", [
    ("busybox", "busybox", True), ("busybox", "example/busybox", False), ("registry.example.com/*",
     "registry.example.com/a/b", True), ("*/kubectl", "bitnami/kubectl", True), ("a?c", "abc", True),
    ("a?c", "ac", False), ("*a*b*c*", "xaxbxc", True), ("*a*b*c*", "xaxcxb", False), ("", "", True),
    ("*", "", True), ("a*", "b", False),
])
def test_glob(pattern, text, ok):
    assert glob_match(pattern, text) is ok


def test_glob_on_hostile_input_finishes():
    # Many stars against a long near-miss: the walk stays within len(pattern) * len(text) steps.
    assert glob_match("*a" * 200 + "b", "a" * 1000) is False


# --- objects and positions ---------------------------------------------------------------------------

POD = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      image: bitnami/kubectl:latest
    - name: b
      image: "homepage:stable"
    - name: c
      image: mendhak/http-https-echo
    - name: d
      image: registry:5000/app:1.0
"""


def test_position_is_the_tag_or_the_image(tmp_path):
    hits = run_check(tmp_path, RULE, {"apps/manifests/x/pod.yaml": POD})
    assert [h.pos for h in hits] == [(7, 30), (9, 24), (11, 14)]
    assert '"latest"' in hits[0].message and '"stable"' in hits[1].message
    assert "no tag" in hits[2].message


ODD = """apiVersion: apps/v1
kind: Deployment
metadata: {name: odd}
spec: {template: {spec: {containers: text, initContainers: [null, 5, {name: x}, {image: 5}, {image: null}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: odd}
spec: {jobTemplate: [a]}
---
apiVersion: example.com/v1
kind: Rollout
metadata: {name: not-argo}
spec: {template: {spec: {containers: [{name: a, image: "app:latest"}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: [x]
spec: null
"""


def test_odd_shapes_do_not_crash(tmp_path):
    files = {"apps/manifests/x/odd.yaml": ODD,
             "apps/helm/x/values.yaml": "- [1, 2]\n- image: {repository: 5, tag: latest}\n- image: [a]\n"
                                        "- image: {registry: null, repository: app, tag: {a: b}}\n- image: 7\n",
             "apps/manifests/x/kustomization.yaml": "images: [null, 5, {name: 5}, {name: a, newTag: [x]}]\n"
                                                    "helmCharts: [null, {valuesInline: text}]\n",
             "argo/apps/odd-app.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: odd}\n"
                                       "spec:\n  sources:\n    - {helm: {values: 5, valuesObject: text, parameters: "
                                       "[null, {name: 5}, {name: image.tag}]}, kustomize: {images: [5, null]}}\n"
                                       "    - {helm: {values: 'image: [unclosed'}}\n"}
    assert run_check(tmp_path, RULE, files) == []


# --- values ----------------------------------------------------------------------------------------

VALUES = """image:
  repository: app
  tag: ""
other:
  image:
    repository: app2
kept:
  image: {repository: app3, tag: 1.21}
"""


def test_chart_default_tags_are_not_findings_unless_a_digest_is_required(tmp_path):
    assert run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": VALUES}) == []
    hits = run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": VALUES}, require_digest=True)
    assert lines(hits) == [3, 6, 8]
    assert all("require_digest" in h.message for h in hits)


def test_require_digest(tmp_path):
    files = {"apps/manifests/x/pod.yaml": POD.replace("bitnami/kubectl:latest", f"bitnami/kubectl:1.31.4@{DIGEST}")}
    assert lines(run_check(tmp_path, RULE, files)) == [9, 11]
    hits = run_check(tmp_path, RULE, files, require_digest=True)
    assert lines(hits) == [9, 11, 13]  # registry:5000/app:1.0 has a tag but no digest
    assert '"1.0"' in hits[-1].message and "no digest" in hits[-1].message


def test_moving_tags_parameter(tmp_path):
    files = {"apps/manifests/x/pod.yaml": POD.replace("registry:5000/app:1.0", "registry:5000/app:prod")}
    assert lines(run_check(tmp_path, RULE, files)) == [7, 9, 11]
    assert lines(run_check(tmp_path, RULE, files, moving_tags=["prod", "Latest"])) == [7, 11, 13]


def test_exempt_parameter(tmp_path):
    files = {"apps/manifests/x/pod.yaml": POD}
    assert lines(run_check(tmp_path, RULE, files, exempt=["docker.io/bitnami/*", "homepage"])) == [11]
    assert lines(run_check(tmp_path, RULE, files, exempt=["*"])) == []


def test_kustomize_retag_hides_the_resource_and_is_judged_itself(tmp_path):
    files = {"apps/manifests/x/pod.yaml": POD,
             "apps/manifests/x/kustomization.yaml": "resources: [pod.yaml]\nimages:\n"
                                                    "  - {name: mendhak/http-https-echo, newTag: '35'}\n"
                                                    "  - {name: docker.io/bitnami/kubectl, newTag: edge}\n"}
    hits = run_check(tmp_path, RULE, files)
    assert [(h.path, h.pos[0]) for h in hits] == [("apps/manifests/x/kustomization.yaml", 4),
                                                  ("apps/manifests/x/pod.yaml", 9)]


SECRETS = """image: "postgres://app:hunter2-s3cret@db.example.com:5432/app"
worker:
  image: {repository: "user:hunter2 s3cret", tag: latest}
cache:
  image: {repository: cache, tag: "hunter2 s3cret!"}
job:
  image: "cache:hunter2 s3cret"
plain:
  image: busybox:latest
"""


def test_values_that_are_not_images_are_never_judged_or_shown(tmp_path):
    hits = run_check(tmp_path, RULE, {"apps/helm/x/values.yaml": SECRETS}, require_digest=True)
    assert lines(hits) == [9]  # only the real image; the others are not references or tags
    for h in hits:
        assert "hunter2" not in h.message and "s3cret" not in h.message and "busybox" not in h.message


def test_messages_quote_only_a_tag_that_matches_the_grammar():
    assert image_pin.quoted_tag("v1.2") == '"v1.2"'
    assert image_pin.quoted_tag("pass word") == "(not shown)"
    assert image_pin.quoted_tag("x" * 129) == "(not shown)"


def test_inline_helm_values_positions(tmp_path):
    app = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: a}
spec:
  source:
    repoURL: https://charts.example.com
    chart: a
    targetRevision: 1.0.0
    helm:
      values: |
        image:
          repository: a
          tag: main
        folded: {image: "b:edge"}
      valuesObject:
        image: "c:nightly"
"""
    hits = run_check(tmp_path, RULE, {"argo/apps/a-app.yaml": app})
    assert [h.pos for h in hits] == [(13, 16), (14, 28), (16, 19)]
    assert "helm.values: image.tag" in hits[0].message and "helm.valuesObject: image" in hits[2].message


# --- Secret.data (issue 19 part 2) ---------------------------------------------------------------------

SECRET = """apiVersion: v1
kind: Secret
metadata: {name: db}
data:
  good: aHVudGVyMg==
  wrapped: |
    aHVudGVy
    Mg==
  spaced: aHVu dGVyMg==
  unpadded: aHVudGVyMg
  plain: hunter2!
  avp: <path:kv/data/argocd/db#password>
  avp-key: <password>
  helm: "{{ .Values.password | b64enc }}"
  empty: ""
  number: 5
  nothing:
"""


def test_invalid_base64_in_secret_data(tmp_path):
    repo = model_of(tmp_path, {"apps/manifests/x/secret.yaml": SECRET,
                               "apps/manifests/x/other.yaml": SECRET.replace("v1\n", "example.com/v1\n", 1)})
    hits = sorted(_secret_data.invalid_base64(repo), key=lambda h: h.pos)
    # avp-key (13): a bare <key> is AVP's only on an object with the avp.kubernetes.io/path annotation
    assert [(h.path, h.pos[0]) for h in hits] == [("apps/manifests/x/secret.yaml", n) for n in (9, 10, 11, 13)]
    annotated = SECRET.replace("metadata: {name: db}", "metadata: {name: db, annotations: {avp.kubernetes.io/path: kv/x}}")
    repo = model_of(tmp_path / "annotated", {"apps/manifests/x/secret.yaml": annotated})
    assert [h.pos[0] for h in _secret_data.invalid_base64(repo)] == [9, 10, 11]
    assert hits[0].message == ("Secret 'db' data.spaced is not valid base64: the API server rejects it; "
                               "put plain text under stringData")
    assert all("hunter" not in h.message and "aHVu" not in h.message for h in hits)


@pytest.mark.parametrize("value,ok", [("", True), ("YWJj", True), ("YWJ", False), ("YW Jj", False),
                                      ("YW\r\nJj", True), ("YWJj\n", True), ("YW-j", False)])
def test_valid_base64(value, ok):
    assert _secret_data.valid_base64(value) is ok
