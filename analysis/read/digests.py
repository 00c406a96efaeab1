"""Layer digests computed while a blob is read, and checked against the manifest and config.

A blob read from outside the engine (a docker-save archive, an OCI layout, a
registry) is only trusted once its bytes hash to the digest its manifest names
and its uncompressed tar to the `diff_id` its config names. The hashing runs on
a thread of its own (hashlib releases the GIL on large updates), so it overlaps
the parsing of the same bytes instead of adding to it.
"""

from __future__ import annotations

import hashlib
import queue
import threading

from ..errors import LayerError
from ..image.model import LayerContents, LayerRef

_QUEUED_CHUNKS = 16
"""Chunks (about 1 MiB each) waiting to be hashed at most: bounds the memory the thread may hold."""


class DigestMismatch(LayerError):
    """A layer blob's bytes do not hash to the digest its manifest or config names."""


class BackgroundHash:
    """sha256 of the bytes fed to `update`, computed on a worker thread; `hexdigest()` waits for it."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(_QUEUED_CHUNKS)
        self._thread = threading.Thread(target=self._run, name="uvscope-sha256", daemon=True)
        self._thread.start()
        self._digest: str | None = None

    def _run(self) -> None:
        update = self._hash.update
        get = self._queue.get
        while (chunk := get()) is not None:
            update(chunk)

    def update(self, data: bytes) -> None:
        """Hash `data` after what came before (`data` must not change afterwards: bytes, not a reused buffer)."""
        self._queue.put(data)

    def hexdigest(self) -> str:
        """`sha256:<hex>` of everything fed so far; ends the worker."""
        if self._digest is None:
            self._queue.put(None)
            self._thread.join()
            self._digest = "sha256:" + self._hash.hexdigest()
        return self._digest

    def close(self) -> None:
        """End the worker without a result (the read failed)."""
        if self._digest is None:
            self.hexdigest()


def blob_digest_of(blob_name: str) -> str | None:
    """The digest a layout path names (`blobs/sha256/<hex>` -> `sha256:<hex>`); None for legacy `<id>/layer.tar`."""
    parts = blob_name.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "blobs" and parts[1] == "sha256" and len(parts[2]) == 64:
        return f"sha256:{parts[2]}"
    return None


def verify_layer(label: str, ref: LayerRef, layer: LayerContents) -> None:
    """Raise `DigestMismatch` (one line naming the layer) unless `layer` was read with digests that match `ref`."""
    name = f"{label}: layer {ref.index + 1} ({ref.blob})"
    expected_blob = blob_digest_of(ref.blob)
    if expected_blob is not None and layer.blob_digest and layer.blob_digest != expected_blob:
        raise DigestMismatch(
            f"{name}: its bytes hash to {layer.blob_digest}, not the digest {expected_blob} that names it; refusing a tampered or corrupt blob"
        )
    if layer.tar_digest and layer.tar_digest != ref.diff_id:
        raise DigestMismatch(
            f"{name}: its tar hashes to {layer.tar_digest}, not the config's diff_id {ref.diff_id}; refusing a tampered or corrupt blob"
        )
    if not layer.tar_digest:
        raise DigestMismatch(f"{name}: read without its digest; cannot verify it")
