"""Baselines: record today's findings by fingerprint, then report only new ones.

Fingerprints hash the rule, the path and the identity of the object and key, not the line,
so a baseline survives edits that shift lines. Counts are kept per fingerprint, so a second
identical problem in the same place is still reported as new.
"""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from pathlib import Path

from . import safepaths
from .errors import UsageError
from .findings import Finding

VERSION = 1
# What marks a repository root (as discover.find_root, but found without resolving symlinks, so
# that a committed ``ci -> /etc`` on the way to the baseline is seen by the jail).
_ROOT_MARKERS = (".gitops-kit.yaml", "argo")


def write(path: Path, findings: list[Finding]) -> None:
    """Record ``findings`` in a baseline file (JSON, sorted: reviewable in a diff).

    Atomic: a temporary file (in the repository's git-ignored ``.gitops-kit-cache/``, so a run
    killed mid-write leaves nothing git shows) renamed over ``path``. A baseline inside a repository
    is written through :func:`safepaths.jail`. Any operating-system error (full disk, read-only
    file system) is a :class:`UsageError` naming the file: exit 2, the old baseline intact."""
    counts = Counter(f.fingerprint for f in findings)
    entries = {}
    for f in sorted(findings, key=lambda f: (f.fingerprint, f.path)):
        entries.setdefault(f.fingerprint, {"rule": f.rule, "path": f.path, "count": counts[f.fingerprint]})
    doc = {"version": VERSION, "tool": "gitops-kit", "findings": dict(sorted(entries.items()))}
    data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
    target, root = _target(Path(path))
    try:
        mode = _mode_for(target)
        fd, tmp = safepaths.make_temp(root, target)
    except OSError as exc:
        raise UsageError(f"cannot write the baseline: {exc.strerror or exc}", str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass  # left in the ignored cache folder: the next write removes it when stale
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write the baseline: {exc.strerror or exc}; the previous file is "
                             "unchanged", str(path)) from None
        raise


def _target(path: Path) -> tuple[Path, Path | None]:
    """Where to write ``path`` (jailed when it lies in a repository) and that repository's root."""
    absolute = Path(os.path.abspath(path))
    for candidate in absolute.parents:
        if any(os.path.lexists(candidate / marker) for marker in _ROOT_MARKERS):
            rel = absolute.relative_to(candidate).as_posix()
            return safepaths.jail(candidate, rel, "--write-baseline"), candidate
    return absolute, None


def _mode_for(target: Path) -> int:
    """The permission bits of the file being replaced, else the usual ones for a new file."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
    return stat.S_IMODE(st.st_mode) & 0o777


def read(path: Path) -> Counter:
    """Fingerprint -> how many findings the baseline accepts."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read baseline: {exc.strerror}", str(path)) from None
    except ValueError:
        raise UsageError("baseline is not valid JSON", str(path)) from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or not isinstance(doc.get("findings"), dict):
        raise UsageError(f"not a gitops-kit baseline (version {VERSION})", str(path))
    return Counter({fp: int(entry.get("count", 1)) for fp, entry in doc["findings"].items()})


def new_findings(findings: list[Finding], accepted: Counter) -> tuple[list[Finding], int]:
    """Findings beyond what the baseline accepts, and how many were accepted."""
    left = Counter(accepted)
    out, matched = [], 0
    for f in findings:
        if left[f.fingerprint] > 0:
            left[f.fingerprint] -= 1
            matched += 1
        else:
            out.append(f)
    return out, matched
