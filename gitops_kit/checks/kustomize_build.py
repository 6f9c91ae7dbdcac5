"""kustomize-build: a kustomization an Application renders does not build (disabled by default).

Runs ``kustomize build`` (or ``kubectl kustomize``) on a temporary copy of each kustomization
directory an Application of this repository uses as a source, with the directories it pulls in.
Offline: a remote resource is replaced by the repository file or directory the ``substitutes``
parameter maps its URL to (the kustomization is rewritten in the copy), else the kustomization is
not built and an info finding names the URL; ``helmCharts`` need rendering and are not built
either. Never ``--enable-helm``, ``--enable-alpha-plugins`` or ``--enable-exec``; a timeout; an
environment of PATH and a fresh empty HOME only; the one positional argument is an absolute
temporary path after ``--``. The finding is the first line of kustomize's error, with the
temporary paths made repository-relative, at the kustomization file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from typing import Any, Iterator

from ..findings import Hit, Severity
from ..model import RepoModel
from ..yamlio import YSeq, plain
from . import _kustomize as k

_KUBECTL_ERR = re.compile(r'err="((?:[^"\\]|\\.)*)"')
_MAX_COPY = 5 * 1024 * 1024  # per file: larger ones are not copied (lint skips them too)


def check(model: RepoModel, params: dict[str, Any]) -> Iterator[Hit]:
    substitutes = {str(url).strip(): k.resolve(k.Entry("", "", str(path), (1, 1)))
                   for url, path in (params.get("substitutes") or {}).items()}
    timeout = float(params.get("timeout") or 30)
    targets = sorted({directory for directory, _app, _src in k.kustomize_dirs(model)})
    trees = [t for t in (k.tree(model, d) for d in targets) if t is not None]
    trees = [t for t in trees if any(model.in_focus(path) for path, _data in t.kustomizations)]
    if not trees:
        return
    command = _command()
    if command is None:
        first = trees[0]
        yield Hit(first.path, first.kustomizations[0][1].pos,
                  f"not checked: neither kustomize nor kubectl is on PATH, so the {len(trees)} kustomization(s) "
                  "that Applications render were not built", severity=Severity.INFO, key="no-binary")
        return
    for found in trees:
        blocked = False
        for kpath, pos in found.helm_charts:
            blocked = True
            yield Hit(kpath, pos, "not checked: helmCharts need rendering (a chart repository), which this rule "
                      "does not do offline", severity=Severity.INFO, key=f"{kpath}:helmCharts")
        for entry in found.remotes:
            local = substitutes.get(entry.ref)
            if local is None or not model.exists(local) or local.startswith(".."):
                blocked = True
                yield Hit(entry.kustomization, entry.pos,
                          f"not checked: remote resource {entry.ref} (add it to this rule's substitutes with a "
                          "local copy: kustomize-build never fetches)", severity=Severity.INFO,
                          key=f"{entry.kustomization}:remote:{entry.ref}")
        if blocked:
            continue
        message = _build(model, found, substitutes, command, timeout)
        if message is not None:
            path, pos = _place(found, message, substitutes)
            yield Hit(path, pos, f"kustomize build fails: {message}", key=f"{found.path}:build")


def _place(found: k.Tree, message: str, substitutes: dict[str, str]) -> tuple[str, tuple[int, int]]:
    """The entry kustomize's error quotes ("accumulating resources from 'x.yaml'"), else the file."""
    for kpath, data in found.kustomizations:
        for entry in k.entries(kpath, data):
            if f"'{entry.ref}'" in message or f"'{substitutes.get(entry.ref)}'" in message:
                return entry.kustomization, entry.pos
    return found.path, found.kustomizations[0][1].pos


def _command() -> list[str] | None:
    kustomize = shutil.which("kustomize")
    if kustomize:
        return [kustomize, "build"]
    kubectl = shutil.which("kubectl")
    return [kubectl, "kustomize"] if kubectl else None


def _build(model: RepoModel, found: k.Tree, substitutes: dict[str, str], command: list[str],
           timeout: float) -> str | None:
    """kustomize's error for a temporary copy of ``found``, or None when it builds."""
    root = os.path.realpath(model.root)
    with tempfile.TemporaryDirectory(prefix="gitops-kit-kustomize-") as tmp:
        tmp = os.path.realpath(tmp)
        work, home = os.path.join(tmp, "repo"), os.path.join(tmp, "home")
        os.makedirs(home)
        renames: dict[str, str] = {}  # temporary name -> repository path, for messages
        for directory in found.dirs:
            _copy_tree(model, root, directory, work, directory)
        for kpath, data in found.kustomizations:
            rewritten = plain(data, str_keys=True)
            kdir = os.path.dirname(kpath)
            changed = False
            for field in k.RESOURCE_FIELDS:
                seq = data.get(field)
                if not isinstance(seq, YSeq):
                    continue
                for i, ref in enumerate(seq):
                    if isinstance(ref, str) and k.is_remote(ref):
                        local = substitutes[ref.strip()]
                        name = f"gitops-kit-substitute-{len(renames)}"
                        name += os.path.splitext(local)[1] if local in model.all_files else ""
                        dest = os.path.join(kdir, name) if kdir else name
                        if local in model.all_files:
                            _copy_file(root, local, work, dest)
                        else:
                            _copy_tree(model, root, local, work, dest)
                        renames[dest] = local
                        rewritten[field][i] = name
                        changed = True
            if changed:
                # JSON is YAML: the rewritten kustomization keeps every other field as it was
                with open(os.path.join(work, kpath), "w", encoding="utf-8") as fh:
                    json.dump(rewritten, fh)
        target = os.path.join(work, os.path.dirname(found.path)) if os.path.dirname(found.path) else work
        try:
            done = subprocess.run([*command, "--", target], cwd=tmp, capture_output=True, text=True,
                                  timeout=timeout, env={"PATH": os.environ.get("PATH", ""), "HOME": home},
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            return f"did not finish within {timeout:g} s"
        except OSError as exc:
            return f"could not run {os.path.basename(command[0])}: {exc.strerror}"
        if done.returncode == 0:
            return None
        return _first_line(done.stderr, work, renames)


def _first_line(stderr: str, work: str, renames: dict[str, str]) -> str:
    line = next((ln.strip() for ln in stderr.splitlines() if ln.strip()), "exit status without a message")
    m = _KUBECTL_ERR.search(line)  # kubectl logs: E1204 ... run.go:72] "command failed" err="..."
    if m:
        line = re.sub(r"\\(.)", r"\1", m.group(1))
    line = line.removeprefix("Error: ").removeprefix("error: ")
    for temp, repo in sorted(renames.items(), key=lambda item: -len(item[0])):
        line = line.replace(os.path.join(work, temp), repo).replace(os.path.basename(temp), repo)
    line = line.replace(work + os.sep, "").replace(work, ".")
    return line if len(line) <= 400 else line[:397] + "..."


def _copy_tree(model: RepoModel, root: str, directory: str, work: str, dest: str) -> None:
    prefix = directory + "/" if directory else ""
    for rel in model.all_files:
        if rel.startswith(prefix):
            _copy_file(root, rel, work, dest + "/" + rel[len(prefix):] if dest else rel[len(prefix):])


def _copy_file(root: str, rel: str, work: str, dest: str) -> None:
    """Copy one repository file into the work tree; links out of the repository are not followed."""
    source = os.path.realpath(os.path.join(root, rel))
    if os.path.commonpath([root, source]) != root or not os.path.isfile(source):
        return
    if os.path.getsize(source) > _MAX_COPY:
        return
    target = os.path.join(work, dest)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(source, target)
