"""Open a layer blob whatever its compression: plain tar, gzip or zstd.

The media type in a manifest is advisory (docker-save writes plain tars under
any name), so the magic bytes decide.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable
from typing import BinaryIO, cast

import zstandard

from ..errors import LayerError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_SIZE = 1 << 20

_DECODE_ERRORS = (OSError, EOFError, zlib.error, zstandard.ZstdError)


class _Decoded(io.RawIOBase):
    """A decompressing stream whose library errors become one-line `LayerError`s."""

    def __init__(self, inner: BinaryIO, name: str, tap: Callable[[bytes], None] | None = None) -> None:
        self._inner = inner
        self._name = name
        self._tap = tap

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except _DECODE_ERRORS as error:
            raise LayerError(f"corrupt {self._name} layer: {error or type(error).__name__}") from None
        if self._tap is not None and data:
            self._tap(data)
        buffer[: len(data)] = data
        return len(data)


class _Raw(io.RawIOBase):
    """Present any object with `read(n)` as a raw stream for `io.BufferedReader`."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_layer_stream(source: BinaryIO, tap: Callable[[bytes], None] | None = None) -> BinaryIO:
    """Return a stream of the uncompressed layer tar read from `source`.

    `tap` sees every decompressed byte, in order, when the blob is compressed
    (a plain tar's bytes are the blob's own: tap the source instead).
    """
    buffered = io.BufferedReader(_Raw(source), READ_SIZE)
    head = buffered.peek(4)[:4]
    if head.startswith(GZIP_MAGIC):
        return io.BufferedReader(_Decoded(cast(BinaryIO, gzip.GzipFile(fileobj=buffered, mode="rb")), "gzip", tap), READ_SIZE)
    if head == ZSTD_MAGIC:
        reader = zstandard.ZstdDecompressor().stream_reader(buffered, read_size=READ_SIZE, read_across_frames=True)
        return io.BufferedReader(_Decoded(reader, "zstd", tap), READ_SIZE)
    return buffered


def is_decompressing(stream: BinaryIO) -> bool:
    """Whether `stream` (from `open_layer_stream`) decompresses its source, rather than passing a plain tar through."""
    return isinstance(getattr(stream, "raw", None), _Decoded)
