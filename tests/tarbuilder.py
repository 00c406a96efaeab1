"""Small synthetic layer tars and image archives, written by the tests themselves (OCI layouts through
uvscope's own writer, `analysis/read/oci_writer.py`, which the demo image uses too)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import zstandard

from uvscope.analysis.read.layout import blob_path
from uvscope.analysis.read.oci_writer import (
    INDEX_TYPE,
    MANIFEST_TYPE,
    OCI_LAYOUT,
    blob_files,
    descriptor,
    image_config,
    image_index,
    image_manifest,
    layout_tar,
)
from uvscope.analysis.read.oci_writer import sha256_digest as digest


def layer_tar(*items: tuple) -> bytes:
    """A layer tar from items: ("file", path, bytes), ("dir", path), ("symlink", path, target),
    ("hardlink", path, target), ("whiteout", path), ("opaque", folder)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for item in items:
            kind, path = item[0], item[1]
            if kind == "whiteout":
                head, _, name = path.rpartition("/")
                path, kind, item = (f"{head}/.wh.{name}" if head else f".wh.{name}"), "file", ("file", "", b"")
            elif kind == "opaque":
                path, kind, item = f"{path}/.wh..wh..opq", "file", ("file", "", b"")
            info = tarfile.TarInfo(path)
            data = None
            if kind == "file":
                data = item[2]
                info.size = len(data)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, item[2]
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, item[2]
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def config_for(layers: list[bytes], commands: list[str] | None = None, arch: str = "amd64") -> bytes:
    """An image config whose diff_ids are the uncompressed layers' digests."""
    commands = commands or [f"RUN step {index}" for index in range(len(layers))]
    history = [{"created_by": "ENV A=1", "empty_layer": True}] + [{"created_by": c} for c in commands]
    return image_config(layers, history, architecture=arch)


def docker_save_legacy(layers: list[bytes], tag: str = "demo:latest", commands: list[str] | None = None) -> bytes:
    """A docker-save archive in the legacy layout (`<id>/layer.tar`), members in lexical order."""
    config = config_for(layers, commands)
    config_name = digest(config).split(":")[1] + ".json"
    files = {config_name: config}
    names = []
    for index, layer in enumerate(layers):
        folder = hashlib.sha256(f"v1-{index}".encode()).hexdigest()
        files[f"{folder}/VERSION"] = b"1.0"
        files[f"{folder}/layer.tar"] = layer
        names.append(f"{folder}/layer.tar")
    files["manifest.json"] = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": names}]).encode()
    return layout_tar(dict(sorted(files.items())))


def compress(layer: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(layer, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(layer)
    return layer


def oci_files(layers: list[bytes], *, compression: str = "plain", platforms=("linux/amd64",), docker25=False) -> dict[str, bytes]:
    """The files of an OCI image layout; several platforms make an index of manifests."""
    files: dict[str, bytes] = {"oci-layout": OCI_LAYOUT}
    descriptors = []
    for plat in platforms:
        os_name, arch = plat.split("/")[:2]
        config = config_for(layers, arch=arch)
        blobs = [compress(layer, compression) for layer in layers]
        manifest = image_manifest(config, blobs)
        files |= blob_files(config, *blobs, manifest)
        descriptors.append(descriptor(MANIFEST_TYPE, manifest, platform={"os": os_name, "architecture": arch}))
        if docker25:
            files["manifest.json"] = json.dumps(
                [{"Config": blob_path(digest(config)), "RepoTags": ["demo:latest"], "Layers": [blob_path(digest(blob)) for blob in blobs]}]
            ).encode()
    if len(descriptors) == 1:
        files["index.json"] = image_index(descriptors)
    else:
        nested = image_index(descriptors, INDEX_TYPE)
        files |= blob_files(nested)
        files["index.json"] = image_index([descriptor(INDEX_TYPE, nested)])
    return files


def as_tar(files: dict[str, bytes]) -> bytes:
    return layout_tar(dict(sorted(files.items())))
