"""The chart cache (gitops_kit.charts): pulls through mirrors from the served upstream charts,
digest checks, OCI references, concurrency, an untrusted cache folder, credentials."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from served_charts import CHARTS, serve

from gitops_kit.charts import (
    CacheMiss,
    ChartRef,
    DigestMismatch,
    FetchError,
    cache_dir,
    locate,
    pull,
    store,
)
from gitops_kit.charts import fetch as fetch_mod
from gitops_kit.config import Config

HASHICORP = "https://helm.releases.hashicorp.com"
VAULT = ChartRef(HASHICORP, "vault", "0.33.0")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch) -> Path:
    """Every test starts with an empty chart cache of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for name in list(os.environ):
        if name.startswith("GITOPS_KIT_CHARTS_"):
            monkeypatch.delenv(name)
    return tmp_path / "xdg" / "gitops-kit" / "charts"


def _config(mirrors: dict[str, str]) -> Config:
    return Config(data={"charts": {"mirrors": dict(mirrors)}})


def _index_digest(folder: Path, chart: str, version: str) -> str:
    from gitops_kit import yamlio

    data = yamlio.load_text((folder / "index.yaml").read_text()).documents[0].data
    return next(e["digest"] for e in data["entries"][chart] if str(e["version"]) == version)


def test_cache_dir_follows_xdg(tmp_path, monkeypatch):
    assert cache_dir() == tmp_path / "xdg" / "gitops-kit" / "charts"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: relative values are invalid
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "gitops-kit" / "charts"


def _new_requests(server, before: int) -> list[str]:
    """The requests the (session-wide) server got since ``before`` requests."""
    return server.requests[before:]


def test_pull_through_mirror_then_cached(chart_server, _own_cache):
    before = len(chart_server.requests)
    path, downloaded = pull(VAULT, _config(chart_server.mirrors))
    assert downloaded is True
    assert _new_requests(chart_server, before) == ["/hashicorp/index.yaml", "/hashicorp/vault-0.33.0.tgz"]
    assert path.parent.parent == _own_cache
    assert hashlib.sha256(path.read_bytes()).hexdigest() == _index_digest(CHARTS / "hashicorp", "vault", "0.33.0")
    record = json.loads((path.parent / "record.json").read_text())
    assert record["upstream_url"] == HASHICORP
    assert record["served_url"] == f"{chart_server.url}/hashicorp/vault-0.33.0.tgz"
    assert record["digest"] == _index_digest(CHARTS / "hashicorp", "vault", "0.33.0")
    assert record["size"] == path.stat().st_size

    again, downloaded = pull(VAULT, _config(chart_server.mirrors))
    assert (again, downloaded) == (path, False)
    assert len(chart_server.requests) == before + 2  # already cached: no request at all
    assert locate(VAULT) == path
    # keyed by the normalised upstream URL, not by how it is spelled nor by the mirror
    assert locate(ChartRef("HTTPS://Helm.Releases.Hashicorp.com/", "vault", "0.33.0")) == path


def test_cache_miss_names_the_chart_and_the_command(chart_server):
    with pytest.raises(CacheMiss) as info:
        locate(ChartRef(HASHICORP, "vault", "0.34.1"))
    message = str(info.value)
    assert "vault 0.34.1 from https://helm.releases.hashicorp.com" in message
    assert "gitops-kit charts pull" in message
    assert info.value.ref == ChartRef(HASHICORP, "vault", "0.34.1")
    pull(VAULT, _config(chart_server.mirrors))
    with pytest.raises(CacheMiss):  # another version of a cached chart is still a miss
        locate(ChartRef(HASHICORP, "vault", "0.34.1"))


def _served_copy(tmp_path: Path, folder: str = "hashicorp") -> Path:
    root = tmp_path / "served"
    shutil.copytree(CHARTS / folder, root / folder)
    return root


def test_modified_archive_is_a_digest_mismatch_and_nothing_is_cached(tmp_path):
    if not (CHARTS / "hashicorp").is_dir():
        pytest.skip("../shared/upstream/charts is absent")
    root = _served_copy(tmp_path)
    with open(root / "hashicorp" / "vault-0.33.0.tgz", "ab") as archive:
        archive.write(b"tampered")
    with serve(root) as server, pytest.raises(DigestMismatch) as info:
        pull(VAULT, _config({HASHICORP: server.repo("hashicorp")}))
    assert "vault 0.33.0" in str(info.value) and "not cached" in str(info.value)
    with pytest.raises(CacheMiss):
        locate(VAULT)
    folder = store.entry_dir(VAULT)
    assert not (folder / "chart.tgz").exists()
    assert [n for n in os.listdir(folder) if n.startswith(store.TEMP_PREFIX)] == []


def test_modified_index_digest_is_a_digest_mismatch(tmp_path):
    if not (CHARTS / "hashicorp").is_dir():
        pytest.skip("../shared/upstream/charts is absent")
    root = _served_copy(tmp_path)
    index = root / "hashicorp" / "index.yaml"
    digest = _index_digest(root / "hashicorp", "vault", "0.33.0")
    index.write_text(index.read_text().replace(digest, "ab" * 32))
    with serve(root) as server, pytest.raises(DigestMismatch):
        pull(VAULT, _config({HASHICORP: server.repo("hashicorp")}))
    with pytest.raises(CacheMiss):
        locate(VAULT)


def test_archive_changed_in_the_cache_is_detected_and_pulled_again(chart_server):
    path, _ = pull(VAULT, _config(chart_server.mirrors))
    original = path.read_bytes()
    path.write_bytes(original[:-10] + b"0123456789")
    with pytest.raises(DigestMismatch) as info:
        locate(VAULT)
    assert "gitops-kit charts pull" in str(info.value)
    again, downloaded = pull(VAULT, _config(chart_server.mirrors))
    assert downloaded is True and again.read_bytes() == original
    assert locate(VAULT) == again


def test_version_not_in_the_index_and_ranges_fail_clearly(chart_server):
    with pytest.raises(FetchError, match=r"has no version 9\.9\.9 of vault"):
        pull(ChartRef(HASHICORP, "vault", "9.9.9"), _config(chart_server.mirrors))
    requests = len(chart_server.requests)
    with pytest.raises(FetchError, match="not one exact version"):
        pull(ChartRef(HASHICORP, "vault", ">=0.30.0"), _config(chart_server.mirrors))
    with pytest.raises(FetchError, match="not a chart name"):
        pull(ChartRef(HASHICORP, "../vault", "0.33.0"), _config(chart_server.mirrors))
    assert len(chart_server.requests) == requests  # refused before any request


def test_index_url_to_a_file_is_refused(tmp_path):
    if not (CHARTS / "hashicorp").is_dir():
        pytest.skip("../shared/upstream/charts is absent")
    root = _served_copy(tmp_path)
    index = root / "hashicorp" / "index.yaml"
    index.write_text(index.read_text().replace("- vault-0.33.0.tgz", f"- file://{root}/hashicorp/vault-0.33.0.tgz"))
    with serve(root) as server, pytest.raises(FetchError, match="only http:// and https://"):
        pull(VAULT, _config({HASHICORP: server.repo("hashicorp")}))


def test_absolute_chart_urls_to_the_upstream_are_mirrored(tmp_path):
    if not (CHARTS / "hashicorp").is_dir():
        pytest.skip("../shared/upstream/charts is absent")
    root = _served_copy(tmp_path)
    index = root / "hashicorp" / "index.yaml"
    index.write_text(index.read_text().replace("- vault-0.33.0.tgz", f"- {HASHICORP}/vault-0.33.0.tgz"))
    with serve(root) as server:
        path, downloaded = pull(VAULT, _config({HASHICORP: server.repo("hashicorp")}))
        assert downloaded and server.requests[-1] == "/hashicorp/vault-0.33.0.tgz"
    assert locate(VAULT) == path


def test_mirror_prefixes():
    mirrors = {"https://charts.example.com": "https://harbor.local/proxy",
               "https://charts.example.com/deep/": "https://other.local/x/",
               "oci://registry.example.com": "oci://mirror.local:5000/cache"}
    assert fetch_mod.mirrored("https://charts.example.com/", mirrors) == "https://harbor.local/proxy"
    assert fetch_mod.mirrored("https://Charts.Example.com/a", mirrors) == "https://harbor.local/proxy/a"
    assert fetch_mod.mirrored("https://charts.example.com/deep/b", mirrors) == "https://other.local/x/b"
    assert fetch_mod.mirrored("https://charts.example.community", mirrors) == "https://charts.example.community"
    assert fetch_mod.mirrored("oci://registry.example.com/charts", mirrors) == "oci://mirror.local:5000/cache/charts"


# --- OCI -----------------------------------------------------------------------------------------

def test_oci_pull_calls_the_sdk_with_the_mirrored_ref(monkeypatch, tmp_path):
    helm_python = pytest.importorskip("helm_python")
    archive = CHARTS / "hashicorp" / "vault-0.33.0.tgz"
    if not archive.is_file():
        pytest.skip("../shared/upstream/charts is absent")
    calls = []

    def fake_pull(chart_ref, **kwargs):
        calls.append((chart_ref, kwargs))
        shutil.copy(archive, Path(kwargs["destination"]) / "vault-0.33.0.tgz")
        return {"output": "Pulled"}

    monkeypatch.setattr(helm_python, "pull", fake_pull)
    ref = ChartRef("oci://registry.example.com/charts", "vault", "0.33.0")
    config = _config({"oci://registry.example.com": "oci://mirror.local:5000/proxy"})
    path, downloaded = pull(ref, config)
    assert downloaded
    assert calls[0][0] == "oci://mirror.local:5000/proxy/charts/vault"
    assert calls[0][1]["version"] == "0.33.0"
    assert calls[0][1]["username"] is None and calls[0][1]["password"] is None
    assert path.read_bytes() == archive.read_bytes()
    assert locate(ref) == path
    # ArgoCD's scheme-less form of the same OCI repository is the same cache entry
    assert locate(ChartRef("registry.example.com/charts", "vault", "0.33.0")) == path
    assert pull(ref, config) == (path, False) and len(calls) == 1
    record = json.loads((path.parent / "record.json").read_text())
    assert record["digest_source"] == "oci-pull" and record["digest"] == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_oci_sdk_failure_is_one_line_without_credentials(monkeypatch):
    helm_python = pytest.importorskip("helm_python")

    def failing_pull(chart_ref, **kwargs):
        raise RuntimeError(f"unauthorized: user {kwargs['username']} password {kwargs['password']}\nmore")

    monkeypatch.setattr(helm_python, "pull", failing_pull)
    monkeypatch.setenv("GITOPS_KIT_CHARTS_REGISTRY_EXAMPLE_COM_USERNAME", "robot")
    monkeypatch.setenv("GITOPS_KIT_CHARTS_REGISTRY_EXAMPLE_COM_PASSWORD", "s3cr3t-token")
    with pytest.raises(FetchError) as info:
        pull(ChartRef("oci://registry.example.com/charts", "vault", "0.33.0"), _config({}))
    message = str(info.value)
    assert "\n" not in message and "s3cr3t-token" not in message and "robot" not in message
    with pytest.raises(CacheMiss):
        locate(ChartRef("oci://registry.example.com/charts", "vault", "0.33.0"))


def test_oci_without_the_sdk_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "helm_python", None)  # import helm_python now raises ImportError
    with pytest.raises(FetchError, match=r"gitops-kit\[render\]"):
        pull(ChartRef("oci://registry.example.com/charts", "vault", "0.33.0"), _config({}))


# --- concurrency ---------------------------------------------------------------------------------

def test_concurrent_pulls_in_threads_download_once(chart_server):
    config = _config(chart_server.mirrors)
    before = len(chart_server.requests)
    barrier = threading.Barrier(6)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(pull(VAULT, config))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len({path for path, _ in results}) == 1
    assert sorted(d for _, d in results) == [False] * 5 + [True]
    assert _new_requests(chart_server, before).count("/hashicorp/vault-0.33.0.tgz") == 1
    assert locate(VAULT) == results[0][0]


def test_two_concurrent_processes(chart_server, _own_cache):
    script = (
        "import sys, json\n"
        "from gitops_kit.charts import ChartRef, pull\n"
        "from gitops_kit.config import Config\n"
        "mirrors = json.loads(sys.argv[1])\n"
        "path, downloaded = pull(ChartRef(sys.argv[2], 'vault', '0.33.0'), Config(data={'charts': {'mirrors': mirrors}}))\n"
        "print(path, downloaded)\n"
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(_own_cache.parent.parent))
    before = len(chart_server.requests)
    procs = [subprocess.Popen([sys.executable, "-c", script, json.dumps(chart_server.mirrors), HASHICORP],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    paths = {out.split()[0] for out, _ in outputs}
    assert len(paths) == 1
    assert sorted(out.split()[1] for out, _ in outputs) == ["False", "True"]
    assert _new_requests(chart_server, before).count("/hashicorp/vault-0.33.0.tgz") == 1
    assert str(locate(VAULT)) == paths.pop()


# --- the cache folder is untrusted ---------------------------------------------------------------

def test_broken_records_are_misses_never_crashes(chart_server):
    path, _ = pull(VAULT, _config(chart_server.mirrors))
    record = path.parent / "record.json"
    good = record.read_text()
    for bad in ("{not json", "[]", json.dumps({"version": 1, "digest": "x", "size": 1}), "\x00\x01",
                json.dumps({**json.loads(good), "size": -1}), "[" * 30000 + "]" * 30000):
        record.write_text(bad)
        with pytest.raises(CacheMiss):
            locate(VAULT)
    record.write_bytes(b" " * (store.MAX_RECORD_BYTES + 1))
    with pytest.raises(CacheMiss):
        locate(VAULT)
    again, downloaded = pull(VAULT, _config(chart_server.mirrors))  # a miss is repaired by pulling
    assert downloaded and locate(VAULT) == again


def test_symlinks_in_the_cache_are_not_followed(chart_server, tmp_path):
    path, _ = pull(VAULT, _config(chart_server.mirrors))
    outside = tmp_path / "outside.tgz"
    shutil.copy(path, outside)
    path.unlink()
    path.symlink_to(outside)  # the same bytes, but outside the cache
    with pytest.raises(CacheMiss):
        locate(VAULT)
    folder = path.parent
    elsewhere = tmp_path / "elsewhere"
    shutil.move(str(folder), elsewhere)
    (elsewhere / "chart.tgz").unlink()
    shutil.copy(outside, elsewhere / "chart.tgz")
    folder.symlink_to(elsewhere, target_is_directory=True)  # a valid entry, reached through a link
    with pytest.raises(CacheMiss):
        locate(VAULT)
    with pytest.raises(FetchError, match="cannot write the chart cache"):
        pull(VAULT, _config(chart_server.mirrors))


def test_oversized_archive_is_refused(chart_server, monkeypatch):
    monkeypatch.setattr(store, "MAX_ARCHIVE_BYTES", 1000)
    with pytest.raises(FetchError, match="over the 1000-byte limit"):
        pull(VAULT, _config(chart_server.mirrors))
    with pytest.raises(CacheMiss):
        locate(VAULT)


# --- credentials ---------------------------------------------------------------------------------

class _AuthRecorder(http.server.BaseHTTPRequestHandler):
    """Serves one chart repository; records the Authorization header of each request; ``/go/...``
    redirects to the same path on another host name (localhost vs 127.0.0.1)."""

    seen: list
    files: dict
    other: str

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Authorization")))
        if self.path.startswith("/go/"):
            self.send_response(302)
            self.send_header("Location", self.other + self.path[3:])
            self.end_headers()
            return
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_credentials_from_the_environment_only_to_their_host(tmp_path, monkeypatch):
    archive = CHARTS / "hashicorp" / "vault-0.33.0.tgz"
    if not archive.is_file():
        pytest.skip("../shared/upstream/charts is absent")
    data = archive.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    seen: list = []
    handler = type("H", (_AuthRecorder,), {"seen": seen, "files": {}, "other": ""})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    handler.other = f"http://localhost:{port}"
    handler.files = {
        "/repo/index.yaml": (f"apiVersion: v1\nentries:\n  vault:\n  - name: vault\n    version: 0.33.0\n"
                             f"    digest: {digest}\n    urls: [http://127.0.0.1:{port}/go/files/vault.tgz]\n").encode(),
        "/files/vault.tgz": data,
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GITOPS_KIT_CHARTS_127_0_0_1_" + str(port) + "_USERNAME", "robot")
    monkeypatch.setenv("GITOPS_KIT_CHARTS_127_0_0_1_" + str(port) + "_PASSWORD", "s3cr3t-token")
    monkeypatch.setenv("GITOPS_KIT_CHARTS_PASSWORD", "global-not-used")
    try:
        path, downloaded = pull(VAULT, _config({HASHICORP: f"http://robot:inline@127.0.0.1:{port}/repo"}))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert downloaded
    auth = dict(seen)
    assert auth["/repo/index.yaml"] is not None and auth["/repo/index.yaml"].startswith("Basic ")
    assert auth["/go/files/vault.tgz"] is not None
    assert auth["/files/vault.tgz"] is None  # never sent on to where a redirect points
    record = (path.parent / "record.json").read_text()
    assert "s3cr3t" not in record and "robot" not in record and "inline" not in record


def test_credentials_lookup_per_host_then_global(monkeypatch):
    assert fetch_mod.credentials("harbor.example.com") is None
    monkeypatch.setenv("GITOPS_KIT_CHARTS_USERNAME", "all")
    monkeypatch.setenv("GITOPS_KIT_CHARTS_PASSWORD", "pw-all")
    monkeypatch.setenv("GITOPS_KIT_CHARTS_HARBOR_EXAMPLE_COM_8443_USERNAME", "one")
    monkeypatch.setenv("GITOPS_KIT_CHARTS_HARBOR_EXAMPLE_COM_8443_PASSWORD", "pw-one")
    assert fetch_mod.credentials("harbor.example.com:8443") == ("one", "pw-one")
    assert fetch_mod.credentials("charts.example.com") == ("all", "pw-all")


def test_labels_and_errors_never_show_url_credentials(chart_server):
    ref = ChartRef("https://user:hunter2@helm.releases.hashicorp.com", "vault", "9.9.9")
    assert "hunter2" not in ref.label() and "user" not in ref.label()
    with pytest.raises(FetchError) as info:
        pull(ref, _config(chart_server.mirrors))
    assert "hunter2" not in str(info.value)
    with pytest.raises(CacheMiss) as miss:
        locate(ref)
    assert "hunter2" not in str(miss.value)


def test_a_killed_pull_leaves_nothing_for_long(chart_server):
    folder = store.ensure_entry_dir(VAULT)
    stale, fresh = folder / (store.TEMP_PREFIX + "killed"), folder / (store.TEMP_PREFIX + "running")
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    os.utime(stale, (0, 0))
    path, downloaded = pull(VAULT, _config(chart_server.mirrors))
    assert downloaded and locate(VAULT) == path
    assert not stale.exists() and fresh.exists()  # another run's temporary file of seconds ago stays


def test_malformed_repository_urls_never_crash(chart_server):
    for url in ("https://host:99999999/charts", "https://[::1/charts", "http://", "", "::::"):
        ref = ChartRef(url, "vault", "0.33.0")
        assert "vault 0.33.0" in ref.label()
        with pytest.raises(CacheMiss):
            locate(ref)
        with pytest.raises(FetchError):
            pull(ref, _config(chart_server.mirrors))
