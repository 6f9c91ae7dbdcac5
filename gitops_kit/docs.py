"""Rule documentation, generated from rules/*.yaml (``rules explain`` and docs/rules.md)."""

from __future__ import annotations

import re

from .catalog import Example, RuleSpec

# `# expect: rule-id` marks the lines a failing example must be reported on: for the tests
# (tests/helpers.py), not for the reader.
_EXPECT = re.compile(r"\s*#\s*expect:\s*[a-z0-9,\- ]+\s*$")


def without_markers(content: str) -> str:
    """``content`` without its ``# expect:`` comments (a line that held only one is dropped)."""
    out = []
    for line in content.split("\n"):
        stripped = _EXPECT.sub("", line)
        if stripped.strip() or not line.strip():
            out.append(stripped)
    return "\n".join(out)


def _example_block(example: Example) -> str:
    out = []
    if example.description:
        out.append(example.description.strip())
    for path, content in example.files.items():
        if content is None:
            out.append(f"(file `{path}` removed)")
            continue
        out.append(f"```yaml\n# {path}\n{without_markers(content).rstrip()}\n```")
    return "\n\n".join(out)


def explain_rule(spec: RuleSpec) -> str:
    """Markdown for one rule: summary, why, fix, parameters, one failing and one passing example."""
    parts = [f"## {spec.id}", "", f"**{spec.summary}** (default severity: {spec.severity})", "",
             "### Why is this bad?", "", spec.why, "", "### How to fix", "", spec.fix, ""]
    if spec.params:
        parts += ["### Parameters", ""]
        for key, value in spec.params.items():
            parts.append(f"- `{key}`: default `{value!r}`")
        parts.append("")
    for kind, title in (("fail", "Example that fails"), ("pass", "Example that passes")):
        example = spec.example(kind)
        if example is not None:
            parts += [f"### {title}", "", _example_block(example), ""]
    if spec.references:
        parts += ["### References", ""] + [f"- {r}" for r in spec.references] + [""]
    return "\n".join(parts)


def rules_markdown(specs: dict[str, RuleSpec]) -> str:
    """docs/rules.md: an index table and every rule's page."""
    lines = ["# gitops-kit rules", "", "Generated from `rules/*.yaml` by `python -m gitops_kit.docs`; "
             "do not edit by hand.", "", "| id | severity | summary |", "|---|---|---|"]
    for spec in specs.values():
        lines.append(f"| [{spec.id}](#{spec.id}) | {spec.severity} | {spec.summary} |")
    lines.append("")
    for spec in specs.values():
        lines.append(explain_rule(spec))
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - used by CI and developers
    import sys

    from . import catalog

    sys.stdout.write(rules_markdown(catalog.load()))
