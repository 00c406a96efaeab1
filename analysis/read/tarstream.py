"""Walk a tar stream fast: tarfile parses every header, we skip the contents.

`tarfile` in stream mode (`r|`) skips a member's contents by reading them
into its buffer and slicing it, which costs far more than the bytes
themselves on layers of many small files. Here tarfile's own header parser
(`TarInfo.fromtarfile`: ustar, GNU long names, PAX, sparse) reads each
header, and contents are either read (small metadata files) or skipped with
`readinto` into one reused buffer.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import BinaryIO

from ..errors import LayerError

BLOCK = tarfile.BLOCKSIZE
SKIP_CHUNK = 1 << 20
HEADER_CAP = 1 << 20
"""Largest extended header (a GNU long name, a PAX record) read: `PATH_MAX` is 4 kB, a 64 kB name is read,
a header declaring gigabytes of name is refused before any of it is held in memory."""


class _Position:
    """The stream with a position, as `TarInfo.fromtarfile` wants its `fileobj`."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.position = 0
        self._scratch = bytearray(SKIP_CHUNK)

    def read(self, size: int) -> bytes:
        """What tarfile's header parser reads: headers and their extended records, each at most `HEADER_CAP`."""
        if size > HEADER_CAP + BLOCK:
            raise LayerError(
                f"a tar header declares {size:,} bytes of extended header (a long name or PAX record); the limit is {HEADER_CAP:,}"
            )
        return self.contents(size)

    def contents(self, size: int) -> bytes:
        """`size` bytes of a member's contents (the caller bounds them)."""
        data = self.stream.read(size)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def skip(self, size: int) -> None:
        view = memoryview(self._scratch)
        while size > 0:
            count = self.stream.readinto(view[: min(size, SKIP_CHUNK)])  # type: ignore[attr-defined]
            if not count:
                raise LayerError("tar stream ends inside a member's contents")
            self.position += count
            size -= count


class _Walker:
    """What `TarInfo.fromtarfile` reads from: fileobj, encoding, errors, offset, pax_headers."""

    encoding = "utf-8"
    errors = "surrogateescape"

    def __init__(self, stream: BinaryIO) -> None:
        self.fileobj = _Position(stream)
        self.offset = 0
        self.pax_headers: dict[str, str] = {}


class Member:
    """One entry of the stream; `read()` returns its contents (only before the next entry)."""

    def __init__(self, info: tarfile.TarInfo, walker: _Walker) -> None:
        self.info = info
        self._walker = walker

    def read(self) -> bytes:
        """The member's contents (call before moving on; the walk skips what was not read)."""
        position = self._walker.fileobj
        if position.tell() != self.info.offset_data:
            raise LayerError("member contents were already passed")
        data = position.contents(self.info.size)
        if len(data) != self.info.size:
            raise LayerError(f"tar stream ends inside {self.info.name!r}")
        return data


class Contents:
    """A member's contents as a stream of its own, for reading a tar nested in a tar."""

    def __init__(self, member: Member) -> None:
        self._position = member._walker.fileobj
        self._remaining = member.info.size
        if self._position.tell() != member.info.offset_data:
            raise LayerError("member contents were already passed")

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self._remaining:
            size = self._remaining
        data = self._position.contents(size)
        self._remaining -= len(data)
        if size and not data:
            raise LayerError("tar stream ends inside a member's contents")
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def iter_members(stream: BinaryIO) -> Iterator[Member]:
    """Each member of the tar `stream`, in order; ends at the end-of-archive marker or a clean EOF."""
    walker = _Walker(stream)
    position = walker.fileobj
    while True:
        gap = walker.offset - position.tell()
        if gap > 0:
            position.skip(gap)
        elif gap < 0:
            raise LayerError("tar headers overlap")
        try:
            info = tarfile.TarInfo.fromtarfile(walker)  # type: ignore[arg-type]
        except tarfile.EmptyHeaderError:  # type: ignore[attr-defined]  # real, missing from typeshed
            if position.tell() == 0:
                raise LayerError("not a readable layer tar: empty file") from None
            return  # a clean end of the stream without the end-of-archive marker
        except tarfile.EOFHeaderError:  # type: ignore[attr-defined]
            return  # the end-of-archive marker
        except tarfile.TruncatedHeaderError:  # type: ignore[attr-defined]
            raise LayerError("tar stream ends inside a header") from None
        except tarfile.HeaderError as error:
            raise LayerError(f"not a readable layer tar: {error}") from None
        if info.size < 0:
            raise LayerError(f"negative size for {info.name!r}")
        yield Member(info, walker)
