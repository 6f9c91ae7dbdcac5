"""``path:line:col: severity [rule] message`` lines and a one-line summary."""

from __future__ import annotations

from ..findings import Finding, Severity

_COLOURS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_RESET, _BOLD = "\x1b[0m", "\x1b[1m"


def render(findings: list[Finding], summary: dict, colour: bool = False) -> str:
    """The text report."""
    lines = []
    for f in findings:
        sev = str(f.severity)
        loc = f"{f.path}:{f.line}:{f.column}:"
        if colour:
            sev = f"{_COLOURS[f.severity]}{sev}{_RESET}"
            loc = f"{_BOLD}{loc}{_RESET}"
        lines.append(f"{loc} {sev} [{f.rule}] {f.message}")
    s = summary
    lines.append(f"{s['error']} error(s), {s['warning']} warning(s), {s['info']} info; {s['files']} file(s), "
                 f"{s['objects']} object(s) checked by {s['rules']} rule(s); {s['suppressed']} suppressed"
                 + (f", {s['baselined']} in baseline" if s.get("baselined") else ""))
    return "\n".join(lines) + "\n"
