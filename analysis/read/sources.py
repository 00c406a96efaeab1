"""Image sources: where an image is read from, behind one interface.

`open_source(ref)` picks the source: an existing file is an image archive
(docker-save, either layout, or an OCI layout tar), an existing folder an OCI
layout, anything else a Docker Engine reference. `read_image` reads it whole.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial

from ..errors import ArchiveError, LayerError, ReadCancelled, UvscopeError
from ..image.model import Image, ImageMeta, LayerContents, LayerRef
from ..image.stack import build_image
from .archive import DirectoryStore, StreamStore, TarStore
from .cache import LayerCache
from .compression import GZIP_MAGIC, ZSTD_MAGIC
from .digests import DigestMismatch, verify_layer
from .kinds import REF_PREFIXES, SOURCE_KINDS, split_tag
from .layer_reader import ReadMonitor
from .layout import BlobStore, resolve_image
from .overlay import read_overlay_layer

_SOURCE_ALIASES = {"docker-archive": "archive", "oci-archive": "oci"}
"""dive's and skopeo's names for the same sources (`dive --source docker-archive`)."""
_PREFIXES = REF_PREFIXES
_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".oci")


class ImageSource(ABC):
    """Where one image is read from."""

    kind: str = ""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.notes: tuple[str, ...] = ()
        """What the user should know about how the image was opened (e.g. a `--platform` it does not have)."""

    @abstractmethod
    def meta(self) -> ImageMeta:
        """The image's metadata, without reading any layer (cheap: first paint)."""

    @abstractmethod
    def read_layers(self, monitor: ReadMonitor | None = None, cache: LayerCache | None = None) -> Iterator[tuple[int, LayerContents]]:
        """Read every layer once (or take it from `cache`), yielding `(index, contents)`; `meta()` is exact afterwards."""

    def total_bytes(self) -> int | None:
        """Bytes the read will consume, for a progress bar (None if unknown)."""
        return None

    def close(self) -> None:  # noqa: B027 - most sources hold nothing to release
        """Release files and connections."""


class StoreSource(ImageSource):
    """An image in a blob store: an archive file, an OCI layout folder or a registry.

    Every layer read is checked against its manifest digest and its config
    `diff_id` (`verify_layer`): a tampered blob ends the read with an error.
    """

    def __init__(self, ref: str, store: BlobStore, kind: str, tag: str | None = None, platform: str | None = None):
        super().__init__(ref)
        self.kind = kind
        self.store = store
        self._meta, self._layers = resolve_image(store, ref, tag=tag, platform=platform)

    def meta(self) -> ImageMeta:
        return self._meta

    def total_bytes(self) -> int | None:
        sizes = [ref.compressed_size for ref in self._layers]
        return None if any(size is None for size in sizes) else sum(sizes)  # type: ignore[arg-type]

    def read_layers(self, monitor: ReadMonitor | None = None, cache: LayerCache | None = None) -> Iterator[tuple[int, LayerContents]]:
        for ref in self._layers:
            layer, cached = cached_or_read(cache, ref.diff_id, partial(self._read_verified, ref, monitor))
            if cached and monitor is not None and ref.compressed_size:
                monitor.advance(ref.compressed_size)
            yield ref.index, layer

    def _read_verified(self, ref: LayerRef, monitor: ReadMonitor | None) -> LayerContents:
        try:
            layer = self.store.read_layer(ref.blob, monitor)
        except DigestMismatch:
            raise
        except LayerError as error:
            raise LayerError(f"{self.ref}: layer {ref.index + 1} ({ref.blob}): {error}") from None
        verify_layer(self.ref, ref, layer)
        return layer

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


class EngineSource(ImageSource):
    """An image of the Docker Engine, read through its export stream."""

    kind = "docker"

    def __init__(self, ref: str, client=None, *, stream: bool = False) -> None:
        from .engine import EngineImage

        super().__init__(ref)
        self.engine = EngineImage(ref, client)
        self._meta = self.engine.meta()
        self.force_stream = stream
        self.path_used = ""
        """How the layers were read: `cache`, `local-storage` or `stream`."""

    def meta(self) -> ImageMeta:
        return self._meta

    def total_bytes(self) -> int | None:
        return self.engine.size or None

    def read_layers(self, monitor: ReadMonitor | None = None, cache: LayerCache | None = None) -> Iterator[tuple[int, LayerContents]]:
        diff_ids = list(self._meta.diff_ids)
        known_history = self.engine.has_local_config or (cache is not None and cache.get_history(self._meta.id) is not None)
        if cache is not None and known_history and cache.has_all(diff_ids):
            layers = [cache.get(diff_id) for diff_id in diff_ids]
            if all(layer is not None for layer in layers):
                self.path_used = "cache"
                self._with_cached_history(cache)
                yield from enumerate(layers)  # type: ignore[misc]
                return
        folders = None if self.force_stream else self.engine.local_layer_folders()
        if folders is not None:
            self.path_used = "local-storage"
            for index, (diff_id, (folder, split)) in enumerate(zip(diff_ids, folders)):
                layer, _ = cached_or_read(cache, diff_id, partial(_read_overlay, folder, split, monitor))
                if monitor is not None:
                    monitor.advance(layer.size_bytes)
                yield index, layer
            return
        self.path_used = "stream"
        if folders is None and not self.force_stream and self.engine.fast_path_note:
            self.notes = (*self.notes, f"{self.engine.fast_path_note}: read through the engine's export stream (slower)")
        with self.engine.export(cancelled=lambda: monitor is not None and monitor.cancelled) as stream:
            store = StreamStore(stream, self.ref, monitor, digests=False)
        meta, refs = resolve_image(store, self.ref)
        if meta.diff_ids != self._meta.diff_ids:
            raise UvscopeError(f"{self.ref}: the image changed while it was read (tagged anew?); run again")
        # The exported config knows which history entries are empty layers; the engine API does not.
        self._meta = replace(
            meta, ref=self.ref, id=self._meta.id or meta.id, repo_tags=self._meta.repo_tags, layer_sizes=self._meta.layer_sizes
        )
        if cache is not None:
            cache.put_history(self._meta.id, list(self._meta.created_by))
        for ref in refs:
            # The export holds every layer read already: the cache is filled, never asked.
            layer = store.read_layer(ref.blob)
            if cache is not None:
                cache.put(ref.diff_id, layer)
            yield ref.index, layer

    def _with_cached_history(self, cache: LayerCache) -> None:
        if not self.engine.has_local_config:
            commands = cache.get_history(self._meta.id)
            if commands is not None and len(commands) == len(self._meta.diff_ids):
                self._meta = replace(self._meta, created_by=tuple(commands))


def cached_or_read(cache: LayerCache | None, diff_id: str, read: Callable[[], LayerContents]) -> tuple[LayerContents, bool]:
    """The layer `diff_id` from `cache`, or `read()` and then kept in `cache`; and whether the cache had it."""
    layer = cache.get(diff_id) if cache is not None else None
    if layer is not None:
        return layer, True
    layer = read()
    if cache is not None:
        cache.put(diff_id, layer)
    return layer, False


def _read_overlay(folder: str, split: str | Callable[[], dict[str, int]], monitor: ReadMonitor | None) -> LayerContents:
    if monitor is not None and monitor.cancelled:
        raise ReadCancelled()
    if callable(split):  # the containerd image store: the order comes from the layer's blob
        return read_overlay_layer(folder, order_from=split)
    return read_overlay_layer(folder, tar_split=split)


def _open_file(ref: str, path: str, kind: str, tag: str | None, platform: str | None) -> ImageSource:
    if os.path.isdir(path):
        return StoreSource(ref, DirectoryStore(path), "oci", tag, platform)
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as error:
        raise ArchiveError(f"cannot read {path}: {error.strerror or error}") from None
    if not head:
        raise ArchiveError(f"{path} is empty, not an image archive")
    if head.startswith(GZIP_MAGIC) or head == ZSTD_MAGIC:
        handle = open(path, "rb")
        try:
            store = StreamStore(handle, path)
        finally:
            handle.close()
        return StoreSource(ref, store, kind, tag, platform)
    return StoreSource(ref, TarStore(path), kind, tag, platform)


def platform_matches(wanted: str, have: str) -> bool:
    """`linux/arm64` matches `linux/arm64` and `linux/arm64/v8`; an unknown platform matches nothing."""
    return bool(have) and (have == wanted or (have.startswith(wanted + "/") and wanted.count("/") == 1))


def open_source(ref: str, kind: str = "auto", *, platform: str | None = None, client=None, stream: bool = False) -> ImageSource:
    """Open the image `ref` from the source `kind` (`auto`, `docker`, `archive`, `oci`).

    A `platform` the image does not have (a single-platform archive or engine
    image) is not ignored silently: the source's `notes` say what is analysed instead.
    """
    source = _open_source(ref, kind, platform=platform, client=client, stream=stream)
    if platform:
        have = source.meta().platform
        if not platform_matches(platform, have):
            source.notes = (f"--platform {platform}: {ref} holds only {have or 'an image of unknown platform'}; analysed that",)
    return source


def _open_source(ref: str, kind: str = "auto", *, platform: str | None = None, client=None, stream: bool = False) -> ImageSource:
    if kind not in SOURCE_KINDS:
        raise UvscopeError(f"unknown source {kind!r}; use one of {', '.join(SOURCE_KINDS)}")
    kind = _SOURCE_ALIASES.get(kind, kind)
    target = ref
    for prefix, prefixed_kind in _PREFIXES.items():
        if ref.startswith(prefix):
            target, kind = (ref if prefixed_kind == "registry" else ref[len(prefix) :]), prefixed_kind
            break
    if kind == "registry":
        from .registry import RegistryClient, RegistryStore, parse_registry_ref

        parsed = parse_registry_ref(target)
        return StoreSource(ref, RegistryStore(RegistryClient(parsed)), "registry", platform=platform)
    if kind == "docker":
        return EngineSource(target, client, stream=stream)
    if kind == "podman":
        from .engine import podman_client

        # Podman's storage is not the Docker Engine's: always its export stream.
        return EngineSource(target, client or podman_client(), stream=True)
    path, tag = split_tag(target)
    if os.path.exists(path):
        return _open_file(ref, path, "oci" if kind == "oci" else "archive", tag, platform)
    if kind != "auto" or target.endswith(_ARCHIVE_SUFFIXES) or target.startswith(("/", "./", "../")):
        raise ArchiveError(f"no such file or folder: {path}")
    return EngineSource(target, client, stream=stream)


def read_image(source: ImageSource, monitor: ReadMonitor | None = None, cache: LayerCache | None = None) -> Image:
    """Read every layer of `source` (cached layers are not read again) and stack them into an `Image`."""
    contents: dict[int, LayerContents] = {}
    for index, layer in source.read_layers(monitor, cache):
        contents[index] = layer
    meta = source.meta()
    image = build_image(meta, [contents[index] for index in range(len(meta.diff_ids))])
    return replace(image, warnings=source.notes + image.warnings) if source.notes else image
