"""sync-wave beyond the rule cases: wave parsing, configured bands and orderings."""

from __future__ import annotations

import re

import pytest

from gitops_kit import yamlio
from gitops_kit.checks.sync_wave import parse_wave
from helpers import line_of, reference_config_with, reference_model, run_check

FILEBROWSER = "argo/apps/filebrowser-app.yaml"


def _set_wave(text: str | None, wave: str | None) -> str:
    """``text`` with its sync-wave annotation set to ``wave`` (None: the annotations removed)."""
    pattern = r'  annotations:\n    argocd.argoproj.io/sync-wave: "[-+0-9]+"\n'
    assert text and re.search(pattern, text)
    new = "" if wave is None else f"  annotations:\n    argocd.argoproj.io/sync-wave: {wave}\n"
    return re.sub(pattern, lambda _: new, text, count=1)


def _wave(text: str):
    return yamlio.load_text(f"w: {text}\n").documents[0].data["w"]


@pytest.mark.parametrize("text,number,ok", [
    ('"0"', 0, True), ('"-10"', -10, True), ('"+1"', 1, True), ("'7'", 7, True), ('"007"', 7, True),
    ("!!str 3", 3, True),  # a string on purpose, even unquoted
    ("1", 1, False), ("-3", -3, False),  # numbers keep their value, so bands are still checked
    ('"abc"', None, False), ("abc", None, False), ('"1.5"', None, False), ("1.5", None, False),
    ('" 1"', None, False), ('""', None, False), ("", None, False), ("true", None, False), ("[1]", None, False),
])
def test_parse_wave(text, number, ok):
    got, problem = parse_wave(_wave(text))
    assert got == number
    assert (problem is None) is ok


def test_configured_band_applies_to_a_missing_annotation(tmp_path):
    def change(d):
        d["layers"] = [dict(layer) for layer in _default_layers()]
        d["layers"][2]["child_waves"] = {"min": 1, "max": 9}
    text = _set_wave(reference_model(tmp_path / "ref", {}).files[FILEBROWSER].text, None)
    model = reference_model(tmp_path, {".gitops-kit.yaml": reference_config_with(tmp_path, change), FILEBROWSER: text})
    found = run_check(model, "sync-wave")
    by_path = {h.path: h for h in found}
    # the metadata key: there is no annotation to point at
    assert by_path[FILEBROWSER].pos == (line_of(text, "metadata:"), 1)
    assert "no sync-wave" in by_path[FILEBROWSER].message and "1..9" in by_path[FILEBROWSER].message
    assert {h.path for h in found} == {a.path for a in model.layers["apps"].apps}


def _default_layers():
    from gitops_kit import config

    return config._defaults()["layers"]


def test_dependency_in_an_earlier_layer_is_fine(tmp_path):
    cfg = reference_config_with(tmp_path, lambda d: d["apps"].update(
        {"netbox": {"after": ["postgres", "cnpg", "vault-ha"]}}))
    assert run_check(reference_model(tmp_path, {".gitops-kit.yaml": cfg}), "sync-wave") == []


def test_dependency_in_a_later_layer(tmp_path):
    cfg = reference_config_with(tmp_path, lambda d: d["apps"].update({"cert-manager": {"after": ["vault-ha"]}}))
    model = reference_model(tmp_path, {".gitops-kit.yaml": cfg})
    path = "argo/bootstrap/cert-manager-app.yaml"
    found = run_check(model, "sync-wave")
    assert [(h.path, h.pos[0]) for h in found] == [(path, line_of(model.files[path].text, "sync-wave"))]
    assert "later layer 'platform'" in found[0].message


def test_config_may_describe_apps_the_repository_lacks(tmp_path):
    cfg = reference_config_with(tmp_path, lambda d: d["apps"].update({"not-here": {"after": ["also-missing"]}}))
    assert run_check(reference_model(tmp_path, {".gitops-kit.yaml": cfg}), "sync-wave") == []


def test_ordering_against_an_unusable_wave_is_skipped(tmp_path):
    path = "argo/platform/vault-transit-app.yaml"
    text = _set_wave(reference_model(tmp_path / "ref", {}).files[path].text, '"soon"')
    found = run_check(reference_model(tmp_path, {path: text}), "sync-wave")
    assert [h.path for h in found] == [path]  # the bad wave itself, not a guess about vault-ha's order


def test_unquoted_wave_is_still_ordered(tmp_path):
    path = "argo/platform/vault-ha-app.yaml"
    text = _set_wave(reference_model(tmp_path / "ref", {}).files[path].text, "0")
    found = run_check(reference_model(tmp_path, {path: text}), "sync-wave")
    assert len(found) == 2 and {h.pos[0] for h in found} == {line_of(text, "sync-wave")}
    assert any("unquoted" in h.message for h in found) and any("vault-transit" in h.message for h in found)
