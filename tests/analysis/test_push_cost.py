"""The pure parts of `--prove`'s push and cold-builder figures, on synthetic data: a registry's blob files,
manifests and indexes, what a push uploaded, the preview's estimate, the cache plans and the CI lines."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os

import pytest

from uvscope.analysis.plan.cold_build import INLINE, REGISTRY_MAX, cache_plan, external_images, github_actions_lines
from uvscope.analysis.plan.dockerfile import parse_dockerfile
from uvscope.analysis.plan.push_cost import (
    BLOBS_DIR,
    compression_ratio,
    estimate_pushed,
    gzip_size,
    manifest_blobs,
    pushed,
    storage_blobs,
)


def _blob(root, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    folder = os.path.join(root, BLOBS_DIR, digest[:2], digest)
    os.makedirs(folder)
    with open(os.path.join(folder, "data"), "wb") as handle:
        handle.write(data)
    return "sha256:" + digest


def test_storage_blobs_and_what_a_push_uploaded(tmp_path):
    root = str(tmp_path)
    base = _blob(root, b"base layer" * 100)
    before = storage_blobs(root)
    assert before == {base: 1000}
    new_layer = _blob(root, b"x" * 4321)
    config = _blob(root, b"{}")
    (tmp_path / "docker/registry/v2/repositories").mkdir(parents=True)  # links and uploads are not blobs
    after = storage_blobs(root)
    result = pushed(before, after, "registry storage")
    assert (result.bytes, result.blobs, result.record) == (4321 + 2, 2, "registry storage")
    assert set(after) == {base, new_layer, config}
    assert pushed(after, after, "registry storage").bytes == 0


def test_manifest_blobs_of_an_image_an_index_and_a_buildkit_cache():
    image = {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:c", "size": 1500},
        "layers": [{"digest": "sha256:l1", "size": 10}, {"digest": "sha256:l2", "size": 20}],
    }
    blobs, children = manifest_blobs(image, "sha256:m", 500)
    assert blobs == {"sha256:m": 500, "sha256:c": 1500, "sha256:l1": 10, "sha256:l2": 20} and children == []
    index = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:a", "size": 400},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:cached", "size": 999},
        ],
    }
    blobs, children = manifest_blobs(index, "sha256:i", 300)
    assert blobs == {"sha256:i": 300, "sha256:cached": 999} and children == ["sha256:a"]


def test_gzip_size_is_the_layer_digest_size_and_gzip_bytes():
    data = b"".join(f"line {i}\n".encode() for i in range(50000))
    digest, read, compressed = gzip_size(io.BytesIO(data), chunk=4096)
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest() and read == len(data)
    assert abs(compressed - len(gzip.compress(data, 6))) < 64  # the same deflate stream, give or take the header
    assert gzip.decompress(gzip.compress(data)) == data and compressed < read / 3


def test_compression_ratio_weights_layers_by_their_python_bytes():
    # a Python layer of 100 bytes compressing to 40 and a base layer with no Python: only the first counts
    assert compression_ratio([(100, 100, 40), (0, 1000, 900)]) == pytest.approx(0.4)
    # two Python layers: 300 bytes at 0.5, 100 bytes at 0.1
    assert compression_ratio([(300, 300, 150), (100, 200, 20)]) == pytest.approx((300 * 0.5 + 100 * 0.1) / 400)
    assert compression_ratio([(0, 10, 5)]) is None
    assert estimate_pushed(1_000_000, 0.4) == 400_000


def test_python_compression_ratio_from_the_attribution():
    from types import SimpleNamespace as NS

    from uvscope.analysis.plan.push_cost import python_compression_ratio

    image = NS(layers=[NS(index=0, diff_id="sha256:base", size_bytes=1000), NS(index=1, diff_id="sha256:deps", size_bytes=500)])
    attribution = NS(distributions=[NS(layer_bytes={1: 300}), NS(layer_bytes={1: 100, 0: 0})])
    assert python_compression_ratio(image, attribution, {"sha256:base": 900, "sha256:deps": 150}) == pytest.approx(0.3)
    assert python_compression_ratio(image, attribution, {"sha256:base": 900}) is None  # no figure for the Python layer


def test_cache_plans_per_builder():
    inline = cache_plan(False, "reg:5000/app:before", "reg:5000/app:buildcache")
    assert inline.mode == INLINE and not inline.pushes_cache
    assert inline.exporting == ("--build-arg", "BUILDKIT_INLINE_CACHE=1")
    assert inline.importing[:2] == ("--cache-from", "reg:5000/app:before")
    registry = cache_plan(True, "reg:5000/app:before", "reg:5000/app:buildcache")
    assert registry.mode == REGISTRY_MAX and registry.pushes_cache
    assert registry.exporting == ("--cache-to", "type=registry,ref=reg:5000/app:buildcache,mode=max")
    assert registry.importing[:2] == ("--cache-from", "type=registry,ref=reg:5000/app:buildcache")


def test_github_actions_lines():
    assert github_actions_lines("ghcr.io/me/app:latest") == [
        "cache-from: type=registry,ref=ghcr.io/me/app:buildcache",
        "cache-to: type=registry,ref=ghcr.io/me/app:buildcache,mode=max",
    ]
    assert github_actions_lines("localhost:5000/app")[0] == "cache-from: type=registry,ref=localhost:5000/app:buildcache"


def test_external_images_are_what_a_cold_builder_must_pull():
    dockerfile = parse_dockerfile(
        "FROM python:3.12-slim AS Builder\n"
        "COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /bin/uv\n"
        "RUN --mount=from=busybox:1,source=/bin,target=/x true\n"
        "FROM builder AS test\n"
        "FROM scratch\n"
        "COPY --from=Builder /app /app\n"
        "COPY --from=0 /etc /etc\n"
        "ARG BASE=debian\n"
        "FROM ${BASE}\n"
    )
    assert external_images(dockerfile) == ["python:3.12-slim", "ghcr.io/astral-sh/uv:0.9", "busybox:1"]


def test_proof_document_round_trips_through_json():
    from uvscope.analysis.output.proof import proof_document, proof_markdown
    from uvscope.analysis.plan.prove import BuiltImage, DockerfileProof, Proof
    from uvscope.analysis.plan.push_cost import Pushed

    before = BuiltImage("t:b", ("sha256:1", "sha256:2"), (100, 900), ("FROM", "RUN"))
    after = BuiltImage("t:a", ("sha256:1", "sha256:3"), (100, 950), ("FROM", "RUN"))
    original = DockerfileProof("original", before, after, {}, Pushed(5000, 3, "registry storage"), Pushed(400, 3, "registry storage"), 12.5)
    revised = DockerfileProof("revised", before, before, {"heavy": ("sha256:2", "sha256:2")}, None, Pushed(10, 2, "registry storage"), 3.25)
    document = proof_document(Proof("bump", original, revised, ("heavy",), None, "scratch", INLINE), "multi-stage")
    again = json.loads(json.dumps(document))
    rows = {row["dockerfile"]: row for row in again["results"]}
    assert rows["original"]["recreated_bytes"] == 950 and rows["original"]["pushed_after"]["bytes"] == 400
    assert rows["original"]["pushed_before"]["bytes"] == 5000 and rows["revised"]["rebuild_seconds"] == 3.25
    assert rows["revised"]["groups_kept"] == {"heavy": True} and again["cold"] == INLINE
    text = proof_markdown(document, keep_images=False)
    assert text.count("| after the change | |") == 2 and "400 Bytes in 3 blobs" in text and "cold builder" in text
    assert "cache-to: type=registry,ref=REGISTRY/IMAGE:buildcache,mode=max" in text


@pytest.mark.parametrize("flags", ["", "--chown=nonroot:nonroot ", "--chown=1000 --chmod=755 --link "])
def test_group_layers_found_whatever_flags_the_history_keeps(flags):
    """20.10's BuildKit writes `COPY SRC DST` in the history, docker 26's keeps the flags (`COPY --chown=u:g SRC DST`):
    the multi-stage group's layer is the final stage's copy of the environment, either way."""
    from uvscope.analysis.plan.prove import BuiltImage, group_layers

    image = BuiltImage(
        "t",
        ("sha256:base", "sha256:user", "sha256:heavy", "sha256:rest"),
        (1, 1, 1, 1),
        (
            "ADD rootfs",
            "RUN groupadd nonroot # buildkit",
            f"COPY {flags}/app/.venv /app/.venv # buildkit",
            f"COPY {flags}/app /app # buildkit",
        ),
    )
    assert group_layers(image, ("heavy",), "/app/.venv", "/app/.venv", True) == {"heavy": "sha256:heavy"}


def test_compressed_layer_sizes_from_an_export_raw_or_gzip_blobs_then_from_the_cache(tmp_path):
    """A 20.10 `docker save` holds each layer's tar (gzipped here to size it); the containerd store's holds the
    gzip blob itself (its size is the figure, its content's digest the diff_id). The second look is the cache's."""
    import contextlib
    import tarfile
    from types import SimpleNamespace as NS

    from uvscope.analysis.read.cache import LayerCache
    from uvscope.analysis.read.compressed import compressed_layer_sizes

    raw = b"".join(f"raw {i}\n".encode() for i in range(20000))
    packed_content = bytes(range(256)) * 400
    packed = gzip.compress(packed_content, 9)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in (("abc/layer.tar", raw), ("blobs/sha256/x", packed), ("manifest.json", b"[]")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw_id, packed_id = ("sha256:" + hashlib.sha256(data).hexdigest() for data in (raw, packed_content))
    exports = []

    def export():
        exports.append(1)
        return contextlib.closing(io.BytesIO(archive.getvalue()))

    source = NS(kind="docker", meta=lambda: NS(diff_ids=(raw_id, packed_id)), engine=NS(export=export))
    cache = LayerCache(str(tmp_path))
    sizes = compressed_layer_sizes(source, cache)
    assert set(sizes) == {raw_id, packed_id} and sizes[packed_id] == len(packed)
    assert abs(sizes[raw_id] - len(gzip.compress(raw, 6))) < 64
    assert compressed_layer_sizes(source, cache) == sizes and len(exports) == 1
