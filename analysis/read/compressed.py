"""Each layer's compressed size, as a push would upload it: measured once and cached by diff_id.

A registry image's manifest gives each layer's compressed size. An engine
image's layers are gzipped here (level 6, as `docker push` compresses) from
its `docker save` stream, once: the figure is kept in uvscope's cache under
the layer's diff_id (a diff_id names the uncompressed tar, so it never goes
stale). Other sources (archives, OCI layouts) give no figure.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from typing import IO, Protocol

from .cache import LayerCache
from .compression import GZIP_MAGIC

GZIP_LEVEL = 6
"""The level `docker push` compresses layers with (Go's compress/gzip default)."""
RECORD_KIND = "gzip-size"
_KEEP = 100_000


class Readable(Protocol):
    """Anything with `read(n)`: a file, a tar member, a gzip stream."""

    def read(self, size: int = ..., /) -> bytes: ...


def gzip_size(stream: Readable, chunk: int = 1 << 20) -> tuple[str, int, int]:
    """(sha256 digest, bytes, gzip bytes) of what `stream` holds: a layer tar's diff_id, size and pushed size."""
    import hashlib

    digest = hashlib.sha256()
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    read = written = 0
    while block := stream.read(chunk):
        digest.update(block)
        read += len(block)
        written += len(compressor.compress(block))
    written += len(compressor.flush())
    return "sha256:" + digest.hexdigest(), read, written


def compressed_layer_sizes(source, cache: LayerCache | None) -> dict[str, int]:
    """diff_id -> compressed bytes of each layer of an open image `source` (empty where it cannot tell)."""
    meta = source.meta()
    wanted = set(meta.diff_ids)
    if source.kind == "registry":
        return {ref.diff_id: ref.compressed_size for ref in getattr(source, "_layers", ()) if ref.compressed_size}
    if source.kind != "docker":
        return {}
    found: dict[str, int] = {}
    for diff_id in wanted:
        record = cache.get_record(RECORD_KIND, diff_id) if cache is not None else None
        if record is not None:
            found[diff_id] = int(record.decode())
    if wanted <= set(found):
        return found
    with source.engine.export() as stream, tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if not member.isfile() or member.size < 512:
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            head = handle.read(2)
            if head == GZIP_MAGIC:  # the containerd store's export holds the pushed (gzip) blob itself
                with gzip.GzipFile(fileobj=_Prefixed(head, handle)) as unpacked:
                    digest, _, _ = gzip_size(unpacked)
                compressed = member.size
            else:
                digest, _, compressed = gzip_size(_Prefixed(head, handle))
            if digest in wanted:
                found[digest] = compressed
                if cache is not None:
                    cache.put_record(RECORD_KIND, digest, str(compressed).encode(), _KEEP)
    return found


class _Prefixed(io.RawIOBase):
    """A stream with the bytes already read from it put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data, self.head = self.head + self.rest.read(), b""
            return data
        if self.head:
            data, self.head = self.head[:size], self.head[size:]
            return data + (self.rest.read(size - len(data)) if len(data) < size else b"")
        return self.rest.read(size)

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
