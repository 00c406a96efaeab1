"""A read-only reader of bbolt files (the key-value store containerd keeps its metadata in).

Only what finding an image's snapshots needs: open the file, pick the newest
valid meta page, walk nested buckets and read values. Any page that does not
look as bbolt writes it raises `BoltError`; the caller then falls back to the
engine's export stream. The file is read as it is on disk while containerd may
be writing it: bbolt never overwrites the pages the newest committed meta page
reaches (copy on write), so what that meta page names is consistent.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

_PAGE_HEADER = struct.Struct("<QHHI")  # id, flags, count, overflow
_META = struct.Struct("<IIII QQ Q Q Q Q")  # magic, version, page size, flags, root (pgid, sequence), freelist, pgid, txid, checksum
_BRANCH = struct.Struct("<IIQ")  # pos, ksize, pgid
_LEAF = struct.Struct("<IIII")  # flags, pos, ksize, vsize
_BUCKET = struct.Struct("<QQ")  # root pgid, sequence
_MAGIC = 0xED0CDAED
_BRANCH_PAGE, _LEAF_PAGE, _META_PAGE = 0x01, 0x02, 0x04
_BUCKET_LEAF = 0x01
_MAX_DEPTH = 64


class BoltError(Exception):
    """The file is not a bbolt database this reader understands."""


def _fnv1a64(data: bytes) -> int:
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


class BoltFile:
    """One bbolt database file, read whole (containerd's metadata files are a few megabytes)."""

    def __init__(self, path: str, max_bytes: int = 512 << 20) -> None:
        try:
            with open(path, "rb") as handle:
                self.data = handle.read(max_bytes + 1)
        except OSError as error:
            raise BoltError(f"cannot read {path}: {error.strerror or error}") from None
        if len(self.data) > max_bytes:
            raise BoltError(f"{path} is larger than {max_bytes} bytes")
        self.page_size, self.root = self._newest_meta(path)

    def _newest_meta(self, path: str) -> tuple[int, int]:
        best: tuple[int, int, int] | None = None  # txid, page size, root
        offsets = [0]
        if len(self.data) >= _PAGE_HEADER.size + _META.size:
            first_size = _META.unpack_from(self.data, _PAGE_HEADER.size)[2]
            offsets.append(first_size if 512 <= first_size <= 1 << 16 else 4096)
        for offset in offsets:
            if offset + _PAGE_HEADER.size + _META.size > len(self.data):
                continue
            flags = _PAGE_HEADER.unpack_from(self.data, offset)[1]
            fields = _META.unpack_from(self.data, offset + _PAGE_HEADER.size)
            magic, version, page_size, _flags, root, _sequence, _freelist, _pgid, txid, checksum = fields
            body = self.data[offset + _PAGE_HEADER.size : offset + _PAGE_HEADER.size + _META.size - 8]
            if flags & _META_PAGE and magic == _MAGIC and version == 2 and _fnv1a64(body) == checksum:
                if best is None or txid > best[0]:
                    best = (txid, page_size, root)
        if best is None:
            raise BoltError(f"{path}: no valid bbolt meta page")
        return best[1], best[2]

    def _page(self, pgid: int) -> int:
        offset = pgid * self.page_size
        if pgid < 2 or offset + _PAGE_HEADER.size > len(self.data):
            raise BoltError(f"page {pgid} out of the file")
        return offset

    def _items(self, base: bytes, offset: int, depth: int = 0) -> Iterator[tuple[bytes, bytes, bool]]:
        """(key, value, is a bucket) of the page at `offset` of `base`, in key order."""
        if depth > _MAX_DEPTH:
            raise BoltError("bbolt tree too deep")
        _id, flags, count, _overflow = _PAGE_HEADER.unpack_from(base, offset)
        start = offset + _PAGE_HEADER.size
        if flags & _BRANCH_PAGE:
            for index in range(count):
                _pos, _ksize, child = _BRANCH.unpack_from(base, start + index * _BRANCH.size)
                yield from self._items(self.data, self._page(child), depth + 1)
        elif flags & _LEAF_PAGE:
            for index in range(count):
                element = start + index * _LEAF.size
                item_flags, pos, ksize, vsize = _LEAF.unpack_from(base, element)
                key_at = element + pos
                if key_at + ksize + vsize > len(base):
                    raise BoltError("leaf element past the end of its page")
                yield base[key_at : key_at + ksize], base[key_at + ksize : key_at + ksize + vsize], bool(item_flags & _BUCKET_LEAF)
        else:
            raise BoltError(f"unexpected page flags {flags:#x}")

    def _bucket_items(self, value: bytes | None) -> Iterator[tuple[bytes, bytes, bool]]:
        if value is None:  # the root bucket
            yield from self._items(self.data, self._page(self.root))
            return
        if len(value) < _BUCKET.size:
            raise BoltError("bucket header too short")
        root, _sequence = _BUCKET.unpack_from(value, 0)
        if root == 0:  # an inline bucket: its one leaf page follows the header
            yield from self._items(value, _BUCKET.size)
        else:
            yield from self._items(self.data, self._page(root))

    def bucket(self, *path: bytes) -> Bucket | None:
        """The nested bucket at `path` from the root, or None if a name on the way is missing."""
        value: bytes | None = None
        for name in path:
            found = next((v for k, v, is_bucket in self._bucket_items(value) if k == name and is_bucket), None)
            if found is None:
                return None
            value = found
        return Bucket(self, value)


class Bucket:
    """A bucket of a `BoltFile`: its keys, values and nested buckets."""

    def __init__(self, file: BoltFile, value: bytes | None) -> None:
        self._file, self._value = file, value

    def items(self) -> Iterator[tuple[bytes, bytes | Bucket]]:
        """(key, value) pairs in key order; a nested bucket's value is a `Bucket`."""
        for key, value, is_bucket in self._file._bucket_items(self._value):
            yield key, (Bucket(self._file, value) if is_bucket else value)

    def get(self, key: bytes) -> bytes | Bucket | None:
        """The value (or nested bucket) stored under `key`."""
        return next((value for k, value in self.items() if k == key), None)
