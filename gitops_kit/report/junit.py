"""JUnit XML: one test case per checked file and rule, failed where that rule found something."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from ..findings import Finding


def render(findings: list[Finding], files: list[str], rules: list[str]) -> str:
    """``<testsuites>`` with one ``<testsuite>`` per rule."""
    by_key: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        by_key.setdefault((f.rule, f.path), []).append(f)
    all_files = sorted(set(files) | {f.path for f in findings})
    root = ET.Element("testsuites", name="gitops-kit")
    total = failures = 0
    for rule in sorted(set(rules) | {f.rule for f in findings}):
        suite = ET.SubElement(root, "testsuite", name=rule)
        n = fails = 0
        for path in all_files:
            case = ET.SubElement(suite, "testcase", classname=path, name=rule, file=path)
            n += 1
            hits = by_key.get((rule, path))
            if hits:
                fails += 1
                text = "\n".join(f"{h.path}:{h.line}:{h.column}: {h.severity} {h.message}" for h in hits)
                failure = ET.SubElement(case, "failure", message=hits[0].message, type=str(hits[0].severity))
                failure.text = text
        suite.set("tests", str(n))
        suite.set("failures", str(fails))
        suite.set("errors", "0")
        total += n
        failures += fails
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
