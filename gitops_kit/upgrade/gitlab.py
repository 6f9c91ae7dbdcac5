"""One note on the merge request, created the first time and updated on every later run.

GitLab's REST API (v4), from the variables a merge-request pipeline has: ``CI_API_V4_URL``,
``CI_PROJECT_ID``, ``CI_MERGE_REQUEST_IID``; the token from ``GITOPS_KIT_GITLAB_TOKEN`` (a project
or group access token with the ``api`` scope, Reporter role or more), sent as the
``PRIVATE-TOKEN`` header. The previous note is found by the hidden marker
:data:`~.report.MARKER` its body starts with; it is edited in place (``PUT``), else a new one is
made (``POST``).

The token is never printed, not in errors either: messages name the method, the path and the
HTTP status only. Redirects are not followed (the header would go to another host), and the API
URL must be https unless it is a loopback address (the stub server of the tests).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping

from .report import MARKER

TOKEN_VARIABLE = "GITOPS_KIT_GITLAB_TOKEN"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_PAGES = 50  # 100 notes a page: 5,000 notes is more than any merge request has


class NoteError(Exception):
    """Posting failed; ``str()`` is safe to print (no token, no response body)."""


@dataclass(frozen=True)
class Target:
    api: str
    project: str
    mr: str
    token: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Target:
        env = os.environ if env is None else env
        missing = [k for k in ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", TOKEN_VARIABLE)
                   if not env.get(k)]
        if missing:
            raise NoteError(f"cannot post the merge-request note: {', '.join(missing)} not set (a merge-request "
                            f"pipeline sets the CI_ variables; {TOKEN_VARIABLE} is a masked CI/CD variable)")
        api = env["CI_API_V4_URL"].rstrip("/")
        parts = urllib.parse.urlsplit(api)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
            raise NoteError("CI_API_V4_URL is not an http(s) URL without credentials")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise NoteError("CI_API_V4_URL must be https (the token would travel in clear text)")
        project, mr = env["CI_PROJECT_ID"], env["CI_MERGE_REQUEST_IID"]
        if not mr.isdigit():
            raise NoteError("CI_MERGE_REQUEST_IID is not a number")
        return cls(api, urllib.parse.quote(project, safe=""), mr, env[TOKEN_VARIABLE])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        return None


def _call(target: Target, method: str, path: str, body: dict | None = None, timeout: float = 30) -> Any:
    url = f"{target.api}/projects/{target.project}/merge_requests/{target.mr}/{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("PRIVATE-TOKEN", target.token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener(_NoRedirect)
    shown_path = path.split("?", 1)[0]
    try:
        with opener.open(request, timeout=timeout) as response:
            raw = response.read(8 * 1024 * 1024)
    except urllib.error.HTTPError as exc:
        raise NoteError(f"GitLab API {method} .../merge_requests/{target.mr}/{shown_path}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NoteError(f"GitLab API {method} .../merge_requests/{target.mr}/{shown_path}: "
                        f"{type(reason).__name__}") from None
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise NoteError(f"GitLab API {method} .../{shown_path}: the answer is not JSON") from None


def find_note(target: Target) -> int | None:
    """The id of the note this tool wrote before (its body starts with the marker), or None."""
    for page in range(1, _PAGES + 1):
        notes = _call(target, "GET", f"notes?per_page=100&page={page}&sort=asc&order_by=created_at")
        if not isinstance(notes, list):
            return None
        for note in notes:
            if isinstance(note, dict) and str(note.get("body") or "").startswith(MARKER) and \
                    isinstance(note.get("id"), int):
                return note["id"]
        if len(notes) < 100:
            return None
    return None


def post(body: str, env: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Create or update the one note; returns ("created" | "updated", note id)."""
    if not body.startswith(MARKER):
        body = MARKER + "\n" + body
    target = Target.from_env(env)
    existing = find_note(target)
    if existing is not None:
        answer = _call(target, "PUT", f"notes/{existing}", {"body": body})
        return "updated", int(answer.get("id", existing)) if isinstance(answer, dict) else existing
    answer = _call(target, "POST", "notes", {"body": body})
    return "created", int(answer.get("id", 0)) if isinstance(answer, dict) else 0
