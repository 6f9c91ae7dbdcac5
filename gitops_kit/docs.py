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


OPT_IN = ("a repository opts into them with a .gitops-kit.yaml (`gitops-kit adopt --write` or `init`) "
          "or by using the seed's layout (argo/root-<layer>.yaml, argo/<layer>/)")


def convention_text(spec: RuleSpec) -> str:
    """Whether the rule's findings judge a convention of the seed layout (an opinion, at most a
    warning where the repository has not opted in) or something that breaks, in Markdown."""
    if spec.convention:
        return ("Convention: **yes**. Its findings judge a convention of the seed layout, not something that "
                f"breaks a sync or loses data: they are at most warnings until {OPT_IN}.")
    if not spec.kinds:
        return ("Convention: **no**. Its findings are about something that breaks a sync, loses data or "
                "leaks it: their severity does not depend on opting into the seed's conventions.")
    conv = [f"- `{k.name}`: {k.what}" for k in spec.kinds if k.convention]
    rest = [f"- `{k.name}`: {k.what}" for k in spec.kinds if not k.convention]
    return "\n".join([f"Convention: **partly**. At most warnings until {OPT_IN}:", "", *conv, "",
                      "At the rule's severity everywhere:", "", *rest])


def explain_rule(spec: RuleSpec) -> str:
    """Markdown for one rule: summary, convention or not, why, fix, parameters, one failing and one
    passing example."""
    parts = [f"## {spec.id}", "", f"**{spec.summary}** (default severity: {spec.severity})", "",
             convention_text(spec), "",
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
             "do not edit by hand.", "",
             "Convention: whether a rule's findings judge a convention of the seed layout (yes, or partly: some "
             "kinds of finding) rather than what breaks a sync or loses data; those are at most warnings until "
             f"{OPT_IN}.", "",
             "| id | severity | convention | summary |", "|---|---|---|---|"]
    for spec in specs.values():
        lines.append(f"| [{spec.id}](#{spec.id}) | {spec.severity} | {spec.convention_label} | {spec.summary} |")
    lines.append("")
    for spec in specs.values():
        lines.append(explain_rule(spec))
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - used by CI and developers
    import sys

    from . import catalog

    sys.stdout.write(rules_markdown(catalog.load()))
