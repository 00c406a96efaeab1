"""Reading images straight from a registry (Debian's docker-registry on loopback), with and without auth."""

from __future__ import annotations

import base64
import json

import pytest

from uvscope.analysis.errors import ImageNotFound, UvscopeError
from uvscope.analysis.output.report import build_report
from uvscope.analysis.packages.python import analyse_python
from uvscope.analysis.read.sources import open_source, read_image

pytestmark = pytest.mark.engine


def _report(source):
    image = read_image(source)
    report = build_report(image, analyse_python(image, project=None))
    return report


def test_anonymous_registry_gives_the_engine_report(registry, layers_image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = registry.push(layers_image, "uvscope/layers:v1")
    from_registry = _report(open_source(f"registry://{target}"))
    from_engine = _report(open_source(layers_image))
    for key in ("layers", "packages", "reclaimable", "attribution", "findings"):
        assert from_registry[key] == from_engine[key], key
    assert from_registry["image"]["efficiency"] == from_engine["image"]["efficiency"]
    assert open_source(target, "registry").meta().diff_ids == open_source(layers_image).meta().diff_ids


def test_basic_auth_from_docker_config(private_registry, layers_image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = private_registry.push(layers_image, "private/layers:v1")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nowhere"))
    with pytest.raises(UvscopeError, match="wants a login"):
        open_source(f"registry://{target}")
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(b"alice:s3cret-pass").decode()
    (config / "config.json").write_text(json.dumps({"auths": {private_registry.host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    report = _report(open_source(f"registry://{target}"))
    assert len(report["layers"]) == 10
    (config / "config.json").write_text(json.dumps({"auths": {private_registry.host: {"auth": base64.b64encode(b"alice:wrong").decode()}}}))
    with pytest.raises(UvscopeError, match="refused the credentials"):
        open_source(f"registry://{target}")


def test_unknown_tag_is_not_found(registry, layers_image):
    registry.push(layers_image, "uvscope/layers:v1")
    with pytest.raises(ImageNotFound, match="not found in the registry"):
        open_source(f"registry://{registry.host}/uvscope/layers:nope")


class _FakeRegistry:
    """A loopback registry serving an OCI layout folder, behind a bearer token, with scripted failures."""

    def __init__(self, layout, failures: list[int] | None = None, retry_after: str = "", hang: float = 0) -> None:
        import http.server
        import threading

        server_self = self
        self.layout = layout
        self.failures = list(failures or [])
        self.token_requests = 0
        self.retry_after = retry_after
        self.hang = hang

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                if server_self.hang:
                    import time

                    time.sleep(server_self.hang)
                if self.path.startswith("/token"):
                    server_self.token_requests += 1
                    return self._send(200, json.dumps({"token": "t0ken"}).encode(), "application/json")
                if self.headers.get("Authorization") != "Bearer t0ken":
                    realm = f"http://127.0.0.1:{server_self.port}/token"
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="fake"')
                    self.end_headers()
                    return None
                if server_self.failures:
                    code = server_self.failures.pop(0)
                    self.send_response(code)
                    if server_self.retry_after:
                        self.send_header("Retry-After", server_self.retry_after)
                    self.end_headers()
                    return None
                parts = self.path.split("/")  # /v2/<repo>/(manifests|blobs)/<ref>
                kind, reference = parts[-2], parts[-1]
                if kind == "manifests" and not reference.startswith("sha256:"):
                    index = json.loads((server_self.layout / "index.json").read_text())
                    reference = index["manifests"][0]["digest"]
                blob = server_self.layout / "blobs" / "sha256" / reference.partition(":")[2]
                if not blob.exists():
                    return self._send(404, b"{}", "application/json")
                content_type = "application/vnd.oci.image.manifest.v1+json" if kind == "manifests" else "application/octet-stream"
                return self._send(200, blob.read_bytes(), content_type, reference)

            def _send(self, code, body, content_type, digest=None):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if digest:
                    self.send_header("Docker-Content-Digest", digest)
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()


def test_bearer_token_and_retries_on_transient_errors(layers_oci, layers_image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fake = _FakeRegistry(layers_oci, failures=[503, 429, 500], retry_after="0")
    try:
        report = _report(open_source(f"registry://127.0.0.1:{fake.port}/uvscope/layers:latest"))
    finally:
        fake.close()
    assert fake.token_requests == 1 and not fake.failures
    assert report["layers"] == _report(open_source(layers_image))["layers"]


def test_registry_that_keeps_failing_gives_up_with_one_line(layers_oci, monkeypatch):
    from uvscope.analysis.read import registry as registry_module

    monkeypatch.setattr(registry_module, "RETRIES", 2)
    fake = _FakeRegistry(layers_oci, failures=[502] * 10, retry_after="0")
    try:
        with pytest.raises(UvscopeError, match="answered 502 3 times; giving up"):
            open_source(f"registry://127.0.0.1:{fake.port}/uvscope/layers:latest")
    finally:
        fake.close()


def test_history_of_a_registry_repository_reads_only_manifests(registry, tagged_images, tmp_path):
    import subprocess
    import sys

    for tag in ("v1", "v2"):
        registry.push(tagged_images[tag], f"uvscope/tags:{tag}")
    result = subprocess.run(
        [sys.executable, "-m", "uvscope.app.cli", "history", f"registry://{registry.host}/uvscope/tags", "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    images = json.loads(result.stdout)["images"]
    assert [image["ref"].rpartition(":")[2] for image in images] == ["v1", "v2"]
    assert 0 < images[1]["new_bytes"] < images[1]["size_bytes"]


def test_registry_that_hangs_times_out_with_one_line(layers_oci, monkeypatch):
    from uvscope.analysis.read import registry as registry_module

    monkeypatch.setattr(registry_module, "TIMEOUT", (1, 1))
    monkeypatch.setattr(registry_module, "RETRIES", 1)
    fake = _FakeRegistry(layers_oci, hang=3)
    try:
        with pytest.raises(UvscopeError, match="cannot reach 127.0.0.1:.*ReadTimeout"):
            open_source(f"registry://127.0.0.1:{fake.port}/uvscope/layers:latest")
    finally:
        fake.close()
