"""Faults: the engine going away mid-read, a full disk, uv missing; clear messages, files left as they were."""

from __future__ import annotations

import errno
import io
import os

import pytest
from tarbuilder import docker_save_legacy, layer_tar

from uvscope.analysis import files as files_module
from uvscope.analysis.errors import EngineUnavailable, UvscopeError
from uvscope.analysis.files import write_atomic
from uvscope.analysis.plan.project_edit import read_project_file, write_groups_and_lock
from uvscope.analysis.read.archive import StreamStore
from uvscope.analysis.read.engine import _ChunkStream


def _chunks_then_failure(data: bytes, fail_at: int):
    yield data[:fail_at]
    import urllib3

    raise urllib3.exceptions.ProtocolError("Connection broken: engine stopped")


def test_engine_stopping_mid_stream_is_one_clear_error():
    """The export is received on a thread of its own: its error reaches the parser, in order."""
    archive = docker_save_legacy([layer_tar(("file", "a", b"x" * 50_000))])
    stream = io.BufferedReader(_ChunkStream(lambda: _chunks_then_failure(archive, 20_000), "app:1"), 4096)
    with pytest.raises(EngineUnavailable, match="the export stream of 'app:1' broke"):
        StreamStore(stream, "app:1")


def _engine_refusing_the_export():
    import docker.errors
    import requests

    response = requests.Response()
    response.status_code = 500
    response.url = "http+docker://localhost/v1.41/images/" + "a" * 300 + "/get"
    raise docker.errors.APIError("500 Server Error", response=response, explanation="write /var/lib/docker/tmp/x: no space left on device")
    yield b""


def test_an_engine_error_mid_export_names_the_engines_reason_not_its_url():
    """docker-py's message puts a long URL before the engine's explanation; the line keeps the explanation."""
    stream = io.BufferedReader(_ChunkStream(_engine_refusing_the_export, "app:1"), 4096)
    with pytest.raises(EngineUnavailable) as raised:
        stream.read()
    assert str(raised.value) == "the export stream of 'app:1' broke: 500 write /var/lib/docker/tmp/x: no space left on device"


def test_the_export_thread_passes_every_chunk_in_order():
    chunks = [bytes([i]) * (i * 1000 + 1) for i in range(40)]
    stream = io.BufferedReader(_ChunkStream(lambda: iter(chunks), "app:1"), 4096)
    assert stream.read() == b"".join(chunks)


def test_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old report")

    class Full(io.RawIOBase):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        real_fdopen(fd, *args, **kwargs).close()
        return Full()

    monkeypatch.setattr(files_module.os, "fdopen", fdopen)
    with pytest.raises(UvscopeError, match="No space left on device"):
        write_atomic(str(target), b"new report")
    assert target.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_uv_missing_is_a_clear_error_and_nothing_changes(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\nversion = "1"\ndependencies = ["six"]\n')
    (tmp_path / "uv.lock").write_text('version = 1\n[[package]]\nname = "six"\nversion = "1"\nsource = { registry = "x" }\n')
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(UvscopeError, match="uv is not on PATH"):
        write_groups_and_lock(read_project_file(str(tmp_path / "pyproject.toml")), "changed", str(tmp_path / "uv.lock"))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
