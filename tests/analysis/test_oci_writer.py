"""The OCI layout writer (the demo image's and the tests' images): what it writes, uvscope's reader reads back."""

from __future__ import annotations

import json

from tarbuilder import layer_tar

from uvscope.analysis.read.layout import REF_NAME
from uvscope.analysis.read.oci_writer import image_config, layout_tar, oci_layout, sha256_digest
from uvscope.analysis.read.sources import open_source, read_image

LAYERS = [layer_tar(("dir", "app"), ("file", "app/a", b"a" * 10)), layer_tar(("file", "app/b", b"b" * 20))]


def test_a_written_layout_tar_reads_back_as_the_same_image(tmp_path):
    config = image_config(LAYERS, [{"created_by": "COPY a /app/"}, {"created_by": "RUN b"}], runtime={"WorkingDir": "/app"})
    files = oci_layout(config, LAYERS, annotations={REF_NAME: "demo"})
    assert list(files)[:2] == ["oci-layout", "index.json"]
    assert json.loads(files["index.json"])["manifests"][0]["annotations"] == {REF_NAME: "demo"}
    archive = tmp_path / "image.oci.tar"
    archive.write_bytes(layout_tar(files))
    source = open_source(str(archive))
    try:
        image = read_image(source)
    finally:
        source.close()
    assert image.meta.diff_ids == tuple(sha256_digest(layer) for layer in LAYERS)
    assert image.meta.created_by == ("COPY a /app/", "RUN b")
    assert image.meta.id == sha256_digest(config)
    assert [layer.size_bytes for layer in image.layers] == [10, 20]
    assert json.loads(config)["config"] == {"WorkingDir": "/app"}


def test_the_same_layers_make_the_same_bytes():
    config = image_config(LAYERS, [{"created_by": "RUN"}] * 2)
    assert layout_tar(oci_layout(config, LAYERS)) == layout_tar(oci_layout(config, LAYERS))
