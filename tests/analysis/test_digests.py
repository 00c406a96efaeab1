"""Layer digests are verified on every path that reads blobs from outside the engine.

A blob whose bytes do not hash to the digest its manifest names, or whose
uncompressed tar does not hash to its config's `diff_id`, must end the command
with one line naming the layer, exit 2, and no report written. The tampering is
one byte, in places that still decompress and parse (so only the digest can
catch it): a file's contents in a plain tar, the MTIME field of a gzip header.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import harness
import pytest
from tarbuilder import as_tar, docker_save_legacy, layer_tar, oci_files

from uvscope.analysis.read.digests import DigestMismatch
from uvscope.analysis.read.sources import open_source, read_image

UVSCOPE = [sys.executable, "-m", "uvscope.app.cli"]
PAYLOAD = b"p" * 4000
LAYERS = [
    layer_tar(("dir", "app"), ("file", "app/a", b"a" * 100)),
    layer_tar(("file", "app/payload", PAYLOAD)),
]


def _tamper_contents(data: bytes) -> bytes:
    """Flip one byte of the payload inside a plain layer tar (headers and sizes stay valid)."""
    at = data.index(PAYLOAD) + 1234
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _tamper_gzip_mtime(data: bytes) -> bytes:
    """Change the MTIME byte of a gzip header: it still decompresses to the same tar."""
    assert data[:2] == b"\x1f\x8b"
    tampered = data[:4] + bytes([data[4] ^ 0x01]) + data[5:]
    assert gzip.decompress(tampered) == gzip.decompress(data)
    return tampered


def _report(target: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*UVSCOPE, "report", target, "--no-cache", "--format", "json", "-o", str(out)], capture_output=True, text=True, timeout=300
    )


def _assert_refused(result: subprocess.CompletedProcess, out: Path, layer_number: int) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"layer {layer_number} " in lines[0] and "tampered or corrupt" in lines[0], lines[0]
    assert not out.exists()
    return lines[0]


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _layer_blob(files: dict[str, bytes], index: int) -> str:
    index_doc = json.loads(files["index.json"])
    manifest = json.loads(files["blobs/" + index_doc["manifests"][0]["digest"].replace(":", "/")])
    return "blobs/" + manifest["layers"][index]["digest"].replace(":", "/")


@pytest.mark.parametrize("compression", ["plain", "gzip"])
def test_untouched_layout_reads_and_carries_its_digests(tmp_path, compression):
    folder = _write(tmp_path / "layout", oci_files(LAYERS, compression=compression))
    image = read_image(open_source(str(folder), "oci"))
    assert [layer.size_bytes for layer in image.layers] == [100, len(PAYLOAD)]
    out = tmp_path / "report.json"
    assert _report(str(folder), out).returncode == 0
    assert out.exists()


@pytest.mark.parametrize(("compression", "tamper"), [("plain", _tamper_contents), ("gzip", _tamper_gzip_mtime)])
def test_tampered_oci_layout_blob_is_refused(tmp_path, compression, tamper):
    files = oci_files(LAYERS, compression=compression)
    blob = _layer_blob(files, 1)
    files[blob] = tamper(files[blob])
    folder = _write(tmp_path / "layout", files)
    out = tmp_path / "report.json"
    line = _assert_refused(_report(str(folder), out), out, 2)
    assert blob in line
    # The same layout as a tar (read by seeking) and gzip-compressed (read once from the front).
    archive = tmp_path / "layout.tar"
    archive.write_bytes(as_tar(files))
    _assert_refused(_report(str(archive), out), out, 2)
    compressed = tmp_path / "layout.tar.gz"
    compressed.write_bytes(gzip.compress(as_tar(files)))
    _assert_refused(_report(str(compressed), out), out, 2)


def test_tampered_legacy_docker_save_layer_is_refused_by_its_diff_id(tmp_path):
    """Legacy docker-save names layers `<id>/layer.tar`: only the config's diff_id can catch the change."""
    archive = docker_save_legacy(LAYERS)
    tampered = tmp_path / "image.tar"
    tampered.write_bytes(_tamper_contents(archive))
    with pytest.raises(DigestMismatch, match="diff_id"):
        read_image(open_source(str(tampered)))
    out = tmp_path / "report.json"
    _assert_refused(_report(str(tampered), out), out, 2)


def test_tampered_config_is_refused(tmp_path):
    files = oci_files(LAYERS)
    index_doc = json.loads(files["index.json"])
    manifest = json.loads(files["blobs/" + index_doc["manifests"][0]["digest"].replace(":", "/")])
    config = "blobs/" + manifest["config"]["digest"].replace(":", "/")
    files[config] = files[config].replace(b"RUN step 0", b"RUN step X")
    folder = _write(tmp_path / "layout", files)
    result = _report(str(folder), tmp_path / "report.json")
    assert result.returncode == 2 and "image config" in result.stderr and "tampered" in result.stderr


@pytest.mark.engine
def test_tampered_skopeo_layout_of_a_real_image_is_refused(layers_oci, tmp_path):
    folder = Path(shutil.copytree(layers_oci, tmp_path / "oci"))
    files = {"index.json": (folder / "index.json").read_bytes()}
    index_doc = json.loads(files["index.json"])
    manifest_name = "blobs/" + index_doc["manifests"][0]["digest"].replace(":", "/")
    files[manifest_name] = (folder / manifest_name).read_bytes()
    blob = _layer_blob(files, -1)
    path = folder / blob
    os.chmod(path, 0o644)
    path.write_bytes(_tamper_gzip_mtime(path.read_bytes()))
    out = tmp_path / "report.json"
    layers = len(json.loads(files[manifest_name])["layers"])
    _assert_refused(_report(str(folder), out), out, layers)


@pytest.mark.engine
def test_tampered_blob_in_registry_storage_is_refused(layers_image, tmp_path):
    """Debian's docker-registry on loopback serves a blob edited in its storage: uvscope refuses it."""
    server = harness.Registry(tmp_path / "registry")
    try:
        target = server.push(layers_image, "uvscope/tamper:v1")
        out = tmp_path / "report.json"
        assert _report(f"registry://{target}", out).returncode == 0
        out.unlink()
        request = urllib.request.Request(
            f"http://{server.host}/v2/uvscope/tamper/manifests/v1",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"},
        )
        manifest = json.loads(urllib.request.urlopen(request, timeout=30).read())
        digest = manifest["layers"][-1]["digest"].removeprefix("sha256:")
        data = tmp_path / "registry" / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256" / digest[:2] / digest / "data"
        data.write_bytes(_tamper_gzip_mtime(data.read_bytes()))
        line = _assert_refused(_report(f"registry://{target}", out), out, len(manifest["layers"]))
        assert digest in line
    finally:
        server.stop()
