"""uvscope's own Docker Engine API client, against a small HTTP server on a socket in a temp folder."""

from __future__ import annotations

import hashlib
import json
import socketserver
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from uvscope.analysis.errors import EngineUnavailable, ImageNotFound
from uvscope.analysis.read import engine
from uvscope.analysis.read.engine_api import EngineAPI, EngineAPIError, EngineNotFound, plain_address
from uvscope.analysis.read.engine_storage import context_endpoint

EXPORT = bytes(range(256)) * 4096  # 1 MiB of export stream


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        request = self.rfile.readline().decode()
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        path = request.split()[1]
        self.server.asked.append(path)  # type: ignore[attr-defined]
        routes = {
            "/_ping": (200, b"OK"),
            "/info": (200, json.dumps({"ServerVersion": "26.1.5", "Driver": "overlayfs"}).encode()),
            "/images/app%3A1/json": (200, json.dumps({"Id": "sha256:" + "a" * 64, "RepoTags": ["app:1"]}).encode()),
            "/images/app%3A1/history": (200, json.dumps([{"CreatedBy": "RUN uv sync", "Size": 5}]).encode()),
            "/images/app%3A1/get": (200, EXPORT),
            "/images/broken/json": (500, json.dumps({"message": "layer does not exist"}).encode()),
        }
        if path.startswith("/images/json?filters="):
            routes[path] = (200, json.dumps([{"Id": "sha256:1", "RepoTags": ["app:1", "app:2"]}, {"Id": "sha256:2"}]).encode())
        status, body = routes.get(path, (404, json.dumps({"message": f"No such image: {path}"}).encode()))
        # An HTTP/1.0 answer as the engine gives one: no length for the stream, closed at the end.
        self.wfile.write(f"HTTP/1.0 {status} X\r\nContent-Type: application/json\r\n\r\n".encode())
        for start in range(0, len(body), 65536):
            self.wfile.write(body[start : start + 65536])


@pytest.fixture
def fake_engine():
    # Not under tmp_path: AF_UNIX addresses are limited to about 100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="uvscope-"))
    path = folder / "engine.sock"
    server = socketserver.ThreadingUnixStreamServer(str(path), _Handler)
    server.asked = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"unix://{path}", server
    server.shutdown()
    server.server_close()
    path.unlink()
    folder.rmdir()


def test_the_calls_uvscope_makes_give_what_docker_py_would(fake_engine):
    host, server = fake_engine
    client = EngineAPI(host)
    assert client.ping() is True
    assert client.info()["Driver"] == "overlayfs"
    assert client.api.inspect_image("app:1")["RepoTags"] == ["app:1"]
    assert client.api.history("app:1") == [{"CreatedBy": "RUN uv sync", "Size": 5}]
    assert [image.tags for image in client.images.list(name="app")] == [["app:1", "app:2"], []]
    assert json.loads(parse_qs(urlsplit(server.asked[-1]).query)["filters"][0]) == {"reference": ["app"]}
    chunks = list(client.api.get_image("app:1", chunk_size=4096))
    assert b"".join(chunks) == EXPORT and max(len(chunk) for chunk in chunks) <= 65536


def test_error_statuses_carry_the_engines_own_message(fake_engine):
    host, _ = fake_engine
    client = EngineAPI(host)
    with pytest.raises(EngineNotFound, match="No such image"):
        client.api.inspect_image("nope:1")
    with pytest.raises(EngineAPIError, match="500 layer does not exist") as raised:
        client.api.inspect_image("broken")
    assert not isinstance(raised.value, EngineNotFound)
    with pytest.raises(EngineNotFound):
        client.api.get_image("nope:1")  # at once, not when the stream is first read


def test_engine_errors_become_one_line_uvscope_errors(fake_engine, monkeypatch):
    host, _ = fake_engine
    monkeypatch.setenv("DOCKER_HOST", host)
    client = engine.engine_client()
    assert isinstance(client, EngineAPI)
    with pytest.raises(ImageNotFound, match="no image 'nope:1' in the Docker Engine"):
        engine.EngineImage("nope:1", client)
    with pytest.raises(engine.UvscopeError, match="Docker Engine error for 'broken': 500 layer does not exist"):
        engine.EngineImage("broken", client)
    monkeypatch.setenv("DOCKER_HOST", host + ".gone")
    with pytest.raises(EngineUnavailable, match=r"cannot reach the Docker Engine at unix://.*\.gone: is dockerd running\?"):
        engine.engine_client()


def test_only_plain_addresses_are_its_own():
    assert plain_address("unix:///run/docker.sock")[1] == "/run/docker.sock"
    assert plain_address("tcp://127.0.0.1:2375")[1] == ("127.0.0.1", 2375)
    assert plain_address("tcp://[::1]")[1] == ("::1", 2375)
    assert plain_address("ssh://me@host") is None and plain_address("npipe:////./pipe/docker_engine") is None


def test_a_context_store_gives_the_host_and_whether_it_speaks_tls(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    for name, host, tls in (("local", "unix:///run/other.sock", False), ("remote", "tcp://10.0.0.2:2376", True)):
        digest = hashlib.sha256(name.encode()).hexdigest()
        meta = tmp_path / "contexts" / "meta" / digest
        meta.mkdir(parents=True)
        meta.joinpath("meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}))
        if tls:
            (tmp_path / "contexts" / "tls" / digest / "docker").mkdir(parents=True)
    assert context_endpoint("local") == ("unix:///run/other.sock", False)
    assert context_endpoint("remote") == ("tcp://10.0.0.2:2376", True)
    assert context_endpoint("missing") is None


def test_reading_from_a_socket_does_not_import_docker_py(fake_engine):
    """docker-py (requests, urllib3, ssl) is most of a small read's memory: a socket engine never loads it."""
    host, _ = fake_engine
    script = (
        "import sys; from uvscope.analysis.read.engine import engine_client, EngineImage\n"
        "EngineImage('app:1', engine_client()).meta()\n"
        "print(sorted(m for m in ('docker', 'requests', 'urllib3', 'ssl') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={"DOCKER_HOST": host, "PATH": "/usr/bin:/bin"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
