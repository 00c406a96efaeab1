"""Read one layer tar in a single streaming pass into `LayerContents`.

Nothing is extracted and no file content is held, except the small metadata
files that later analysis needs (`wants_metadata`), each under a size cap.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Callable
from typing import BinaryIO, Protocol

from ..errors import LayerError, ReadCancelled
from ..image.model import WHITEOUT_PREFIX, EntryKind, EntryTable, LayerContents
from .compression import is_decompressing, open_layer_stream
from .digests import BackgroundHash
from .tarstream import iter_members

OPAQUE_MARKER = ".wh..wh..opq"
METADATA_CAP = 16 << 20
"""Largest metadata file kept in memory (torch's RECORD is about 3 MB)."""
TRAILER_CAP = 1 << 20
"""Bytes read after a tar's end-of-archive marker to hash the whole blob (tar pads to 10 kB; more is not a layer)."""

_DIST_INFO_FILES = frozenset({"METADATA", "RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "entry_points.txt", "top_level.txt"})
_EGG_INFO_FILES = frozenset({"PKG-INFO", "installed-files.txt", "top_level.txt", "SOURCES.txt", "requires.txt"})
_PROJECT_FILES = frozenset({"pyvenv.cfg", "uv.lock", "pyproject.toml", "conda-meta"})


class ReadMonitor(Protocol):
    """Receives progress while layers are read, and can ask the read to stop."""

    def advance(self, nbytes: int) -> None:
        """`nbytes` more bytes of the source were read."""

    @property
    def cancelled(self) -> bool:
        """True once the reader should stop (raises `ReadCancelled`)."""


def wants_metadata(path: str) -> bool:
    """Whether a file at `path` is small metadata that analysis reads later."""
    parent, _, name = path.rpartition("/")  # posixpath.split of a normalised path, cheaper (called per file)
    if parent.endswith(".dist-info"):
        return name in _DIST_INFO_FILES
    if parent.endswith(".egg-info"):
        return name in _EGG_INFO_FILES
    if name.endswith(".egg-info"):  # Debian's single-file egg-info is its PKG-INFO
        return True
    if name == "pyproject.toml":
        return "-packages/" not in path
    return name in _PROJECT_FILES


def normalize_path(name: str) -> str | None:
    """Normalise a tar member name to `a/b/c`; None for the root or a path escaping it."""
    path = posixpath.normpath(name.lstrip("/"))
    if path == "." or path == ".." or path.startswith("../"):
        return None
    return path


def _kind(member: tarfile.TarInfo) -> EntryKind:
    if member.isdir():
        return EntryKind.DIR
    if member.issym():
        return EntryKind.SYMLINK
    if member.islnk():
        return EntryKind.HARDLINK
    if member.ischr():
        return EntryKind.CHAR
    if member.isblk():
        return EntryKind.BLOCK
    if member.isfifo():
        return EntryKind.FIFO
    return EntryKind.FILE


class _Counting:
    """File wrapper that reports bytes read to a monitor and honours cancellation."""

    def __init__(self, source: BinaryIO, monitor: ReadMonitor | None, digest: BackgroundHash | None = None) -> None:
        self._source = source
        self._monitor = monitor
        self.count = 0
        self._empty_reads = 0
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        if self._monitor is not None and self._monitor.cancelled:
            raise ReadCancelled()
        data = self._source.read(size)
        if not data and size != 0:
            # A reader that keeps asking past the end (a header claiming a terabyte) must not
            # spin here. A real end is read a few times.
            self._empty_reads += 1
            if self._empty_reads > 64:
                raise LayerError("layer tar ends before the contents its headers declare")
        self.count += len(data)
        if self._digest is not None and data:
            self._digest.update(bytes(data))
        if self._monitor is not None:
            self._monitor.advance(len(data))
        return data


def read_layer(
    source: BinaryIO,
    *,
    monitor: ReadMonitor | None = None,
    keep: Callable[[str], bool] = wants_metadata,
    digests: bool = False,
) -> LayerContents:
    """Read a layer blob (plain, gzip or zstd tar) from `source` in one pass.

    With `digests`, the blob is read to its end and hashed while it is read
    (on a thread of its own): `blob_digest` of its bytes, `tar_digest` of the
    uncompressed tar, for `uvscope.analysis.read.digests.verify_layer` to check.
    """
    blob_hash = BackgroundHash() if digests else None
    tar_hash = BackgroundHash() if digests else None
    try:
        layer = _read_layer(source, monitor, keep, blob_hash, tar_hash)
    finally:
        for hasher in (blob_hash, tar_hash):
            if hasher is not None:
                hasher.close()
    return layer


def _read_layer(
    source: BinaryIO,
    monitor: ReadMonitor | None,
    keep: Callable[[str], bool],
    blob_hash: BackgroundHash | None,
    tar_hash: BackgroundHash | None,
) -> LayerContents:
    counting = _Counting(source, monitor, blob_hash)
    stream = open_layer_stream(counting, tar_hash.update if tar_hash is not None else None)  # type: ignore[arg-type]
    # A plain tar is its own uncompressed tar: one hash serves for both digests.
    tar_hash = tar_hash if is_decompressing(stream) else blob_hash
    entries = EntryTable()
    whiteouts: list[str] = []
    opaque: list[str] = []
    metadata: dict[str, bytes] = {}
    warnings: list[str] = []
    try:
        for item in iter_members(stream):
            member = item.info
            path = normalize_path(member.name)
            if path is None:
                if member.name.strip("./"):
                    warnings.append(f"skipped entry outside the root: {member.name!r}")
                continue
            parent, name = posixpath.split(path)
            if name.startswith(WHITEOUT_PREFIX):
                if name == OPAQUE_MARKER:
                    opaque.append(parent)
                elif name.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
                    warnings.append(f"ignored special whiteout {path!r}")
                else:
                    whiteouts.append(posixpath.join(parent, name[len(WHITEOUT_PREFIX) :]))
                continue
            kind = _kind(member)
            size = member.size if kind is EntryKind.FILE else 0
            if size < 0:
                raise LayerError(f"negative size for {path!r}")
            # A hard link names a path of the same tar: normalise it like the paths themselves.
            link = (normalize_path(member.linkname) or "") if kind is EntryKind.HARDLINK else member.linkname
            mode = member.mode & 0o7777
            entries.append(path, kind, size, mode, link)
            if kind is EntryKind.FILE and keep(path):
                if size > METADATA_CAP:
                    warnings.append(f"{path} is {size:,} bytes; not read (the limit for a metadata file is {METADATA_CAP:,})")
                else:
                    metadata[path] = item.read()
        if blob_hash is not None:
            # A digest covers the whole blob: the padding after the end-of-archive marker too,
            # but no more than a tar pads (a gzip of gigabytes of zeros is not read to its end).
            trailer = 0
            while chunk := stream.read(1 << 16):
                trailer += len(chunk)
                if trailer > TRAILER_CAP:
                    raise LayerError(f"more than {TRAILER_CAP:,} bytes follow the tar's end-of-archive marker; not read further")
    except ReadCancelled:
        raise
    except LayerError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise LayerError(f"not a readable layer tar: {error or type(error).__name__}") from None
    return LayerContents(
        entries=entries,
        whiteouts=tuple(whiteouts),
        opaque_dirs=tuple(opaque),
        metadata=metadata,
        warnings=tuple(warnings),
        blob_bytes=counting.count,
        blob_digest=blob_hash.hexdigest() if blob_hash is not None else "",
        tar_digest=tar_hash.hexdigest() if tar_hash is not None else "",
    )
