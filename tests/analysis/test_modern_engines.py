"""Docker 26 with the containerd image store (buildx 0.13), next to 20.10: reading, the fast path, first paint,
history, diff, the session, and how a user points uvscope at it (`DOCKER_HOST`, a docker context).

The images come from `tests/setup-engine.sh`'s docker 26 (the `layers` fixture built there by its buildx, so
the image is an index with provenance, as a user's is). The tests that must hold on both engines take
`each_engine`; the rest run on docker 26 alone and compare with what 20.10 gives where that is the truth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import harness
import pytest

from uvscope.analysis.read.sources import open_source, read_image

pytestmark = pytest.mark.engine


def _cli(*args: str, env: dict[str, str], cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_the_fast_path_report_is_the_streams_byte_for_byte(each_engine, tmp_path):
    """On each engine, `uvscope report --format json` from local storage (overlay2 folders on 20.10, containerd
    snapshots on 26) is byte for byte the report read through `docker save`, with no fallback note."""
    engine, image = each_engine
    env = engine.env(XDG_CACHE_HOME=str(tmp_path))
    fast = _cli("report", image, "--format", "json", "--no-cache", env=env)
    stream = _cli("report", image, "--format", "json", "--no-cache", "--stream", env=env)
    assert fast.returncode == 0 and stream.returncode == 0, fast.stderr + stream.stderr
    assert fast.stdout == stream.stdout
    assert "export stream" not in fast.stderr  # no "cannot apply" note: the fast path was taken
    source = open_source(image)
    read_image(source)
    assert source.path_used == "local-storage"
    assert json.loads(fast.stdout)["image"]["id"] == source.meta().id


def test_docker26_save_writes_an_oci_layout_read_and_verified(docker26, layers_image26, tmp_path, monkeypatch):
    """`docker save` on 26 writes an OCI layout (oci-layout, index.json, blobs/sha256); uvscope reads it, every
    blob checked against its digest (a flipped byte is refused in one line), and finds what the engine holds."""
    monkeypatch.setenv("DOCKER_HOST", docker26.host)
    saved = tmp_path / "image.tar"
    harness.docker("save", "-o", str(saved), layers_image26, engine=docker26)
    with tarfile.open(saved) as archive:
        names = set(archive.getnames())
        assert {"oci-layout", "index.json"} <= names and any(name.startswith("blobs/sha256/") for name in names)
        index = json.load(archive.extractfile("index.json"))
        assert index["manifests"] and index["schemaVersion"] == 2
        # buildx's image: an index of the amd64 manifest and its provenance (an `unknown/unknown` attestation)
        image_index = json.load(archive.extractfile("blobs/sha256/" + index["manifests"][0]["digest"].partition(":")[2]))
        platforms = [(item.get("platform") or {}).get("os") for item in image_index.get("manifests", [])]
        assert platforms == ["linux", "unknown"], image_index
    from_file = read_image(open_source(str(saved)))
    engine = open_source(layers_image26)
    from_engine = read_image(engine)
    assert engine.path_used == "local-storage"
    assert from_engine.meta.diff_ids == from_file.meta.diff_ids
    assert [(layer.size_bytes, layer.file_count) for layer in from_engine.layers] == [
        (layer.size_bytes, layer.file_count) for layer in from_file.layers
    ]
    # flip one byte inside the largest layer blob: the digest check refuses it
    with tarfile.open(saved) as archive:
        blob = max((member for member in archive if member.name.startswith("blobs/sha256/")), key=lambda member: member.size)
    with open(saved, "r+b") as handle:
        handle.seek(blob.offset_data + blob.size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    tampered = _cli("report", str(saved), "--no-cache", env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert tampered.returncode != 0
    lines = tampered.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing a tampered or corrupt blob" in lines[0], tampered.stderr


def test_docker26_first_paint_comes_from_metadata(docker26, layers_image26, monkeypatch):
    """The layer list (commands, sizes, which history entries are empty) comes from containerd's content store
    and the engine's history, with no `docker save`; it is what the full read finds."""
    monkeypatch.setenv("DOCKER_HOST", docker26.host)
    source = open_source(layers_image26)
    meta = source.meta()
    assert source.engine.has_local_config and source.engine.containerd_store()
    assert len(meta.created_by) == len(meta.diff_ids) > 8
    assert all(isinstance(size, int) for size in meta.layer_sizes)
    assert any("uv sync --frozen --no-dev --no-install-project" in command for command in meta.created_by)
    monkeypatch.setattr(source.engine, "export", lambda **_: pytest.fail("the fast path exported the image"))
    image = read_image(source)
    assert source.path_used == "local-storage"
    streamed = open_source(layers_image26, stream=True)
    read_image(streamed)
    assert streamed.meta().created_by == meta.created_by  # the exported config's history, paired the same way
    assert image.meta.diff_ids == streamed.meta().diff_ids == meta.diff_ids


def test_a_docker_context_naming_docker26_gets_the_fast_path(docker26, layers_image26, tmp_path):
    """No DOCKER_HOST, a docker context (`docker context create` + `use`) on docker 26's socket: uvscope talks to
    the engine the docker CLI would, takes the containerd fast path, and reports what DOCKER_HOST gives."""
    config = tmp_path / "docker-config"
    env = {key: value for key, value in os.environ.items() if key not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    env.update(DOCKER_CONFIG=str(config), XDG_CACHE_HOME=str(tmp_path / "cache"))
    for args in (("context", "create", "uvscope-d26", "--docker", f"host={docker26.host}"), ("context", "use", "uvscope-d26")):
        subprocess.run([docker26.cli, *args], check=True, capture_output=True, env=env)
    through_context = _cli("report", layers_image26, "--format", "json", "--no-cache", env=env)
    assert through_context.returncode == 0, through_context.stderr
    assert "export stream" not in through_context.stderr
    image_id = harness.docker("image", "inspect", "--format", "{{.Id}}", layers_image26, engine=docker26).stdout.strip()
    assert json.loads(through_context.stdout)["image"]["id"] == image_id  # docker 26's image, not 20.10's of that name
    gone = _cli("report", layers_image26, "--no-cache", env={**env, "DOCKER_CONTEXT": "no-such-context"})
    lines = gone.stderr.strip().splitlines()
    assert gone.returncode != 0 and len(lines) == 1 and "no docker context 'no-such-context'" in lines[0], gone.stderr


@pytest.fixture
def history_tags(docker26):
    """uvscope-test26/history:a (the uv base) and :b (the layers image) on docker 26, removed afterwards."""
    base = harness.uv_base_image()
    docker26.copy_from_default(base)
    layers = harness.build_fixture("layers", engine=docker26)
    tags = {"a": base, "b": layers}
    for tag, source in tags.items():
        harness.docker("tag", source, f"uvscope-test26/history:{tag}", engine=docker26)
    yield {tag: f"uvscope-test26/history:{tag}" for tag in tags}
    for tag in tags:
        harness.docker("rmi", f"uvscope-test26/history:{tag}", check=False, engine=docker26)


def test_docker26_history_and_diff(docker26, history_tags, tmp_path):
    """`history REPO` lists the repository's tags on docker 26 and reads each; `diff A B` says what B adds."""
    env = docker26.env(XDG_CACHE_HOME=str(tmp_path))
    history = _cli("history", "uvscope-test26/history", "--format", "json", env=env)
    assert history.returncode == 0, history.stderr
    images = json.loads(history.stdout)["images"]
    assert [image["ref"] for image in images] == [history_tags["a"], history_tags["b"]]
    assert images[1]["reused_bytes"] > 0 and images[1]["new_bytes"] < images[1]["size_bytes"]  # b is built on a
    diff = _cli("diff", history_tags["a"], history_tags["b"], "--format", "json", env=env)
    assert diff.returncode == 0, diff.stderr
    changes = json.loads(diff.stdout)
    assert changes["layers"][0]["status"] == "shared"
    assert 0 < changes["pull_bytes"] < changes["b"]["size_bytes"]
    assert "demo-app" in [package["name"] for package in changes["packages"]["added"]]


def test_podman5_images_read_through_its_service(podman5, tmp_path):
    """An image loaded into podman 5 (through its service) is read by `--source podman` and `podman://IMAGE`
    from CONTAINER_HOST's socket, and gives the same layers and packages as 20.10's copy of it. (The uv base:
    the podman proof in test_modern_builder.py builds on it, so it is loaded once.)"""
    image = podman5.copy_from_default(harness.uv_base_image())
    env = {**os.environ, "CONTAINER_HOST": harness.PODMAN5_HOST, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("DOCKER_HOST", None)
    direct = _cli("report", image, "--format", "json", "--no-cache", env=env)
    assert direct.returncode == 0, direct.stderr
    expected = json.loads(direct.stdout)
    for args in (("--source", "podman", image), (f"podman://{image}",)):
        through = _cli("report", *args, "--format", "json", "--no-cache", env=env)
        assert through.returncode == 0, through.stderr
        report = json.loads(through.stdout)
        assert report["layers"] == expected["layers"] and len(report["layers"]) == 3
        assert report["image"]["file_count"] == expected["image"]["file_count"] > 1000


def test_docker26_without_readable_snapshots_falls_back_with_one_note(docker26, layers_image26, monkeypatch, tmp_path):
    """Where containerd's state cannot be read (here: looked for in an empty folder), the image is read through the
    export stream and the report's warnings say why in one line, never silently."""
    from uvscope.analysis.read import containerd

    monkeypatch.setenv("DOCKER_HOST", docker26.host)
    monkeypatch.setattr(containerd, "containerd_roots", lambda docker_root: [str(tmp_path)])
    source = open_source(layers_image26)
    image = read_image(source)
    assert source.path_used == "stream"
    notes = [warning for warning in image.warnings if "containerd image store" in warning]
    assert notes == [
        "the containerd image store's snapshots are not readable here (no containerd state found): read through the engine's export stream (slower)"
    ]
