"""``lint --fix``: repair the unambiguous findings in place, as comment-preserving edits.

Fixes are driven by the findings that survive suppressions, so a finding someone suppressed
with a reason is never "fixed" behind their back. Every edit is verified before it is
written: the file is parsed again and must differ from the original only at the edited keys.
Writes are atomic; ``--diff`` shows the change and writes nothing; a second run changes nothing.
"""

from __future__ import annotations

import contextvars
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

from . import safepaths, yamlio
from .findings import Finding
from .model import SYNC_WAVE, K8sObject, RepoModel, SourceFile
from .yamlio import QStr, YMap

Edit = tuple[int, tuple, Any]  # (document index, key path, new value)


@dataclass
class FileFix:
    """The edits planned for one file, and the rules they fix."""

    path: str
    edits: list[Edit] = field(default_factory=list)
    rules: set[str] = field(default_factory=set)
    new_text: str | None = None
    error: str | None = None
    created: bool = False  # a new file from the app blueprint


class Unsafe(tuple):
    """An edit that may undo a deliberate choice (an explicit ``selfHeal: false``): applied only
    with ``--unsafe-fixes``. A tuple like any other edit, so that fixers may yield either."""


def _object_at(model: RepoModel, path: str, line: int) -> K8sObject | None:
    sf = model.files.get(path)
    if sf is None:
        return None
    # one index per model: marking every finding fixable or not must not scan all objects per finding
    index = model.memo.get("fix_object_at")
    if index is None:
        index = model.memo["fix_object_at"] = {}
        for obj in model.objects:
            index.setdefault((id(obj.file), obj.doc), obj)
    for doc, first, last in sf.doc_ranges():
        if first <= line <= last:
            return index.get((id(sf), doc))
    return None


def _fix_automated_sync(model: RepoModel, finding: Finding, params: dict[str, Any]) -> Iterator[Edit]:
    obj = _object_at(model, finding.path, finding.line)
    if obj is None or obj.spec is None:
        return
    policy = obj.spec.get("syncPolicy")
    if policy is not None and not isinstance(policy, YMap):
        return  # an odd shape is for a person to look at
    automated = policy.get("automated") if isinstance(policy, YMap) else None
    if automated is not None and not isinstance(automated, YMap):
        return
    for key in params.get("require", ["prune", "selfHeal"]):
        if not (isinstance(automated, YMap) and automated.get(key) is True):
            edit = (obj.doc, ("spec", "syncPolicy", "automated", key), True)
            # a key someone wrote (``selfHeal: false  # temporarily``) is a decision, not an omission
            yield Unsafe(edit) if isinstance(automated, YMap) and key in automated else edit


def _fix_sync_wave(model: RepoModel, finding: Finding, params: dict[str, Any]) -> Iterator[Edit]:
    obj = _object_at(model, finding.path, finding.line)
    if obj is None:
        return
    wave = obj.annotations().get(SYNC_WAVE)
    if isinstance(wave, int) and not isinstance(wave, bool):
        yield obj.doc, ("metadata", "annotations", SYNC_WAVE), QStr(str(wave))


def _fix_retain_policy(model: RepoModel, finding: Finding, params: dict[str, Any]) -> Iterator[Edit]:
    obj = _object_at(model, finding.path, finding.line)
    if obj is None or obj.spec is None:
        return
    if obj.group == "k8s.mariadb.com" and obj.kind in ("Database", "User", "Grant"):
        if obj.spec.get("cleanupPolicy") != "Skip":
            yield obj.doc, ("spec", "cleanupPolicy"), "Skip"


# Kubernetes object names: an Application's name is a DNS-1123 subdomain, a namespace a DNS-1123
# label. Only such names are put into a file's path or content: anything else (``../x``, ``/abs``,
# a newline and more YAML) comes from an untrusted repository and could write outside it or
# inject objects into the generated file.
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")


def dns_name(value: object, *, label: bool = False) -> bool:
    """Whether ``value`` is a DNS-1123 label (``label``: a namespace) or subdomain (an object name)."""
    if not isinstance(value, str):
        return False
    if label:
        return _DNS_LABEL.fullmatch(value) is not None
    return len(value) <= 253 and _DNS_SUBDOMAIN.fullmatch(value) is not None


def _bundle_file_fix(model: RepoModel, finding: Finding, name: str) -> tuple[str, str] | str | None:
    """(path, text) of a blueprint file to add to the app's manifests bundle, or why it cannot be."""
    obj = _object_at(model, finding.path, finding.line)
    if obj is None or obj.kind != "Application" or not obj.name:
        return None
    app = next((a for a in model.applications if a.obj is obj), None)
    namespace = app.dest_namespace if app else None
    if app is None or not namespace:
        return None
    if not dns_name(app.name) or not dns_name(namespace, label=True):
        return None  # not offered: the finding stays, for a person to look at
    manifests_dir = model.config.manifests_dir
    if safepaths.rel_problem(manifests_dir):
        return None
    bundle = f"{manifests_dir}/{app.name}"
    if not any(model.is_this_repo(src.repo_url) and (src.path or "").strip("/") == bundle for src in app.sources):
        return f"app {app.name!r} has no source for {bundle}: add one, then run --fix again"
    target = safepaths.clean_rel(f"{bundle}/{name}", "fix target")
    if model.exists(target):
        return f"{target} exists: add the missing object to it by hand"
    try:
        safepaths.jail(model.root, target, "fix target")
    except safepaths.UnsafePath as exc:
        return str(exc)
    values = {"name": app.name, "namespace": namespace, "manifests_dir": manifests_dir,
              "namespace_file": False, "baseline": True}
    rendered = _blueprint_file("app-base", name, values)
    return None if rendered is None else (target, rendered)


def _blueprint_file(blueprint: str, name: str, values: dict[str, Any]) -> str | None:
    """The bundle file ``name`` of a bundled blueprint, rendered in memory.

    Not through cookiecutter, which renders into a temporary folder: ``--diff`` writes nothing at
    all. The bundled blueprints use plain Jinja on the ``cookiecutter`` context only, rendered here
    in Jinja's sandbox with the same settings (undefined is an error, trailing newline kept)."""
    if _PREVIEW.get():
        return ""  # only whether a fix is offered is asked: not worth a render per finding
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from .generate import render

    bp = render.bundled(blueprint)
    context = {**bp.keys(), **values}
    env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
    for path in sorted(bp.path.rglob("*")):
        if path.parent.name != "{{cookiecutter.name}}" or not path.is_file() or path.is_symlink():
            continue
        if env.from_string(path.name).render(cookiecutter=context) == name:
            return env.from_string(path.read_text(encoding="utf-8")).render(cookiecutter=context)
    return None


def _fix_network_policy(model: RepoModel, finding: Finding, params: dict[str, Any]):
    if finding.remedy == "create":
        yield ("create", _bundle_file_fix(model, finding, "network-policy.yaml"))


def _fix_resource_quota(model: RepoModel, finding: Finding, params: dict[str, Any]):
    if finding.remedy == "create":
        yield ("create", _bundle_file_fix(model, finding, "quota.yaml"))


def _fix_layout(model: RepoModel, finding: Finding, params: dict[str, Any]) -> Iterator[Edit]:
    """A source of this repository at an old URL or another revision: point it at repo.url@repo.branch.
    Only the finding's own key is edited (another layout finding on the same line fixes nothing)."""
    from .checks.layout import stale_sources

    obj = _object_at(model, finding.path, finding.line)
    app = next((a for a in model.applications if obj is not None and a.obj is obj), None)
    if app is None or model.repo_url is None:
        return
    for st in stale_sources(model, app):
        src = st.source
        base = ("spec", "source") if src.index < 0 else ("spec", "sources", src.index)
        if st.wrong_url and "repoURL" in src.data and src.pos("repoURL")[0] == finding.line:
            yield obj.doc, (*base, "repoURL"), model.repo_url
        if st.wrong_rev and "targetRevision" in src.data and src.pos("targetRevision")[0] == finding.line:
            yield obj.doc, (*base, "targetRevision"), model.config.branch


FIXERS: dict[str, Callable[[RepoModel, Finding, dict[str, Any]], Iterator[Any]]] = {
    "layout": _fix_layout,
    "network-policy": _fix_network_policy,
    "resource-quota": _fix_resource_quota,
    "automated-sync": _fix_automated_sync,
    "sync-wave": _fix_sync_wave,
    "retain-policy": _fix_retain_policy,
}


_PREVIEW: contextvars.ContextVar[bool] = contextvars.ContextVar("fix_preview", default=False)


def fixability(model: RepoModel, finding: Finding, params: dict[str, Any]) -> str | None:
    """"safe" when ``--fix`` offers a fix of ``finding``, "unsafe" when it needs ``--unsafe-fixes``
    too, else None. Offered, not verified: :func:`plan` may still refuse an edit it cannot verify."""
    fixer = FIXERS.get(finding.rule)
    if fixer is None:
        return None
    token = _PREVIEW.set(True)
    try:
        edits = list(fixer(model, finding, params))
    except Exception:
        return None
    finally:
        _PREVIEW.reset(token)
    offered = [e for e in edits if e[0] != "create" or isinstance(e[1], tuple)]
    if not offered:
        return None
    return "unsafe" if any(isinstance(e, Unsafe) for e in offered) else "safe"


def mark(model: RepoModel, findings: list[Finding], params: Callable[[str], dict[str, Any]]) -> list[Finding]:
    """``findings`` with ``fix`` set on those ``--fix`` can repair (see :func:`fixability`)."""
    out = []
    for f in findings:
        how = fixability(model, f, params(f.rule)) if f.rule in FIXERS else None
        out.append(replace(f, fix=how) if how != f.fix else f)
    return out


def plan(model: RepoModel, findings: list[Finding], params: Callable[[str], dict[str, Any]],
         unsafe: bool = False) -> list[FileFix]:
    """The edits that would fix ``findings``, per file, verified but not written; the edits of
    :class:`Unsafe` kind only with ``unsafe``."""
    by_path: dict[str, FileFix] = {}
    created: dict[str, FileFix] = {}
    for finding in findings:
        fixer = FIXERS.get(finding.rule)
        if fixer is None:
            continue
        for edit in fixer(model, finding, params(finding.rule)):
            if isinstance(edit, Unsafe):
                if not unsafe:
                    continue
                edit = tuple(edit)
            if edit[0] == "create":
                outcome = edit[1]
                if isinstance(outcome, tuple) and outcome[0] not in created:
                    created[outcome[0]] = FileFix(outcome[0], rules={finding.rule}, new_text=outcome[1],
                                                  created=True)
                elif isinstance(outcome, str):
                    created.setdefault(f"?{outcome}", FileFix(finding.path, rules={finding.rule}, error=outcome))
                continue
            ff = by_path.setdefault(finding.path, FileFix(finding.path))
            if edit not in ff.edits:
                ff.edits.append(edit)
                ff.rules.add(finding.rule)
    for ff in by_path.values():
        sf = model.files[ff.path]
        try:
            safepaths.jail(model.root, ff.path, "file")
        except safepaths.UnsafePath as exc:
            ff.error = str(exc)
            continue
        try:
            ff.new_text = yamlio.edit_text(sf.text or "", ff.edits)
            _verify(sf.text or "", ff.new_text, ff.edits)
        except yamlio.EditError as exc:
            ff.error = str(exc)
            ff.new_text = None
    return sorted([*by_path.values(), *created.values()], key=lambda f: f.path)


def _child(node: Any, key: Any) -> Any:
    """``node[key]`` for a mapping key or a list index (``spec.sources[1]``), else None."""
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _strip(data: Any, edits: list[Edit], index: int) -> Any:
    """The document with the edited keys removed, for comparing everything else."""
    data = yamlio.plain(data)  # new containers: safe to edit
    for doc, path, _ in edits:
        if doc != index:
            continue
        node = data
        for key in path[:-1]:
            node = _child(node, key)
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(path[-1], None)
            # A mapping created by the edit counts as edited, too.
    return _prune_empty(data)




def _prune_empty(v: Any) -> Any:
    if isinstance(v, dict):
        out = {k: _prune_empty(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x != {} or k not in ("syncPolicy", "automated", "annotations")}
    if isinstance(v, list):
        return [_prune_empty(x) for x in v]
    return v


def _verify(old: str, new: str, edits: list[Edit]) -> None:
    a, b = yamlio.load_text(old), yamlio.load_text(new)
    if any(p.fatal for p in b.problems) or len(a.documents) != len(b.documents):
        raise yamlio.EditError("the edited file does not parse as the same documents")
    for da, db in zip(a.documents, b.documents):
        if _strip(da.data, edits, da.index) != _strip(db.data, edits, db.index):
            raise yamlio.EditError("the edit would change more than the fixed keys")
        for doc, path, value in edits:
            if doc != db.index:
                continue
            node = db.data
            for key in path:
                node = _child(node, key)
            if node != value:
                raise yamlio.EditError(f"the edit of {'.'.join(map(str, path))} did not take")


def diff(model: RepoModel, fixes: list[FileFix], params: Callable[[str], dict[str, Any]] | None = None) -> str:
    """A unified diff of every planned fix, every line that holds a secret masked.

    ``params``: rule parameters by rule id (plaintext-secret's say what is a secret), as for
    :func:`plan`. Linear in the files' size: see :func:`yamlio.line_opcodes`."""
    secret_params = params(SECRET_RULE) if params is not None else {}
    out: list[str] = []
    for ff in fixes:
        if ff.new_text is None:
            continue
        sf = None if ff.created else model.files[ff.path]
        old = "" if sf is None else (sf.text or "")
        a, b = _lines(old), _lines(ff.new_text)
        groups = _grouped(yamlio.line_opcodes(a, b), CONTEXT)
        if not groups:
            continue
        hide_a = _secret_lines(ff.path, old, sf, secret_params)
        hide_b = _secret_lines(ff.path, ff.new_text, None, secret_params)
        # a new file comes from /dev/null, as git and patch(1) expect of a creation
        out.append(f"--- {'/dev/null' if ff.created else 'a/' + ff.path}\n+++ b/{ff.path}\n")
        for group in groups:
            first, last = group[0], group[-1]
            out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
            for tag, i1, i2, j1, j2 in group:
                if tag == "equal":
                    out.extend(_show(" ", a, i, hide_a) for i in range(i1, i2))
                    continue
                out.extend(_show("-", a, i, hide_a) for i in range(i1, i2))
                out.extend(_show("+", b, j, hide_b) for j in range(j1, j2))
    return "".join(out)


SECRET_RULE = "plaintext-secret"
CONTEXT = 3  # lines of context around each change, as in ``diff -u``
_NO_EOL = "\n\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    """``text`` split after each ``\\n`` only: the lines libyaml numbers (str.splitlines also splits
    at form feeds and other separators, which would shift the line numbers of secrets)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _range(start: int, stop: int) -> str:
    """A hunk range as ``diff -u`` writes it (1-based start, length; an empty range names the line before)."""
    length = stop - start
    first = start + 1 if length else start
    return str(first) if length == 1 else f"{first},{length}"


def _grouped(codes: list[yamlio.Opcode], n: int) -> list[list[yamlio.Opcode]]:
    """Opcodes in hunks with up to ``n`` lines of context (difflib's get_grouped_opcodes)."""
    if not any(tag != "equal" for tag, *_ in codes):
        return []
    codes = list(codes)
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)
    groups: list[list[yamlio.Opcode]] = []
    group: list[yamlio.Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * n:
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def _show(mark: str, lines: list[str], index: int, hidden: set[int] | None) -> str:
    line = lines[index]
    end = line.endswith("\n")
    body = line[:-1] if end else line
    if hidden is None or index in hidden:
        body = _masked(body)
    return mark + body + ("\n" if end else _NO_EOL)


# ``key: `` at the start of a line (after indentation and list dashes): kept when a line is masked,
# so the diff still says which key changed.
_KEY_PREFIX = re.compile(r"[ ]*(?:-[ ]+)*(?:[A-Za-z0-9_][A-Za-z0-9_./-]*:[ ]+)?")


def _masked(body: str) -> str:
    """A line that holds a secret, as the diff shows it: its indentation and key, then the mask."""
    from .checks import _secrets

    prefix = _KEY_PREFIX.match(body).group(0)  # type: ignore[union-attr]  # matches any text
    if len(prefix) > 80 or _secrets.find_secrets(prefix):
        prefix = prefix[:len(prefix) - len(prefix.lstrip(" "))]  # a key that is itself a token
    if prefix.strip() == body.strip():
        return body  # nothing after the key (``password:`` opening a block): nothing to hide
    return prefix + _secrets.mask(body)


def _secret_lines(path: str, text: str, sf: SourceFile | None, params: dict[str, Any]) -> set[int] | None:
    """0-based numbers of the lines of ``text`` that hold (part of) a secret; None: treat every line
    so. Lines are what plaintext-secret reports (the same detection as lint, whatever the rules run),
    lines with a well-known token format or a ``secret-key: literal``, and the lines a flagged value
    continues on: more indented lines below it, and a PEM private key's block to its END line."""
    from .checks import _secrets

    if not _secrets.may_hold_secret(text):
        return set()
    try:
        from .checks.plaintext_secret import file_hits

        if sf is None or sf.text != text or _ODD_BREAKS.search(text):
            # libyaml also breaks lines at \r, NEL and the Unicode separators; the diff at \n only.
            # Read a copy without them so that both count the same lines.
            plain_text = _ODD_BREAKS.sub(" ", text)
            loaded = yamlio.load_text(plain_text)
            sf = SourceFile(path, plain_text, loaded.documents, loaded.problems)
        flagged = {hit.pos[0] - 1 for hit in file_hits(path, sf, params)}
    except Exception:  # a crash must not print what it could not vet: mask the whole file
        return None
    lines = text.split("\n")
    for no, line in enumerate(lines):
        if no not in flagged and _secrets.may_hold_secret(line) and _holds_secret(line):
            flagged.add(no)
    hidden = set(flagged)
    for no in sorted(flagged):
        indent = _indent(lines[no])
        pem = "PRIVATE KEY" in lines[no] and "-----BEGIN" in lines[no]
        k = no + 1
        while k < len(lines):
            line = lines[k]
            if line.strip():
                deeper = _indent(line) > indent
                if not deeper and not (pem and _indent(line) == indent):
                    break
                if pem and "-----END" in line:
                    hidden.add(k)
                    break
            hidden.add(k)
            k += 1
    return hidden


_ODD_BREAKS = re.compile(r"\r(?!\n)|[\x85\u2028\u2029]")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _holds_secret(line: str) -> bool:
    """A well-known token format, or a secret-looking key with a literal value, on one line."""
    from .checks import _secrets

    if _secrets.find_secrets(line):
        return True
    for entry in _secrets.scan_lines(line):
        value = (entry.value or "").strip()
        if value and entry.scalar_type == "str" and _secrets.is_secret_key(entry.key) \
                and not _secrets.is_reference_value(value):
            return True
    return False


def apply(model: RepoModel, fixes: list[FileFix]) -> list[str]:
    """Write every verified fix, all or nothing; returns the paths written. Every path is checked
    with :func:`safepaths.jail` (never through a symlink leading out of the repository)."""
    files: dict[str, str] = {}
    originals: dict[str, bytes | None] = {}
    for ff in fixes:
        if ff.new_text is None:
            continue
        try:
            target = safepaths.jail(model.root, ff.path, "file")
        except safepaths.UnsafePath as exc:
            ff.error = str(exc)
            continue
        if ff.created:
            if os.path.lexists(target):
                ff.error = "file appeared while gitops-kit ran: not written"
                continue
            files[str(target)] = ff.new_text
            originals[str(target)] = None
            continue
        current = target.read_bytes()
        if current.decode("utf-8", errors="replace") != (model.files[ff.path].text or ""):
            ff.error = "file changed while gitops-kit ran: not written"
            continue
        files[str(target)] = ff.new_text
        originals[str(target)] = current
    yamlio.write_all(files, originals, root=model.root)
    return [ff.path for ff in fixes if ff.new_text is not None and ff.error is None]
