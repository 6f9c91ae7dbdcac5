"""Shared setup of the check-update render-diff tests: two-commit git repositories (base commit,
head in the working tree or a second commit) and a per-module chart cache."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def write(root: Path, files: dict[str, str | None]) -> None:
    for rel, text in files.items():
        target = root / rel
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def two_commits(root: Path, before: dict[str, str | None], after: dict[str, str | None]) -> Path:
    """``root`` (already holding files) with ``before`` written and committed, then ``after`` committed."""
    write(root, before)
    git(root, "init", "-q", "-b", "master")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    write(root, after)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "head")
    return root


def check_json(root: Path, capsys, *extra: str) -> tuple[int, dict]:
    from gitops_kit.cli import main

    code = main(["check-update", str(root), "--base", "HEAD~1", "--format", "json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def app_of(doc: dict, name: str) -> dict:
    found = [a for a in doc["apps"] if a["app"] == name]
    assert found, [a["app"] for a in doc["apps"]]
    return found[0]


def rules(app: dict) -> list[str]:
    return [r["rule"] for r in app["risks"]]


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """A chart cache for the module (XDG_CACHE_HOME), restored afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
        yield mp


# --- a stub of GitLab's notes API on 127.0.0.1 ------------------------------------------------------

class _Stub(http.server.BaseHTTPRequestHandler):
    calls: list
    notes: dict
    status: int

    def log_message(self, format, *args):
        pass

    def _answer(self, code: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.calls.append({"method": self.command, "path": self.path, "token": self.headers.get("PRIVATE-TOKEN"),
                           "body": body})
        return body

    def do_GET(self):
        self._record()
        if self.status != 200:
            return self._answer(self.status, {"message": "401 Unauthorized"})
        page = re.search(r"[?&]page=(\d+)", self.path)
        notes = [{"id": i, "body": b} for i, b in sorted(self.notes.items())] if page and page.group(1) == "1" else []
        self._answer(200, notes)

    def do_POST(self):
        body = self._record()
        note_id = 100 + len(self.notes)
        self.notes[note_id] = body["body"]
        self._answer(201, {"id": note_id, "body": body["body"]})

    def do_PUT(self):
        body = self._record()
        note_id = int(self.path.rsplit("/", 1)[-1])
        self.notes[note_id] = body["body"]
        self._answer(200, {"id": note_id, "body": body["body"]})


@contextlib.contextmanager
def gitlab_stub() -> Iterator[tuple[type, str]]:
    """A stub GitLab API recording every call (``handler.calls``) and holding the notes of one merge
    request (``handler.notes``, an unrelated one to start with); yields (handler, CI_API_V4_URL)."""
    handler = type("Handler", (_Stub,), {"calls": [], "notes": {7: "an unrelated comment"}, "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()
