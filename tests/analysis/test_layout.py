"""Reading synthetic archives and layouts: docker-save (both layouts), OCI folders and tars."""

from __future__ import annotations

import json

import pytest
from tarbuilder import as_tar, docker_save_legacy, layer_tar, oci_files

from uvscope.analysis.errors import ArchiveError, ImageNotFound, LayerError
from uvscope.analysis.read.sources import open_source, read_image

LAYERS = [
    layer_tar(("dir", "app"), ("file", "app/a", b"a" * 100), ("file", "app/gone", b"g" * 10)),
    layer_tar(("file", "app/b", b"b" * 50), ("whiteout", "app/gone")),
]


def _summary(image):
    return [(layer.diff_id, layer.size_bytes, layer.file_count, layer.created_by) for layer in image.layers]


@pytest.fixture
def expected():
    from tarbuilder import digest

    return [(digest(LAYERS[0]), 110, 2, "RUN step 0"), (digest(LAYERS[1]), 50, 1, "RUN step 1")]


def _write_folder(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_legacy_docker_save(tmp_path, expected):
    archive = tmp_path / "image.tar"
    archive.write_bytes(docker_save_legacy(LAYERS))
    image = read_image(open_source(str(archive)))
    assert _summary(image) == expected
    assert image.meta.repo_tags == ("demo:latest",)
    assert sorted(image.files) == ["app", "app/a", "app/b"]


def test_docker25_save_with_oci_blobs(tmp_path, expected):
    archive = tmp_path / "image.tar"
    archive.write_bytes(as_tar(oci_files(LAYERS, docker25=True)))
    assert _summary(read_image(open_source(str(archive)))) == expected


@pytest.mark.parametrize("compression", ["plain", "gzip", "zstd"])
def test_oci_layout_folder_and_tar(tmp_path, expected, compression):
    files = oci_files(LAYERS, compression=compression)
    folder = _write_folder(tmp_path / "layout", files)
    assert _summary(read_image(open_source(str(folder), "oci"))) == expected
    archive = tmp_path / "layout.tar"
    archive.write_bytes(as_tar(files))
    assert _summary(read_image(open_source(str(archive), "oci"))) == expected


def test_gzipped_docker_save_is_read_as_a_stream(tmp_path, expected):
    import gzip

    archive = tmp_path / "image.tar.gz"
    archive.write_bytes(gzip.compress(docker_save_legacy(LAYERS)))
    assert _summary(read_image(open_source(str(archive)))) == expected


def test_multi_platform_index_picks_the_platform(tmp_path):
    folder = _write_folder(tmp_path / "layout", oci_files(LAYERS, platforms=("linux/amd64", "linux/arm64")))
    arm = open_source(str(folder), platform="linux/arm64")
    assert arm.meta().platform == "linux/arm64"
    amd = open_source(str(folder), platform="linux/amd64")
    assert amd.meta().platform == "linux/amd64"
    with pytest.raises(ImageNotFound, match="no manifest for linux/s390x; available: linux/amd64, linux/arm64"):
        open_source(str(folder), platform="linux/s390x")


def test_tag_selects_an_image_in_a_layout(tmp_path):
    files = oci_files(LAYERS)
    index = json.loads(files["index.json"])
    index["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
    files["index.json"] = json.dumps(index).encode()
    folder = _write_folder(tmp_path / "layout", files)
    assert open_source(f"{folder}:v1").meta().repo_tags == ("v1",)
    with pytest.raises(ImageNotFound, match="no image named 'v2'"):
        open_source(f"{folder}:v2")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", ArchiveError),
        (b"not a tar at all" * 100, ArchiveError),
    ],
)
def test_not_an_archive(tmp_path, content, error):
    path = tmp_path / "junk.tar"
    path.write_bytes(content)
    with pytest.raises(error):
        open_source(str(path))


def test_manifest_that_is_not_json(tmp_path):
    path = tmp_path / "bad.tar"
    path.write_bytes(as_tar({"manifest.json": b"{nope"}))
    with pytest.raises(ArchiveError, match="manifest.json is not valid JSON"):
        open_source(str(path))


def test_missing_layer_blob(tmp_path):
    files = oci_files(LAYERS)
    victim = next(name for name, data in files.items() if data == LAYERS[1])
    del files[victim]
    folder = _write_folder(tmp_path / "layout", files)
    with pytest.raises(ArchiveError, match="missing layer blob"):
        read_image(open_source(str(folder)))


def test_corrupt_layer_blob(tmp_path):
    files = oci_files(LAYERS, compression="gzip")
    victim = next(name for name, data in files.items() if data.startswith(b"\x1f\x8b"))
    files[victim] = files[victim][:40]
    folder = _write_folder(tmp_path / "layout", files)
    with pytest.raises(LayerError):
        read_image(open_source(str(folder)))
