"""check-update's reports: pure functions of the report, no I/O.

- :func:`markdown`: one merge-request comment. A one-screen summary table first (per app: bump,
  verdict, risk count, objects), then one ``<details>`` section per app, cut at object boundaries so
  the comment stays within ``limit`` characters (GitLab's note limit is 1,000,000); when it is cut,
  the comment names the artifact that holds the whole report (:func:`markdown` with no limit).
- :func:`html`: a self-contained page (inline CSS, no script, no external asset), a side-by-side
  diff per object.
- :func:`as_dict`: the JSON document, described by ``schemas/check-update.schema.json``.

Every value from the repository or the render is printed as :func:`gitops_kit.update.shown`
prints it, and a Secret's values never appear (see :mod:`.objdiff`).
"""

from __future__ import annotations

import html as _html
from typing import Any

from ..update import _escape_controls, shown
from .analysis import AppResult, ObjectDiff
from .objdiff import short

MARKER = "<!-- gitops-kit:check-update -->"
GITLAB_NOTE_LIMIT = 1_000_000
_ROWS_PER_OBJECT = 60
_YAML_INLINE = 4000


def _safe_lines(text: str) -> str:
    """Multi-line text with the control characters of each line escaped (newlines kept)."""
    return "\n".join(_escape_controls(line) for line in text.split("\n"))


def _code(value: object) -> str:
    """A value inside a markdown code span: no backtick or pipe can end it, no control character survives."""
    text = str(shown(value))
    return "`" + (text.replace("`", "'").replace("|", "\\|") or " ") + "`"


def change_text(c: Any, code: Any = None) -> str:
    """One version change, "image `redis` `5.0.1` → `6.0.0` (major)"; an image or chart that only
    one side has reads "added" or "removed" (never a Python ``None``). ``code`` formats a value."""
    code = code or _code
    if c.old is None or c.new is None:
        return f"{c.kind} {code(c.name)} {code(c.new if c.old is None else c.old)} " + \
            ("added" if c.old is None else "removed")
    return f"{c.kind} {code(c.name)} {code(c.old)} → {code(c.new)} ({c.bump})"


def bump_text(app: AppResult) -> str:
    parts = [change_text(v.change) for v in app.verdicts]
    if not parts:
        return "; ".join(_escape_controls(w).replace("|", "\\|") for w in app.why[:2]) or "-"
    return "<br>".join(parts)


def _counts(app: AppResult) -> str:
    if app.status == "changed" and not app.diffs and not app.unchanged and not app.problems:
        return "-"
    c = app.counts()
    return f"+{c['added']} −{c['removed']} ~{c['changed']}"


def summary_lines(report: Any) -> list[str]:
    apps = report.apps
    risks = sum(a.risk_count for a in apps)
    lines = [MARKER, "### gitops-kit update check", "",
             f"Base `{report.base[:12]}` · {len(apps)} app(s) affected · {risks} risk(s) · "
             f"exit {report.exit_code} ({'fails' if report.exit_code else 'passes'} the update policy)", ""]
    if apps:
        lines += ["| app | bump | verdict | risks | objects (+ − ~) |", "|---|---|---|---|---|"]
        for a in apps:
            lines.append(f"| {_code(a.name)} | {bump_text(a)} | **{a.verdict}** | {a.risk_count} | {_counts(a)} |")
    else:
        lines.append("no version changes and no affected app found")
    other = [v for v in report.verdicts if not any(v in a.verdicts for a in apps)]
    for v in other:
        c = v.change
        lines.append(f"- {change_text(c)}: {v.level}")
    reasons = [(v.change, r) for a in apps for v in a.verdicts for r in v.reasons]
    if reasons:
        lines += [""] + [f"- {_code(c.app or '-')} {c.kind} {_code(c.name)}: {_escape_controls(r)}"
                         for c, r in reasons]
    for a in apps:
        checklist = next((v.checklist for v in a.verdicts if v.checklist), ())
        if checklist:
            lines += ["", f"**{_code(a.name)} owns stateful resources; before merging:**"]
            lines += [f"- [ ] {item}" for item in checklist]
    if report.findings:
        lines += ["", f"lint of the changed apps: {len(report.findings)} finding(s)"]
        for f in report.findings[:20]:
            lines.append(f"- {_code(f.path)}:{f.line}: {f.severity} [{f.rule}] {_escape_controls(str(f.message))}")
    return lines


def _risk_line(r: Any) -> str:
    where = f" {_code(r.object)}" if r.object else ""
    field = f" field {_code(r.field)}" if r.field else ""
    at = f" ({_code(r.path)}:{r.line})" if r.path else ""
    return f"- **{r.severity}** `{r.rule}`{where}{field}{at}: {_escape_controls(r.message)}"


def app_head(a: AppResult) -> list[str]:
    c = a.counts()
    lines = ["", f"<details><summary><b>{_html.escape(str(shown(a.name)))}</b>: {a.verdict}, {c['changed']} "
             f"changed, {c['added']} added, {c['removed']} removed, {c['unchanged']} unchanged · "
             f"{a.risk_count} risk(s)</summary>", ""]
    lines += [f"Affected: {_escape_controls('; '.join(a.why))}."]
    if a.noise.counts:
        lines += ["", "Ignored as noise: " + _escape_controls(", ".join(a.noise.lines())) + "."]
    if a.risks:
        lines += ["", "**Risks**", ""] + [_risk_line(r) for r in a.risks]
    return lines


def object_block(d: ObjectDiff) -> list[str]:
    lines = ["", f"**{_code(d.label)}** ({d.status})"]
    if d.status == "changed":
        lines += ["", "| field | change | old | new |", "|---|---|---|---|"]
        for ch in d.changes[:_ROWS_PER_OBJECT]:
            lines.append(f"| {_code(ch.where)} | {ch.op} | {_code(short(ch.old))} | {_code(short(ch.new))} |")
        if len(d.changes) > _ROWS_PER_OBJECT:
            lines.append(f"| … {len(d.changes) - _ROWS_PER_OBJECT} more field(s) | | | |")
        if d.random:
            lines += ["", "Not compared (random in every render): " + ", ".join(_code(p) for p in d.random[:10])]
    else:
        text = d.new_yaml if d.status == "added" else d.old_yaml
        if text and len(text) <= _YAML_INLINE:
            fence = "````" if "```" in text else "```"
            lines += ["", f"{fence}yaml", _safe_lines(text).rstrip(), fence]
    return lines


def markdown(report: Any, limit: int | None = GITLAB_NOTE_LIMIT, artifact: str | None = None) -> tuple[str, bool]:
    """The comment, and whether it was cut (then the whole report belongs in ``artifact``)."""
    head = "\n".join(summary_lines(report)) + "\n"
    sections: list[tuple[list[str], list[list[str]]]] = []
    for a in report.apps:
        sections.append((app_head(a), [object_block(d) for d in a.diffs]))
    full = head + "".join("\n".join(h + [x for b in blocks for x in b] + ["", "</details>"]) + "\n"
                          for h, blocks in sections)
    if limit is None or len(full) <= limit:
        return full, False
    tail_room = 600
    out = [head]
    size = len(head)
    left_objects = left_apps = 0
    closed = True
    for h, blocks in sections:
        opening = "\n".join(h) + "\n"
        if size + len(opening) + len("\n</details>\n") + tail_room > limit:
            left_apps += 1
            left_objects += len(blocks)
            continue
        out.append(opening)
        size += len(opening)
        closed = False
        shown_all = True
        for i, block in enumerate(blocks):
            text = "\n".join(block) + "\n"
            if size + len(text) + len("\n</details>\n") + tail_room > limit:
                left_objects += len(blocks) - i
                shown_all = False
                out.append(f"\n_{len(blocks) - i} more object(s) of this app: see the artifact._\n")
                size += 60
                break
            out.append(text)
            size += len(text)
        out.append("\n</details>\n")
        size += len("\n</details>\n")
        closed = True
        if not shown_all:
            left_apps += 0
    assert closed
    where = f"`{shown(artifact)}`" if artifact else "the job's artifacts"
    out.append(f"\n---\nThis comment is cut at {limit:,} characters: {left_objects} object diff(s)"
               f"{f' and {left_apps} app section(s)' if left_apps else ''} are not shown. The whole report is in "
               f"the artifact {where}.\n")
    return "".join(out), True


# --- JSON --------------------------------------------------------------------------------------------

def _risk_dict(r: Any) -> dict[str, Any]:
    out = r.as_dict()
    for key in ("app", "object", "field", "message", "path"):
        if out[key] is not None:
            out[key] = shown(out[key], escape=False)
    return out


def _diff_dict(d: ObjectDiff) -> dict[str, Any]:
    group, kind, namespace, name = d.key
    return {"group": group, "kind": kind, "namespace": namespace, "name": shown(name, escape=False),
            "status": d.status, "random": d.random,
            "fields": [{"path": shown(c.where, escape=False), "op": c.op, "old": c.old, "new": c.new}
                       for c in d.changes]}


def app_dict(a: AppResult) -> dict[str, Any]:
    return {"app": shown(a.name, escape=False), "layer": a.layer, "status": a.status, "verdict": a.verdict,
            "why": [shown(w, escape=False) for w in a.why], "bumps": [_bump(v) for v in a.verdicts],
            "rendered": a.rendered, "problems": a.problems, "objects": a.counts(),
            "ignored": a.noise.lines(), "risk_count": a.risk_count,
            "risks": [_risk_dict(r) for r in a.risks], "diffs": [_diff_dict(d) for d in a.diffs]}


def _bump(v: Any) -> dict[str, Any]:
    c = v.change
    return {"kind": c.kind, "name": shown(c.name, escape=False), "old": shown(c.old, escape=False),
            "new": shown(c.new, escape=False), "bump": c.bump, "verdict": v.level}


# --- HTML --------------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1f2328}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:2px 6px;vertical-align:top}
th{background:#f6f8fa;text-align:left}.error{color:#b00020;font-weight:bold}.warning{color:#9a6700}
.info{color:#57606a}.ok{color:#1a7f37}.review,.check{color:#9a6700;font-weight:bold}
table.diff{width:100%;table-layout:fixed;font:12px/1.3 ui-monospace,monospace}
table.diff td{white-space:pre-wrap;word-break:break-all;border:0;padding:0 4px}
table.diff td.n{width:3em;color:#8c959f;text-align:right;user-select:none}
td.del{background:#ffebe9}td.add{background:#dafbe1}td.gap{background:#f6f8fa;color:#57606a;text-align:center}
details{margin:.6em 0}summary{cursor:pointer}code{background:#f6f8fa;padding:0 3px}
"""


def _e(value: object) -> str:
    return _html.escape(str(shown(value)))


def _side_by_side(old: str, new: str, context: int = 3) -> str:
    from ..yamlio import line_opcodes

    a, b = old.rstrip("\n").split("\n"), new.rstrip("\n").split("\n")
    rows = []
    for tag, i1, i2, j1, j2 in line_opcodes(a, b):
        if tag == "equal":
            n = i2 - i1
            if n > 2 * context + 1:
                keep = list(range(i1, i1 + context)) if i1 > 0 else []
                tail = list(range(i2 - context, i2)) if i2 < len(a) else []
                for i in keep:
                    rows.append(_row(i, a[i], i - i1 + j1, b[i - i1 + j1], ""))
                rows.append(f'<tr><td class="gap" colspan="4">… {n - len(keep) - len(tail)} unchanged line(s)'
                            "</td></tr>")
                for i in tail:
                    rows.append(_row(i, a[i], i - i1 + j1, b[i - i1 + j1], ""))
            else:
                for k in range(n):
                    rows.append(_row(i1 + k, a[i1 + k], j1 + k, b[j1 + k], ""))
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            rows.append(_row(i if i < i2 else None, a[i] if i < i2 else "", j if j < j2 else None,
                             b[j] if j < j2 else "", "chg"))
    return '<table class="diff">' + "".join(rows) + "</table>"


def _row(i: int | None, left: str, j: int | None, right: str, kind: str) -> str:
    lcls = ' class="del"' if kind and i is not None else ""
    rcls = ' class="add"' if kind and j is not None else ""
    return (f'<tr><td class="n">{"" if i is None else i + 1}</td><td{lcls}>{_html.escape(_escape_controls(left))}'
            f'</td><td class="n">{"" if j is None else j + 1}</td><td{rcls}>{_html.escape(_escape_controls(right))}'
            "</td></tr>")


def html(report: Any) -> str:
    apps = report.apps
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>gitops-kit update check</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>gitops-kit update check</h1>",
             f"<p>Base <code>{_e(report.base[:12])}</code> · {len(apps)} app(s) affected · "
             f"{sum(a.risk_count for a in apps)} risk(s) · exit {report.exit_code}</p>"]
    if apps:
        parts.append("<table><tr><th>app</th><th>bump</th><th>verdict</th><th>risks</th><th>objects + − ~</th></tr>")
        for a in apps:
            bumps = "<br>".join(_e(change_text(v.change, str)) for v in a.verdicts) or _e("; ".join(a.why))
            c = a.counts()
            parts.append(f'<tr><td><a href="#app-{_e(a.name)}">{_e(a.name)}</a></td><td>{bumps}</td>'
                         f'<td class="{a.verdict}">{a.verdict}</td><td>{a.risk_count}</td>'
                         f"<td>+{c['added']} −{c['removed']} ~{c['changed']}</td></tr>")
        parts.append("</table>")
    for a in apps:
        parts.append(f'<h2 id="app-{_e(a.name)}">{_e(a.name)} <span class="{a.verdict}">{a.verdict}</span></h2>')
        parts.append(f"<p>Affected: {_e('; '.join(a.why))}.</p>")
        if a.noise.counts:
            parts.append(f"<p>Ignored as noise: {_e(', '.join(a.noise.lines()))}.</p>")
        for v in a.verdicts:
            for r in v.reasons:
                parts.append(f'<p class="{v.level}">{_e(r)}</p>')
        if a.risks:
            parts.append("<ul>" + "".join(
                f'<li><span class="{r.severity}">{r.severity}</span> <code>{r.rule}</code> '
                f"{'<code>' + _e(r.object) + '</code> ' if r.object else ''}"
                f"{'field <code>' + _e(r.field) + '</code> ' if r.field else ''}{_e(r.message)}</li>"
                for r in a.risks) + "</ul>")
        for d in a.diffs:
            parts.append(f"<details{' open' if d.status == 'changed' else ''}><summary><code>{_e(d.label)}</code> "
                         f"({d.status}{', ' + str(len(d.changes)) + ' field(s)' if d.changes else ''})</summary>")
            if d.status == "changed":
                parts.append(_side_by_side(d.old_yaml or "", d.new_yaml or ""))
                if d.random:
                    parts.append(f"<p>Not compared (random in every render): {_e(', '.join(d.random))}</p>")
            else:
                text = d.new_yaml if d.status == "added" else d.old_yaml
                parts.append(f'<table class="diff"><tr><td class="{"add" if d.status == "added" else "del"}">'
                             f"{_html.escape(_safe_lines(text or ''))}"
                             "</td></tr></table>")
            parts.append("</details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
