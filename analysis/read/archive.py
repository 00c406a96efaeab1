"""Blob stores: the files of an image archive or OCI layout, read three ways.

- `DirectoryStore`: an OCI layout (or unpacked docker-save) folder, random access.
- `TarStore`: a plain tar file, random access by seeking over member headers.
Every layer read from a store is hashed while it is read (`digests=True`), so
its source can verify it against the manifest and config.

- `StreamStore`: anything that can only be read once from the front (the
  engine's export stream, a gzip-compressed archive). Layers are read as they
  pass, in whatever order they come; small files are kept for the manifests.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
from typing import BinaryIO, cast

from ..errors import ArchiveError, LayerError, ReadCancelled
from ..image.model import LayerContents
from .compression import open_layer_stream
from .layer_reader import ReadMonitor, read_layer
from .layout import JSON_CAP
from .tarstream import Contents, iter_members

SMALL_FILE = 1 << 20
"""Members up to this size are kept whole while streaming (JSON, tiny layers)."""
SMALL_TOTAL = 256 << 20
"""Cap on the memory spent keeping small members of one stream."""


def _member_name(name: str) -> str:
    return posixpath.normpath(name.lstrip("/")).removeprefix("./")


class DirectoryStore:
    """An OCI image layout or an unpacked docker-save archive on disk."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)

    def _path(self, name: str) -> str:
        path = os.path.realpath(os.path.join(self.root, name))
        if os.path.commonpath([path, self.root]) != self.root:
            raise ArchiveError(f"{name!r} points outside {self.root}")
        return path

    def exists(self, name: str) -> bool:
        return os.path.isfile(self._path(name))

    def size(self, name: str) -> int | None:
        try:
            return os.path.getsize(self._path(name))
        except OSError:
            return None

    def read_bytes(self, name: str) -> bytes:
        path = self._path(name)
        try:
            if os.path.getsize(path) > JSON_CAP:
                raise ArchiveError(f"{name} is too large to be metadata")
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as error:
            raise ArchiveError(f"cannot read {name}: {error.strerror or error}") from None

    def read_layer(self, name: str, monitor: ReadMonitor | None = None) -> LayerContents:
        try:
            handle = open(self._path(name), "rb")
        except OSError as error:
            raise ArchiveError(f"missing layer blob {name}: {error.strerror or error}") from None
        with handle:
            return read_layer(handle, monitor=monitor, digests=True)


class TarStore:
    """A plain (uncompressed) tar archive, read by seeking to the members needed."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._tar = tarfile.open(path, "r:")
            members = self._tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as error:
            raise ArchiveError(f"{path}: not a readable tar archive ({error})") from None
        self._members = {_member_name(member.name): member for member in members}

    def close(self) -> None:
        self._tar.close()

    def _member(self, name: str) -> tarfile.TarInfo:
        member = self._members.get(_member_name(name))
        if member is None:
            raise ArchiveError(f"{self.path}: missing {name}")
        return member

    def exists(self, name: str) -> bool:
        return _member_name(name) in self._members

    def size(self, name: str) -> int | None:
        member = self._members.get(_member_name(name))
        return member.size if member is not None and member.isreg() else None

    def _resolve(self, name: str) -> tarfile.TarInfo:
        """The member `name` names, following links inside the archive (a loop is an error)."""
        member = self._member(name)
        for _ in range(16):
            if not (member.issym() or member.islnk()):
                return member
            base = posixpath.dirname(_member_name(member.name)) if member.issym() else ""
            member = self._member(posixpath.join(base, member.linkname))
        raise ArchiveError(f"{self.path}: link loop at {name}")

    def _open(self, name: str) -> BinaryIO:
        try:
            handle = self._tar.extractfile(self._resolve(name))
        except (tarfile.TarError, KeyError, RecursionError) as error:
            raise ArchiveError(f"{self.path}: cannot open {name} ({error})") from None
        if handle is None:
            raise ArchiveError(f"{self.path}: {name} is not a file")
        return cast(BinaryIO, handle)

    def read_bytes(self, name: str) -> bytes:
        if (self.size(name) or 0) > JSON_CAP:
            raise ArchiveError(f"{name} is too large to be metadata")
        data = self._open(name).read()
        return data

    def read_layer(self, name: str, monitor: ReadMonitor | None = None) -> LayerContents:
        return read_layer(self._open(name), monitor=monitor, digests=True)


class StreamStore:
    """An archive read once from the front; layers are analysed as they pass."""

    def __init__(self, stream: BinaryIO, label: str, monitor: ReadMonitor | None = None, *, digests: bool = True) -> None:
        self.label = label
        self.digests = digests
        """Hash each layer as it passes (off for the engine's own export stream, which the engine vouches for)."""
        self._small: dict[str, bytes] = {}
        self._layers: dict[str, LayerContents] = {}
        self._failed: dict[str, LayerError] = {}
        self._links: dict[str, str] = {}
        self._sizes: dict[str, int] = {}
        self._read_all(stream, monitor)

    def _read_all(self, stream: BinaryIO, monitor: ReadMonitor | None) -> None:
        kept = 0
        try:
            for item in iter_members(open_layer_stream(stream)):
                member = item.info
                name = _member_name(member.name)
                if member.issym() or member.islnk():
                    target = member.linkname if member.islnk() else posixpath.join(posixpath.dirname(name), member.linkname)
                    self._links[name] = _member_name(target)
                    continue
                if not member.isreg():
                    continue
                self._sizes[name] = member.size
                if member.size <= SMALL_FILE and kept + member.size <= SMALL_TOTAL:
                    self._small[name] = item.read()
                    kept += member.size
                    if monitor is not None:
                        monitor.advance(member.size)
                    continue
                try:
                    self._layers[name] = read_layer(cast(BinaryIO, Contents(item)), monitor=monitor, digests=self.digests)
                except LayerError as error:
                    self._failed[name] = error
        except LayerError as error:
            raise ArchiveError(f"{self.label}: not a readable image archive ({error})") from None
        except ReadCancelled:
            raise
        except (tarfile.TarError, EOFError, OSError, ValueError) as error:
            raise ArchiveError(f"{self.label}: not a readable image archive ({error or type(error).__name__})") from None

    def _resolve(self, name: str) -> str:
        name = _member_name(name)
        for _ in range(16):
            if name not in self._links:
                return name
            name = self._links[name]
        raise ArchiveError(f"{self.label}: symlink loop at {name}")

    def exists(self, name: str) -> bool:
        name = self._resolve(name)
        return name in self._small or name in self._layers or name in self._failed

    def size(self, name: str) -> int | None:
        return self._sizes.get(self._resolve(name))

    def read_bytes(self, name: str) -> bytes:
        data = self._small.get(self._resolve(name))
        if data is None:
            raise ArchiveError(f"{self.label}: missing {name}")
        return data

    def read_layer(self, name: str, monitor: ReadMonitor | None = None) -> LayerContents:
        name = self._resolve(name)
        if name in self._layers:
            return self._layers[name]
        if name in self._failed:
            raise self._failed[name]
        if name in self._small:
            return read_layer(io.BytesIO(self._small[name]), digests=self.digests)
        raise ArchiveError(f"{self.label}: missing layer {name}")
