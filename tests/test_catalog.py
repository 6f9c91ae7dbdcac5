"""Rule metadata: complete, consistent with the check registry, and the source of the docs."""

from __future__ import annotations

import json

import pytest

from gitops_kit import catalog, checks
from gitops_kit.config import schema
from gitops_kit.docs import rules_markdown
from helpers import PROJECT


def test_every_rule_is_complete():
    specs = catalog.load()
    assert specs
    for spec in specs.values():
        assert spec.summary and "\n" not in spec.summary, spec.id
        assert len(spec.why) > 80, f"{spec.id}: the rationale must explain the harm"
        assert spec.fix, spec.id
        assert spec.check == "suppression" or spec.check in checks.REGISTRY, spec.id


def test_every_registered_check_with_a_rule_imports():
    for spec in catalog.load().values():
        if spec.check != "suppression":
            assert callable(checks.get(spec.check)), spec.id


def test_rule_files_validate_against_the_rule_schema():
    jsonschema = pytest.importorskip("jsonschema")
    from gitops_kit import yamlio

    rule_schema = schema("rule.schema.json")
    for path in sorted((PROJECT / "rules").glob("*.yaml")):
        data = json.loads(json.dumps(yamlio.load_text(path.read_text()).documents[0].data))
        jsonschema.validate(data, rule_schema)


def test_docs_are_generated_from_the_catalog_and_fresh():
    docs = PROJECT / "docs" / "rules.md"
    expected = rules_markdown(catalog.load())
    assert docs.is_file(), "run: python -m gitops_kit.docs > docs/rules.md"
    assert docs.read_text() == expected, "docs/rules.md is stale: python -m gitops_kit.docs > docs/rules.md"


def test_default_config_is_valid_against_the_config_schema():
    jsonschema = pytest.importorskip("jsonschema")
    from gitops_kit.config import _defaults

    jsonschema.validate(_defaults(), schema("config.schema.json"))
