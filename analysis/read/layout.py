"""Find an image's config and layers in a docker-save archive or an OCI layout.

Handles the legacy docker-save layout (`manifest.json`, `<id>/layer.tar`),
the OCI layout that Docker >= 25 writes (`manifest.json` beside `index.json`
and `blobs/sha256/...`), and plain OCI image layouts (skopeo, buildx), whose
`index.json` may lead through nested image indexes to per-platform manifests.
"""

from __future__ import annotations

import hashlib
import json
import platform as host_platform
from typing import Any, Protocol

from ..errors import ArchiveError, ImageNotFound
from ..image.model import ImageMeta, LayerContents, LayerRef

INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
REF_NAME = "org.opencontainers.image.ref.name"
JSON_CAP = 64 << 20


class BlobStore(Protocol):
    """Where the files of an archive or layout are read from."""

    def exists(self, name: str) -> bool:
        """Whether `name` (e.g. `manifest.json`, `blobs/sha256/...`) is present."""

    def read_bytes(self, name: str) -> bytes:
        """The content of a small file (raises `ArchiveError` if missing or too big)."""

    def size(self, name: str) -> int | None:
        """Stored size of `name`, if known without reading it."""

    def read_layer(self, name: str, monitor=None) -> LayerContents:
        """Read the layer blob `name` (any compression)."""


def host_platform_name() -> str:
    """The platform a user of this machine most likely wants, e.g. `linux/amd64`."""
    machine = host_platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"linux/{arch}"


def read_json(store: BlobStore, name: str, data: bytes | None = None) -> Any:
    """Parse the JSON file `name` of the store (or its already read `data`), with a clear error if it is not JSON."""
    data = store.read_bytes(name) if data is None else data
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArchiveError(f"{name} is not valid JSON ({error})") from None


def blob_path(digest: Any) -> str:
    """`sha256:abc...` -> `blobs/sha256/abc...`."""
    if not isinstance(digest, str) or ":" not in digest or "/" in digest or ".." in digest:
        raise ArchiveError(f"invalid digest {digest!r}")
    algorithm, _, encoded = digest.partition(":")
    return f"blobs/{algorithm}/{encoded}"


def history_created_by(config: dict, count: int) -> tuple[str, ...]:
    """The `created_by` of each filesystem layer: history entries marked `empty_layer` own none."""
    history = config.get("history")
    commands: list[str] = []
    if isinstance(history, list):
        for item in history:
            if isinstance(item, dict) and not item.get("empty_layer"):
                commands.append(str(item.get("created_by", "")))
    commands = commands[:count]
    return tuple(commands + [""] * (count - len(commands)))


def _diff_ids(config: Any, where: str) -> list[str]:
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(item, str) for item in diff_ids):
        raise ArchiveError(f"{where}: image config has no rootfs.diff_ids list")
    return diff_ids


def _meta(ref: str, config_bytes: bytes, config: dict, layer_blobs: list[str], sizes: list[int | None], tags=()):
    diff_ids = _diff_ids(config, ref)
    if len(diff_ids) != len(layer_blobs):
        raise ArchiveError(f"{ref}: manifest lists {len(layer_blobs)} layers but the config {len(diff_ids)} diff_ids")
    created_by = history_created_by(config, len(diff_ids))
    meta = ImageMeta(
        ref=ref,
        id="sha256:" + hashlib.sha256(config_bytes).hexdigest(),
        diff_ids=tuple(diff_ids),
        created_by=created_by,
        config=config,
        created=str(config.get("created", "")),
        platform="/".join(str(config[key]) for key in ("os", "architecture", "variant") if config.get(key)),
        repo_tags=tuple(tags),
        layer_sizes=tuple(sizes),
    )
    layers = [
        LayerRef(index, diff_id, blob, created_by[index], sizes[index]) for index, (diff_id, blob) in enumerate(zip(diff_ids, layer_blobs))
    ]
    return meta, layers


def _docker_save(store: BlobStore, ref: str, tag: str | None) -> tuple[ImageMeta, list[LayerRef]]:
    manifest = read_json(store, "manifest.json")
    if not isinstance(manifest, list) or not manifest or not all(isinstance(item, dict) for item in manifest):
        raise ArchiveError("manifest.json is not a list of images")
    chosen = manifest[0]
    if tag is not None or len(manifest) > 1:
        matches = [item for item in manifest if tag is not None and tag in (item.get("RepoTags") or [])]
        if not matches:
            tags = sorted(t for item in manifest for t in (item.get("RepoTags") or []))
            wanted = f"no image tagged {tag!r}" if tag else "several images"
            raise ImageNotFound(f"{ref}: {wanted} in this archive; pick one of: {', '.join(tags) or '(untagged)'}")
        chosen = matches[0]
    config_name, layer_names = chosen.get("Config"), chosen.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layer_names, list):
        raise ArchiveError("manifest.json entry lacks Config or Layers")
    config_bytes = store.read_bytes(config_name)
    config = read_json(store, config_name, config_bytes)
    sizes = [store.size(name) for name in layer_names]
    return _meta(ref, config_bytes, config, [str(name) for name in layer_names], sizes, chosen.get("RepoTags") or ())


def _platform_of(descriptor: dict) -> str:
    plat = descriptor.get("platform")
    if not isinstance(plat, dict):
        return ""
    return "/".join(str(plat[key]) for key in ("os", "architecture", "variant") if plat.get(key))


def _pick(descriptors: list[dict], platform: str, where: str) -> dict:
    """Choose the manifest for `platform` (`os/arch[/variant]`) among `descriptors`."""
    if len(descriptors) == 1 and not _platform_of(descriptors[0]):
        return descriptors[0]
    for descriptor in descriptors:
        have = _platform_of(descriptor)
        if have == platform or (have.startswith(platform + "/") and platform.count("/") == 1):
            return descriptor
    available = sorted({_platform_of(d) or "unspecified" for d in descriptors} - {"unknown/unknown"})
    raise ImageNotFound(f"{where}: no manifest for {platform}; available: {', '.join(available)} (use --platform)")


def _check_digest(data: bytes, digest: Any, what: str) -> None:
    """A config read by digest must hash to it (layers are checked as they are read, see `digests`)."""
    if isinstance(digest, str) and digest.startswith("sha256:"):
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise ArchiveError(f"{what} {digest} hashes to {actual}; refusing a tampered or corrupt blob")


def _oci_layout(store: BlobStore, ref: str, tag: str | None, platform: str) -> tuple[ImageMeta, list[LayerRef]]:
    index = read_json(store, "index.json")
    descriptors = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(descriptors, list) or not descriptors or not all(isinstance(d, dict) for d in descriptors):
        raise ArchiveError("index.json lists no manifests")
    if tag is not None:
        named = [d for d in descriptors if (d.get("annotations") or {}).get(REF_NAME) == tag]
        if not named:
            names = sorted({(d.get("annotations") or {}).get(REF_NAME, "") for d in descriptors} - {""})
            raise ImageNotFound(f"{ref}: no image named {tag!r} in this layout; available: {', '.join(names)}")
        descriptors = named
    descriptor = _pick(descriptors, platform, ref)
    for _ in range(8):  # nested indexes: bounded, a loop of indexes is an error
        document = read_json(store, blob_path(descriptor.get("digest")))
        if not isinstance(document, dict):
            raise ArchiveError(f"{descriptor.get('digest')} is not a manifest")
        media_type = document.get("mediaType") or descriptor.get("mediaType")
        if media_type in INDEX_TYPES or "manifests" in document:
            nested = document.get("manifests")
            if not isinstance(nested, list) or not nested:
                raise ArchiveError(f"{descriptor.get('digest')}: image index lists no manifests")
            descriptor = _pick([d for d in nested if isinstance(d, dict)], platform, ref)
            continue
        config_descriptor, layer_descriptors = document.get("config"), document.get("layers")
        if not isinstance(config_descriptor, dict) or not isinstance(layer_descriptors, list):
            raise ArchiveError(f"{descriptor.get('digest')}: manifest lacks config or layers")
        config_name = blob_path(config_descriptor.get("digest"))
        config_bytes = store.read_bytes(config_name)
        _check_digest(config_bytes, config_descriptor.get("digest"), "image config")
        config = read_json(store, config_name, config_bytes)
        names = [blob_path(layer.get("digest") if isinstance(layer, dict) else None) for layer in layer_descriptors]
        sizes = [layer.get("size") if isinstance(layer.get("size"), int) else None for layer in layer_descriptors]
        tags = [t for t in [(descriptor.get("annotations") or {}).get(REF_NAME)] if t]
        return _meta(ref, config_bytes, config, names, sizes, tags)
    raise ArchiveError(f"{ref}: image indexes nest too deeply")


def resolve_image(store: BlobStore, ref: str, *, tag: str | None = None, platform: str | None = None) -> tuple[ImageMeta, list[LayerRef]]:
    """Find the image (by `tag` when the store holds several) and its layers in order."""
    if store.exists("manifest.json"):
        return _docker_save(store, ref, tag)
    if store.exists("index.json"):
        return _oci_layout(store, ref, tag, platform or host_platform_name())
    raise ArchiveError(f"{ref}: not an image archive or OCI layout (no manifest.json or index.json)")
