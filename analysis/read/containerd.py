"""The fast path on the containerd image store (Docker >= 24 with `containerd-snapshotter`, the default since 29).

There `/var/lib/docker/overlay2` is empty: an image's layers are containerd
snapshots. Each layer of an image is unpacked into a committed snapshot named
by its chain ID in the engine's namespace (`moby`); the overlayfs
snapshotter keeps its files in `snapshots/<id>/fs`, laid out as an overlay2
`diff` folder is (whiteouts as 0:0 character devices, opaque folders by
`trusted.overlay.opaque`). Two bbolt files map a chain ID to that folder:
containerd's metadata (`v1/moby/snapshots/overlayfs/<chain id>` -> the
snapshotter's key) and the snapshotter's own (`v1/snapshots/<key>` -> `id`).

The image's config is read from containerd's content store, found from the
image's manifest (the engine's image ID is that manifest's digest), and
checked against its digest, so the first paint knows which history entries
are empty layers without waiting for `docker save`.
"""

from __future__ import annotations

import hashlib
import json
import os

from .bolt import BoltError, BoltFile, Bucket

NAMESPACE = b"moby"
"""The containerd namespace the Docker Engine keeps its images and snapshots in."""
SNAPSHOTTER = "overlayfs"
_COMMITTED = 3
_CONTENT = "io.containerd.content.v1.content"
_META_DB = os.path.join("io.containerd.metadata.v1.bolt", "meta.db")
_SNAPSHOTS_DB = os.path.join("io.containerd.snapshotter.v1.overlayfs", "metadata.db")
_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def uses_containerd_store(info: dict) -> bool:
    """Whether the engine's `info` says its images live in containerd (the containerd image store)."""
    status = info.get("DriverStatus") or []
    return any(isinstance(item, (list, tuple)) and list(item[:1]) == ["driver-type"] and "snapshotter" in str(item[1:]) for item in status)


def containerd_roots(docker_root: str) -> list[str]:
    """Where the engine's containerd may keep its state: the engine's own (`<data-root>/containerd/daemon`, when
    dockerd starts containerd itself) or the system's (`/var/lib/containerd`, Docker 29 packages)."""
    return [os.path.join(docker_root, "containerd", "daemon"), "/var/lib/containerd"]


def _uvarint(data: bytes) -> int | None:
    value = shift = 0
    for byte in data[:10]:
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value
        shift += 7
    return None


def snapshot_folders(docker_root: str, chain_ids: list[str]) -> tuple[list[str] | None, str]:
    """The `fs` folder of each layer's committed snapshot (by chain ID), and why not when they cannot all be read."""
    why = "no containerd state found"
    for root in containerd_roots(docker_root):
        if not os.path.exists(os.path.join(root, _META_DB)):
            continue
        try:
            folders = _folders_in(root, chain_ids)
        except BoltError as error:
            why = f"{root}: {error}"
            continue
        if isinstance(folders, str):
            why = folders
            continue
        return folders, ""
    return None, why


def _folders_in(root: str, chain_ids: list[str]) -> list[str] | str:
    names = BoltFile(os.path.join(root, _META_DB)).bucket(b"v1", NAMESPACE, b"snapshots", SNAPSHOTTER.encode())
    backend = BoltFile(os.path.join(root, _SNAPSHOTS_DB)).bucket(b"v1", b"snapshots")
    if names is None or backend is None:
        return f"{root}: no {SNAPSHOTTER} snapshots in namespace {NAMESPACE.decode()}"
    folders = []
    for position, chain in enumerate(chain_ids, 1):
        entry = names.get(chain.encode())
        key = entry.get(b"name") if isinstance(entry, Bucket) else None
        snapshot = backend.get(key) if isinstance(key, bytes) else None
        if not isinstance(snapshot, Bucket):
            return f"layer {position} is not unpacked into a snapshot (chain ID {chain})"
        raw_id, kind = snapshot.get(b"id"), snapshot.get(b"kind")
        number = _uvarint(raw_id) if isinstance(raw_id, bytes) else None
        if number is None or not isinstance(kind, bytes) or _uvarint(kind) != _COMMITTED:
            return f"layer {position}'s snapshot is not a committed one"
        folder = os.path.join(root, "io.containerd.snapshotter.v1.overlayfs", "snapshots", str(number), "fs")
        if not os.access(folder, os.R_OK | os.X_OK):
            return f"cannot read {folder}"
        folders.append(folder)
    return folders


def _blob(root: str, digest: str, cap: int = 64 << 20) -> bytes | None:
    """A content-store blob, checked against its digest (None if absent, too large or not matching)."""
    algorithm, _, encoded = digest.partition(":")
    if algorithm != "sha256" or len(encoded) != 64 or not all(char in "0123456789abcdef" for char in encoded):
        return None
    path = os.path.join(root, _CONTENT, "blobs", "sha256", encoded)
    try:
        if os.path.getsize(path) > cap:
            return None
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == encoded else None


def _manifest(root: str, image_id: str, platform: str) -> dict | None:
    """The image's manifest in the content store under `root` (through an index, for `platform`)."""
    digest = image_id
    for _ in range(4):  # an index leads to the platform's manifest
        data = _blob(root, digest)
        try:
            document = json.loads(data) if data is not None else None
        except ValueError:
            return None
        if not isinstance(document, dict):
            return None
        if document.get("mediaType") not in _INDEX_TYPES and "manifests" not in document:
            return document
        chosen = [
            item
            for item in document.get("manifests") or []
            if isinstance(item, dict)
            and "/".join(str((item.get("platform") or {}).get(key, "")) for key in ("os", "architecture")) == platform
        ]
        if not chosen:
            return None
        digest = str(chosen[0].get("digest", ""))
    return None


def image_config(docker_root: str, image_id: str, platform: str, diff_ids: list[str]) -> dict | None:
    """The image's config from the content store, by way of its manifest (or index, for `platform`),
    when it is there and names exactly `diff_ids`."""
    for root in containerd_roots(docker_root):
        manifest = _manifest(root, image_id, platform)
        config_digest = ((manifest or {}).get("config") or {}).get("digest")
        raw = _blob(root, str(config_digest)) if config_digest else None
        try:
            config = json.loads(raw) if raw is not None else None
        except ValueError:
            config = None
        if isinstance(config, dict) and list((config.get("rootfs") or {}).get("diff_ids") or []) == diff_ids:
            return config
    return None


def layer_blobs(docker_root: str, image_id: str, platform: str) -> list[str | None]:
    """Each layer's blob in the content store (None where the manifest names none or the file is absent)."""
    for root in containerd_roots(docker_root):
        manifest = _manifest(root, image_id, platform)
        layers = (manifest or {}).get("layers")
        if not isinstance(layers, list):
            continue
        paths: list[str | None] = []
        for layer in layers:
            algorithm, _, encoded = str((layer or {}).get("digest", "") if isinstance(layer, dict) else "").partition(":")
            path = os.path.join(root, _CONTENT, "blobs", "sha256", encoded)
            ok = algorithm == "sha256" and len(encoded) == 64 and encoded.isalnum() and os.path.isfile(path)
            paths.append(path if ok else None)
        return paths
    return []


def blob_tar_order(path: str | None) -> dict[str, int]:
    """Path -> position in a layer blob's tar (any compression): which of several hard-linked paths the
    original tar holds as the file. Read only for a layer that has hard links (it decompresses the blob)."""
    from .compression import open_layer_stream
    from .layer_reader import normalize_path
    from .tarstream import iter_members

    order: dict[str, int] = {}
    if path is None:
        return order
    try:
        with open(path, "rb") as handle:
            for member in iter_members(open_layer_stream(handle)):
                name = normalize_path(member.info.name)
                if name is not None and name not in order:
                    order[name] = len(order)
    except Exception:  # noqa: BLE001 - a blob that cannot be read only leaves the walk's order
        return {}
    return order
