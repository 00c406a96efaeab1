"""The one writer every file uvscope writes goes through.

What it promises, whatever `path` is:

- a regular file is replaced atomically (a temporary file in the target's own
  folder, fsync, rename) and keeps its owner, group, mode and extended
  attributes;
- a symlink is followed: its target is replaced, never the link;
- a character device, FIFO or socket-like node (`/dev/null`, `/dev/stdout`,
  `>(gzip > r.gz)`) is opened and written in place, never renamed over;
- a regular file with more than one hard link (or one whose owner cannot be
  kept by a rename, or in a folder where no temporary file can be made) is
  rewritten in place, so every name keeps seeing the same bytes; if that
  write fails the old bytes are put back.

Errors are one line (`UvscopeError`), never a traceback.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from dataclasses import dataclass

from .errors import UvscopeError


@dataclass(frozen=True)
class FileMeta:
    """Owner, group and mode to give a file (taken from what was there before)."""

    uid: int
    gid: int
    mode: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileMeta:
        return cls(st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))


def _error(path: str, error: OSError | str) -> UvscopeError:
    reason = error if isinstance(error, str) else (error.strerror or str(error))
    return UvscopeError(f"cannot write {path}: {reason}")


def resolve(path: str) -> str:
    """Where the bytes of `path` live: symlinks followed (also a dangling one: its target gets created)."""
    if os.path.islink(path):
        return os.path.realpath(path)
    return path


def read_bytes(path: str) -> bytes | None:
    """The bytes at `path` (through links), or None if there is no such file."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_node(path: str, data: bytes) -> None:
    """A device, FIFO or other non-regular file: open and write, nothing renamed or truncated."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    except OSError as error:
        raise _error(path, error) from None
    try:
        _write_all(fd, data)
    except OSError as error:
        raise _error(path, error) from None
    finally:
        os.close(fd)


def write_in_place(path: str, data: bytes, meta: FileMeta | None = None) -> None:
    """Rewrite a regular file's own inode (hard links stay in step); the old bytes come back on failure."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    except OSError as error:
        raise _error(path, error) from None
    try:
        old = b""
        while chunk := os.read(fd, 1 << 20):
            old += chunk
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            _write_all(fd, data)
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        except OSError as error:
            # The old bytes fit in the blocks the file already had.
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                _write_all(fd, old)
                os.ftruncate(fd, len(old))
                os.fsync(fd)
            except OSError:
                pass
            raise _error(path, error) from None
        if meta is not None:
            _apply_meta_fd(fd, meta)
    finally:
        os.close(fd)


def _apply_meta_fd(fd: int, meta: FileMeta) -> None:
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) != (meta.uid, meta.gid):
        os.fchown(fd, meta.uid, meta.gid)
    if stat.S_IMODE(st.st_mode) != meta.mode:
        os.fchmod(fd, meta.mode)


def _copy_xattrs(source: str, fd: int) -> None:
    """Extended attributes (ACLs, labels, user notes) of the file being replaced, as far as they can be set."""
    try:
        names = os.listxattr(source)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(fd, name, os.getxattr(source, name))
        except OSError:
            pass


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _KeepInPlace(Exception):
    """The atomic path cannot keep what the file is (owner, folder); write in place instead."""


def _write_replacing(path: str, data: bytes, meta: FileMeta | None, exists: bool) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(prefix=".uvscope-", dir=folder)
    except OSError as error:
        if exists and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise _KeepInPlace() from None
        raise _error(path, error) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if meta is not None:
                try:
                    _apply_meta_fd(handle.fileno(), meta)
                except PermissionError:
                    raise _KeepInPlace() from None
                _copy_xattrs(path, handle.fileno())
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(handle.fileno(), 0o666 & ~umask)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise _error(path, error) from None
        raise
    _fsync_folder(folder)


def write_file(path: str, data: bytes, meta: FileMeta | None = None, ignore_links: int = 0) -> None:
    """Write `data` to `path` as the module docstring says.

    `meta` overrides the owner and mode to keep; `ignore_links` hard links to
    the file are the caller's own (a journal's copy of the old inode) and do
    not count as other names to keep in step.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as error:
        raise _error(path, error) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise _error(path, "it is a folder")
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_node(path, data)
        return
    target = resolve(path)
    if st is not None:
        meta = meta or FileMeta.of(st)
        if st.st_nlink - ignore_links > 1:
            write_in_place(target, data, meta)
            return
    try:
        _write_replacing(target, data, meta, st is not None)
    except _KeepInPlace:
        write_in_place(target, data, meta)


def write_atomic(path: str, data: bytes) -> None:
    """The name older callers use: the same as `write_file`."""
    write_file(path, data)


def write_new(path: str, data: bytes) -> None:
    """Create `path`, refusing if anything is already there (a file uvscope did not just create)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOCTTY, 0o666)
    except FileExistsError:
        raise UvscopeError(f"{path} already exists; not overwriting it") from None
    except OSError as error:
        raise _error(path, error) from None
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except OSError as error:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise _error(path, error) from None
    os.close(fd)


def remove_file(path: str) -> None:
    """Remove a file uvscope created (a link's target, never the link)."""
    try:
        os.unlink(resolve(path))
    except FileNotFoundError:
        pass
    except OSError as error:
        raise UvscopeError(f"cannot remove {path}: {error.strerror or error}") from None


def make_private(path: str, root: str) -> None:
    """In uvscope's own scratch copy `root`: turn a linked `path` into a regular file holding the same bytes.

    A copy made with its symlinks kept would otherwise let a write (uvscope's
    or `uv lock`'s) go through the link into the user's own file. A path whose
    folder leads out of `root` is refused.
    """
    real_root = os.path.realpath(root)
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    if folder != real_root and not folder.startswith(real_root + os.sep):
        raise UvscopeError(f"{path} is in a linked folder that leads out of the scratch copy; not writing through it")
    if os.path.islink(path):
        data = read_bytes(path)
        os.unlink(path)
        if data is not None:
            write_new(path, data)
