"""The first paint's peek at the engine's storage: the same metadata the engine's API gives, or nothing.

`peek_local_meta` reads the engine's reference store and image config without
docker-py, so the session can paint its layer list before the API client is
even imported; the session then confirms it through the API. A peek that
cannot be sure must say None, never guess another image.
"""

from __future__ import annotations

import json

import pytest

from uvscope.analysis.read import engine, engine_storage
from uvscope.analysis.read.engine import EngineImage, familiar_ref, peek_local_meta
from uvscope.analysis.read.kinds import names_engine_image

IMAGE_ID = "sha256:" + "c" * 64
DIFF_IDS = ["sha256:" + "1" * 64, "sha256:" + "2" * 64]


@pytest.fixture
def storage(monkeypatch):
    """A fake engine storage holding `app:1` (two layers), and an engine listening: what the peek reads."""
    root = "/var/lib/docker/image/overlay2"
    config = {"rootfs": {"diff_ids": DIFF_IDS}, "history": [{"created_by": "ADD base"}, {"created_by": "RUN uv sync"}],
              "os": "linux", "architecture": "amd64", "created": "2026-01-01T00:00:00Z"}
    files = {
        f"{root}/repositories.json": json.dumps({"Repositories": {"app": {"app:1": IMAGE_ID}}}).encode(),
        f"{root}/imagedb/content/sha256/{'c' * 64}": json.dumps(config).encode(),
    }
    for chain in engine.chain_ids(DIFF_IDS):
        files[f"{root}/layerdb/sha256/{chain.partition(':')[2]}/size"] = b"1000"
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setattr(engine_storage, "read_small", files.get)
    monkeypatch.setattr(engine_storage.os, "listdir", lambda path: ["overlay2"] if path == "/var/lib/docker/image" else [])
    monkeypatch.setattr(engine_storage, "_engine_listening", lambda: True)
    return files


def test_the_fake_storage_is_peeked(storage):
    meta = peek_local_meta("app:1")
    assert meta is not None and meta.id == IMAGE_ID and list(meta.diff_ids) == DIFF_IDS
    assert meta.created_by == ("ADD base", "RUN uv sync") and meta.layer_sizes == (1000, 1000)


def test_another_engine_is_never_peeked_at(storage, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://elsewhere:2375")
    assert peek_local_meta("app:1") is None


def test_a_docker_context_naming_another_engine_is_never_peeked_at(storage, monkeypatch, tmp_path):
    """`docker context use docker26` (the CLI's config) sends uvscope there too; DOCKER_CONTEXT overrides it."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    storage[str(tmp_path / "config.json")] = b'{"currentContext": "docker26"}'
    assert engine.current_context() == "docker26"
    assert peek_local_meta("app:1") is None
    monkeypatch.setenv("DOCKER_CONTEXT", "default")
    assert engine.current_context() == "default" and peek_local_meta("app:1") is not None


def test_a_stopped_engine_is_never_peeked_at(storage, monkeypatch):
    monkeypatch.setattr(engine_storage, "_engine_listening", lambda: False)
    assert peek_local_meta("app:1") is None


def test_containerds_image_store_is_never_peeked_at(storage):
    storage["/etc/docker/daemon.json"] = b'{"features": {"containerd-snapshotter": true}}'
    assert peek_local_meta("app:1") is None


def test_a_layout_on_disk_by_that_name_is_not_the_engines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert names_engine_image("myapp:1.0", "auto")
    (tmp_path / "myapp").mkdir()  # a plain folder (the project itself, named like its image) is no layout
    assert names_engine_image("myapp:1.0", "auto")
    (tmp_path / "myapp" / "index.json").write_text("{}")  # `myapp:1.0` now names tag 1.0 of this OCI layout, as `open_source` reads it
    assert not names_engine_image("myapp:1.0", "auto")
    (tmp_path / "app.tar").write_bytes(b"")  # and `app.tar:1` a tag of that archive
    assert not names_engine_image("app.tar:1", "auto")
    assert names_engine_image("myapp:1.0", "docker")
    assert not names_engine_image("oci:elsewhere:1", "auto") and not names_engine_image("app:1", "registry")


@pytest.mark.parametrize(
    ("ref", "familiar"),
    [
        ("ubuntu", "ubuntu:latest"),
        ("docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
        ("index.docker.io/someone/tool", "someone/tool:latest"),
        ("localhost:5000/svc", "localhost:5000/svc:latest"),
        ("localhost:5000/svc:v1", "localhost:5000/svc:v1"),
        ("svc@sha256:" + "a" * 64, "svc@sha256:" + "a" * 64),
        ("library/a/b:1", "library/a/b:1"),
        ("Upper:case", None),
        ("", None),
        (" svc", None),
    ],
)
def test_references_are_spelled_as_the_reference_store_spells_them(ref, familiar):
    assert familiar_ref(ref) == familiar


@pytest.mark.engine
def test_the_peek_equals_the_engines_answer(layers_image, engine):
    peeked = peek_local_meta(layers_image)
    if peeked is None:
        pytest.skip("the engine's storage is not readable by this process (not root on the engine's host)")
    assert peeked == EngineImage(layers_image, engine).meta()


@pytest.mark.engine
def test_an_unknown_image_is_not_peeked(engine):
    assert peek_local_meta("uvscope-test/no-such-image:never") is None
