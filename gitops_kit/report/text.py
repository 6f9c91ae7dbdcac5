"""``path:line:col: severity [rule] message`` lines and a one-line summary.

A finding that follows from another (``Finding.cause``) is printed right after its cause, marked
``(follows from [rule] path:line:col)``; one whose cause is not in the report stays in path order
with the same mark. A finding ``--fix`` can repair is marked ``[*]`` after its rule id (``[*?]``:
only with ``--unsafe-fixes``), and the summary says how many there are. When findings of the seed
layout's conventions stand as warnings because the repository has not opted into them, a last
line says so, once, and how to opt in.
"""

from __future__ import annotations

from ..findings import Finding, Severity

_COLOURS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_RESET, _BOLD = "\x1b[0m", "\x1b[1m"
FIX_MARK = {"safe": " [*]", "unsafe": " [*?]"}


def ordered(findings: list[Finding]) -> list[Finding]:
    """``findings`` with each one that follows from another moved right after its cause."""
    present = {f.fingerprint for f in findings}
    after: dict[str, list[Finding]] = {}
    moved: set[int] = set()
    for f in findings:
        if f.cause is not None and f.cause.fingerprint in present and f.cause.fingerprint != f.fingerprint:
            after.setdefault(f.cause.fingerprint, []).append(f)
            moved.add(id(f))
    out: list[Finding] = []
    for f in findings:
        if id(f) not in moved:
            out.append(f)
            out.extend(after.pop(f.fingerprint, ()))
    for rest in after.values():  # a cause that itself follows from another: never lose a finding
        out.extend(rest)
    return out


# Said once, after the summary, when convention findings were lowered to warnings.
OPT_IN_HINT = ("{n} finding(s) of the seed layout's conventions reported as warnings at most: this repository has "
               "not opted into them (no .gitops-kit.yaml, not the seed layout); `gitops-kit adopt --write` writes "
               "the configuration that describes it and opts in")


def render(findings: list[Finding], summary: dict, colour: bool = False, lowered: int = 0) -> str:
    """The text report; ``lowered``: how many convention findings stand below their rule's
    severity because the repository has not opted into the conventions (a hint says how to)."""
    lines = []
    for f in ordered(findings):
        sev = str(f.severity)
        loc = f"{f.path}:{f.line}:{f.column}:"
        if colour:
            sev = f"{_COLOURS[f.severity]}{sev}{_RESET}"
            loc = f"{_BOLD}{loc}{_RESET}"
        follows = f" (follows from {f.cause})" if f.cause is not None else ""
        lines.append(f"{loc} {sev} [{f.rule}]{FIX_MARK.get(f.fix or '', '')} {f.message}{follows}")
    s = summary
    lines.append(f"{s['error']} error(s), {s['warning']} warning(s), {s['info']} info; {s['files']} file(s), "
                 f"{s['objects']} object(s) checked by {s['rules']} rule(s); {s['suppressed']} suppressed"
                 + (f", {s['baselined']} in baseline" if s.get("baselined") else ""))
    safe = sum(1 for f in findings if f.fix == "safe")
    unsafe = sum(1 for f in findings if f.fix == "unsafe")
    if safe or unsafe:
        hint = f"[*] {safe} fixable with --fix" if safe else "[*] 0 fixable with --fix"
        if unsafe:
            hint += f" ([*?] {unsafe} more with --fix --unsafe-fixes)"
        lines.append(hint + "; --diff previews the changes")
    if lowered:
        lines.append(OPT_IN_HINT.format(n=lowered))
    return "\n".join(lines) + "\n"
