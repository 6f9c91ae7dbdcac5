"""Serve ``../shared/upstream/charts`` (static Helm repositories) over HTTP on 127.0.0.1.

Tests point the reference repository's chart URLs at the server through the ``charts.mirrors``
config, so the real download, digest check, cache and render paths run. Without ``../shared``
the fixtures skip.
"""

from __future__ import annotations

import functools
import http.server
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

CHARTS = Path(__file__).resolve().parents[2] / "shared" / "upstream" / "charts"


@dataclass
class ChartServer:
    """A running server: its base URL and upstream URL -> served URL for every repository."""

    url: str
    mirrors: dict[str, str]
    requests: list[str]  # request paths, in order (a test may assert what was downloaded)

    def repo(self, folder: str) -> str:
        return f"{self.url}/{folder}"


class _Handler(http.server.SimpleHTTPRequestHandler):
    log: list[str]

    def log_message(self, format: str, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.log.append(self.path)
        super().do_GET()


def mapping() -> dict[str, str]:
    """Upstream Helm repository URL -> folder under CHARTS (from its MAPPING.tsv)."""
    out = {}
    for line in (CHARTS / "MAPPING.tsv").read_text().splitlines()[1:]:
        if "\t" in line:
            url, folder = line.split("\t", 1)
            out[url.strip()] = folder.strip()
    return out


@contextmanager
def serve(root: Path = CHARTS) -> Iterator[ChartServer]:
    """Serve ``root`` on an ephemeral port until the block ends."""
    log: list[str] = []
    handler = type("Handler", (_Handler,), {"log": log})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        mirrors = {url: f"{base}/{folder}" for url, folder in mapping().items()} if (root / "MAPPING.tsv").exists() else {}
        yield ChartServer(base, mirrors, log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- remote kustomize resources (ArgoCD's install.yaml) -------------------------------------------

ARGO_INSTALL = CHARTS.parent / "argo-cd" / "install"
RAW = "https://raw.githubusercontent.com"


def argo_install_routes() -> dict[str, Path]:
    """URL path on the file server -> the local copy of ArgoCD's HA install.yaml of that tag, laid
    out as raw.githubusercontent.com serves it (``/raw/argoproj/argo-cd/v2.13.2/manifests/ha/install.yaml``)."""
    out = {}
    for path in sorted(ARGO_INSTALL.glob("ha-install-v*.yaml")):
        version = path.name[len("ha-install-"):-len(".yaml")]
        out[f"/raw/argoproj/argo-cd/{version}/manifests/ha/install.yaml"] = path
    return out


@dataclass
class FileServer:
    """A running file server: ``routes`` (URL path -> a file, or bytes) may be changed while it runs
    (a tag moved upstream); ``mirrors`` maps raw.githubusercontent.com to it."""

    url: str
    routes: dict[str, Path | bytes]
    requests: list[str]

    @property
    def mirrors(self) -> dict[str, str]:
        return {RAW: f"{self.url}/raw"}


class _FileHandler(http.server.BaseHTTPRequestHandler):
    routes: dict
    log: list[str]

    def log_message(self, format: str, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.log.append(self.path)
        body = self.routes.get(self.path.split("?", 1)[0])
        if body is None:
            self.send_error(404)
            return
        data = body if isinstance(body, bytes) else Path(body).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serve_files(routes: dict[str, Path | bytes]) -> Iterator[FileServer]:
    """Serve ``routes`` on an ephemeral port of 127.0.0.1 until the block ends."""
    log: list[str] = []
    handler = type("Handler", (_FileHandler,), {"routes": routes, "log": log})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FileServer(f"http://127.0.0.1:{server.server_address[1]}", routes, log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
