"""Write an image as an OCI image layout, the other half of `layout.py`: what this writes, that reads.

The demo image (`app/demo.py`) and the tests' synthetic images are written
through it, so the two cannot drift apart in what a manifest, a config or an
index holds. Everything is built in memory: these images are small.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from typing import Any

from .layout import blob_path

OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
CREATED = "2026-01-01T00:00:00Z"
"""A fixed creation time: the same layers always make the same image."""


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` of `data`, as a descriptor or a `diff_id` names it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_config(
    layers: Sequence[bytes], history: list[dict[str, Any]], *, architecture: str = "amd64", runtime: dict | None = None
) -> bytes:
    """An image config whose `diff_ids` are the digests of the uncompressed `layers`; `runtime` is its `config`
    (WorkingDir, Cmd, ...)."""
    config: dict[str, Any] = {"architecture": architecture, "os": "linux", "created": CREATED}
    if runtime is not None:
        config["config"] = runtime
    config["rootfs"] = {"type": "layers", "diff_ids": [sha256_digest(layer) for layer in layers]}
    config["history"] = history
    return json.dumps(config).encode()


def descriptor(media_type: str, blob: bytes, **extra: Any) -> dict[str, Any]:
    """The descriptor of `blob` (media type, digest, size), with `extra` keys (`platform`, `annotations`)."""
    return {"mediaType": media_type, "digest": sha256_digest(blob), "size": len(blob), **extra}


def image_manifest(config: bytes, blobs: Sequence[bytes]) -> bytes:
    """An image manifest of `config` and the layer `blobs` as stored (compressed or not)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": descriptor(CONFIG_TYPE, config),
            "layers": [descriptor(LAYER_TYPE, blob) for blob in blobs],
        }
    ).encode()


def image_index(manifests: list[dict[str, Any]], media_type: str | None = None) -> bytes:
    """An index (`index.json`, or a nested index with its `media_type`) of the `manifests` descriptors."""
    index: dict[str, Any] = {"schemaVersion": 2}
    if media_type is not None:
        index["mediaType"] = media_type
    index["manifests"] = manifests
    return json.dumps(index).encode()


def blob_files(*blobs: bytes) -> dict[str, bytes]:
    """`blobs/sha256/<hex>` -> blob, for each blob."""
    return {blob_path(sha256_digest(blob)): blob for blob in blobs}


def oci_layout(config: bytes, blobs: Sequence[bytes], **extra: Any) -> dict[str, bytes]:
    """The files of an OCI layout holding one image; `extra` goes into its descriptor in `index.json`."""
    manifest = image_manifest(config, blobs)
    index = image_index([descriptor(MANIFEST_TYPE, manifest, **extra)])
    return {"oci-layout": OCI_LAYOUT, "index.json": index, **blob_files(config, manifest, *blobs)}


def layout_tar(files: dict[str, bytes]) -> bytes:
    """A tar of `files`, in their order (an OCI layout tar, or a docker-save archive)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
