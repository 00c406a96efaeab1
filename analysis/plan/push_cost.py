"""What a push uploads: a registry's own record of its blobs before and after, and the preview's estimate.

A push uploads the blobs (layers, config, manifests) the registry does not
have yet; every other blob is skipped after a HEAD. So the bytes a push paid
are the sizes of the blobs that are new in the registry after it, and
nothing has to be estimated: `storage_blobs` reads them off a registry's
filesystem storage (the one `--prove` starts), `manifest_blobs` off the
registry API's manifests (a registry named with `--prove-registry`).

Without a push (the preview), the pushed bytes are estimated: the bytes a
change re-creates (uncompressed, Python packages and project files) times
the compression ratio of the image layers that hold the Python packages, each
layer's compressed size measured once (gzip of its tar, as `docker push`
compresses it; or its size in a registry's manifest) and cached by diff_id.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..read.compressed import gzip_size as gzip_size

BLOBS_DIR = os.path.join("docker", "registry", "v2", "blobs", "sha256")
"""Where a distribution registry's filesystem storage keeps each blob, as `BLOBS_DIR/ab/abcdef.../data`."""
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")


@dataclass(frozen=True)
class Pushed:
    """What one push uploaded, from the registry's own record."""

    bytes: int
    blobs: int
    record: str
    """Where the figure was read: `registry storage` (the blob files) or `registry API` (its manifests)."""


def storage_blobs(root: str) -> dict[str, int]:
    """digest -> bytes of every blob file under a registry's filesystem storage `rootdirectory`."""
    found: dict[str, int] = {}
    for data in glob.glob(os.path.join(root, BLOBS_DIR, "*", "*", "data")):
        digest = os.path.basename(os.path.dirname(data))
        try:
            found["sha256:" + digest] = os.path.getsize(data)
        except OSError:  # a blob removed while listing (garbage collection) is not the push's
            continue
    return found


def manifest_blobs(manifest: Mapping, digest: str, size: int) -> tuple[dict[str, int], list[str]]:
    """The blobs one manifest names (itself, its config, its layers) and, for an index, the manifests it lists
    (their digests, to fetch next): what a repository holding this tag has."""
    blobs = {digest: size}
    children: list[str] = []
    if manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest:
        for entry in manifest.get("manifests") or ():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("digest"), str):
                continue
            if entry.get("mediaType") in (*INDEX_TYPES, *MANIFEST_TYPES) or not entry.get("mediaType"):
                children.append(entry["digest"])
            else:  # BuildKit's registry cache lists its layer blobs in an index
                blobs[entry["digest"]] = int(entry.get("size") or 0)
        return blobs, children
    for descriptor in [manifest.get("config"), *(manifest.get("layers") or ())]:
        if isinstance(descriptor, Mapping) and isinstance(descriptor.get("digest"), str):
            blobs[descriptor["digest"]] = int(descriptor.get("size") or 0)
    return blobs, children


def pushed(before: Mapping[str, int], after: Mapping[str, int], record: str) -> Pushed:
    """What a push uploaded: the blobs the registry has after it and did not have before."""
    new = {digest: size for digest, size in after.items() if digest not in before}
    return Pushed(sum(new.values()), len(new), record)


def compression_ratio(layers: Iterable[tuple[int, int, int]]) -> float | None:
    """Compressed over uncompressed bytes of an image's Python part: `(python bytes, layer bytes, compressed
    bytes)` per layer, each layer's ratio weighted by the Python bytes it holds (None: no layer holds any)."""
    weighted = total = 0.0
    for python_bytes, layer_bytes, compressed in layers:
        if python_bytes <= 0 or layer_bytes <= 0:
            continue
        weighted += python_bytes * min(compressed / layer_bytes, 1.5)
        total += python_bytes
    return weighted / total if total else None


def estimate_pushed(recreated: int, ratio: float) -> int:
    """The bytes a push uploads when a change re-creates `recreated` uncompressed bytes (an estimate)."""
    return round(recreated * ratio)


def python_compression_ratio(image, attribution, compressed: Mapping[str, int]) -> float | None:
    """The compression ratio of an image's Python part: its layers' compressed sizes (`compressed`, by diff_id)
    weighted by the bytes of Python distributions each layer holds (`attribution.distributions[].layer_bytes`)."""
    python_bytes: dict[int, int] = {}
    for distribution in attribution.distributions:
        for index, size in distribution.layer_bytes.items():
            python_bytes[index] = python_bytes.get(index, 0) + size
    layers = []
    for layer in image.layers:
        diff_id = layer.diff_id
        if diff_id in compressed and python_bytes.get(layer.index):
            layers.append((python_bytes[layer.index], layer.size_bytes, compressed[diff_id]))
    return compression_ratio(layers)


def image_compression_ratio(ref: str, kind: str, image, attribution, cache, platform: str | None = None) -> float | None:
    """`python_compression_ratio` of the image `ref`, its layers' compressed sizes measured (or cached) here."""
    from ..read.compressed import compressed_layer_sizes
    from ..read.sources import open_source

    source = open_source(ref, kind, platform=platform)
    try:
        return python_compression_ratio(image, attribution, compressed_layer_sizes(source, cache))
    finally:
        source.close()
