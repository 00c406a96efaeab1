"""All-or-nothing writes of several files (pyproject.toml + uv.lock + Dockerfile), across SIGINT and SIGTERM.

A `Journal` remembers, for every file it may touch, the bytes and owner/mode
it had, and what uvscope (or the `uv lock` it ran) put there. Until
`commit()`, any failure or signal rolls back: a file is restored only if it
still holds what uvscope wrote, so an edit someone made meanwhile is never
erased (it is left as it is, and the message says so). While the journal is
open, SIGINT and SIGTERM only set a flag (and stop the child process); the
work stops at the next step, rolls back, and ends with `Interrupted`
(exit code 130 or 143) and one line saying which file is in which state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Literal

from .errors import UvscopeError
from .files import FileMeta, read_bytes, remove_file, resolve, write_file, write_in_place, write_new


class Interrupted(UvscopeError):
    """SIGINT or SIGTERM arrived while files were being written."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass
class _Entry:
    path: str
    label: str
    original: bytes | None
    meta: FileMeta | None
    written: bytes | None = None
    touched: bool = False
    nlink: int = 1
    keep_link: str | None = field(default=None)
    """A second name for the original inode, so a rollback puts back the very file (inode, times, xattrs)."""


def _snapshot(path: str) -> tuple[bytes | None, FileMeta | None, os.stat_result | None]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, None, None
    except OSError as error:
        raise UvscopeError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        data = read_bytes(path)
    except OSError as error:
        raise UvscopeError(f"cannot read {path}: {error.strerror or error}") from None
    return data, FileMeta.of(st), st


class Journal:
    """Files written together: all of them fully written, or all as they were."""

    def __init__(self, base: str | None = None) -> None:
        self.base = base
        self.entries: dict[str, _Entry] = {}
        self.received: int | None = None
        self.committed = False
        self._previous: dict[int, signal._HANDLER] = {}

    # -- signals --------------------------------------------------------------------------

    def __enter__(self) -> Journal:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, kind, error, trace) -> Literal[False]:
        try:
            if self.committed:
                if self.received is not None:
                    labels = _join([e.label for e in self.entries.values() if e.touched] or ["nothing"])
                    raise Interrupted(
                        self.received, f"interrupted by {signal_name(self.received)} after the writes ended: {labels} fully written"
                    )
                return False
            if isinstance(error, Interrupted):
                return False  # rolled back already, by `checkpoint`
            summary = self.rollback()
            if self.received is not None:
                raise self._interrupted(summary) from None
            if isinstance(error, UvscopeError):
                combined = UvscopeError(f"{error}; {summary}")
                combined.exit_code = error.exit_code
                raise combined from None
            return False
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
            self._previous = {}
            self._drop_keep_links()

    def _on_signal(self, signum, frame) -> None:
        # Only a flag: the work stops at its next step (`run` polls it every 0.1 s and stops its child).
        self.received = signum

    def _interrupted(self, summary: str) -> Interrupted:
        received = self.received if self.received is not None else signal.SIGINT
        return Interrupted(received, f"interrupted by {signal_name(received)}: {summary}")

    def checkpoint(self) -> None:
        """Stop here if a signal arrived: roll back and raise `Interrupted`."""
        if self.received is not None and not self.committed:
            raise self._interrupted(self.rollback())

    # -- files ----------------------------------------------------------------------------

    def _label(self, path: str) -> str:
        if self.base:
            relative = os.path.relpath(path, self.base)
            if not relative.startswith(".."):
                return relative
        return path

    def track(self, path: str, expected: bytes | None | EllipsisType = ...) -> None:
        """Remember `path` as it is now; refuse if it no longer holds `expected` (bytes, or None for absent)."""
        data, meta, st = _snapshot(path)
        if expected is not ... and data != expected:
            what = "appeared" if expected is None else "changed on disk"
            raise UvscopeError(f"{path} {what} since uvscope read it; not overwriting it (run again)")
        self.entries[path] = _Entry(path, self._label(path), data, meta, nlink=st.st_nlink if st else 1)

    def _keep(self, entry: _Entry) -> None:
        """Give the original inode a second name before it is first replaced."""
        if entry.touched or entry.original is None or entry.keep_link is not None:
            return
        target = resolve(entry.path)
        # Named after the file: if uvscope is killed (SIGKILL, power loss) the original is still there to recover.
        keep = tempfile.mktemp(prefix=f".{os.path.basename(target)}.uvscope-orig-", dir=os.path.dirname(os.path.abspath(target)))
        try:
            os.link(target, keep)
            entry.keep_link = keep
        except OSError:
            entry.keep_link = None

    def write(self, path: str, data: bytes) -> None:
        """Write a tracked file (checked: it must still be as tracked or as last written)."""
        entry = self.entries[path]
        self.checkpoint()
        current = read_bytes(path)
        if current != (entry.written if entry.touched else entry.original):
            raise UvscopeError(f"{path} changed on disk since uvscope read it; not overwriting it")
        if entry.nlink == 1:
            self._keep(entry)
        entry.touched = True
        entry.written = data
        if entry.original is None:
            write_new(path, data)
        else:
            write_file(path, data, ignore_links=1 if entry.keep_link else 0)
        self.checkpoint()

    def before_outside_write(self, path: str) -> None:
        """An outside program (uv) is about to replace `path`: keep a second name for the original inode."""
        entry = self.entries[path]
        if not entry.touched:
            self._keep(entry)
            entry.touched = True
            entry.written = entry.original

    def after_outside_write(self, path: str) -> bool:
        """Adopt what the outside program wrote; put back owner, mode and hard links it broke. True if it changed."""
        entry = self.entries[path]
        target = resolve(path)
        data, _, st = _snapshot(target)
        keep_st = os.stat(entry.keep_link) if entry.keep_link is not None else None
        replaced = keep_st is not None and st is not None and (keep_st.st_dev, keep_st.st_ino) != (st.st_dev, st.st_ino)
        if replaced and entry.nlink > 1 and entry.keep_link is not None and data is not None:
            # A rename over a hard-linked file: its bytes go into the original inode, which takes its name back.
            write_file(entry.keep_link, data)
            os.replace(entry.keep_link, target)
            entry.keep_link = None
        elif replaced and st is not None and entry.meta is not None and FileMeta.of(st) != entry.meta:
            try:
                os.chown(target, entry.meta.uid, entry.meta.gid)
                os.chmod(target, entry.meta.mode)
            except OSError:
                pass
        entry.written = data
        return data != entry.original

    def _drop_keep_links(self) -> None:
        for entry in self.entries.values():
            if entry.keep_link is not None:
                try:
                    os.unlink(entry.keep_link)
                except OSError:
                    pass
                entry.keep_link = None

    def run(
        self, argv: list[str], *, cwd: str, env: dict[str, str], timeout: float, writes: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess:
        """Run a child process that may replace the tracked files `writes`; a signal stops it (then `Interrupted`)."""
        self.checkpoint()
        for path in writes:
            self.before_outside_write(path)
        try:
            child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        except OSError as error:
            raise UvscopeError(f"{os.path.basename(argv[0])} could not run ({error.strerror or error})") from None
        deadline = time.monotonic() + timeout
        stopping_since = None
        while True:
            try:
                out, err = child.communicate(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if self.received is not None:
                    stopping_since = stopping_since or time.monotonic()
                    # SIGTERM first; a child that ignores it for 5 s is killed.
                    child.kill() if time.monotonic() - stopping_since > 5 else child.terminate()
                elif time.monotonic() > deadline:
                    child.kill()
                    child.communicate()
                    for path in writes:
                        self.after_outside_write(path)
                    name = " ".join([os.path.basename(argv[0]), *argv[1:2]])
                    raise UvscopeError(f"{name} did not finish in {timeout:g} s and was stopped") from None
        for path in writes:
            self.after_outside_write(path)
        self.checkpoint()
        return subprocess.CompletedProcess(argv, child.returncode, out.decode(errors="replace"), err.decode(errors="replace"))

    def verify(self) -> None:
        """Before committing: every written file must still hold what was written."""
        for entry in self.entries.values():
            if entry.touched and read_bytes(entry.path) != entry.written:
                raise UvscopeError(f"{entry.label} changed on disk while uvscope was writing")

    def commit(self) -> None:
        self.checkpoint()
        self.verify()
        self.committed = True

    def _put_back(self, entry: _Entry) -> None:
        """The original file again: its own inode when a second name kept it, else its bytes and metadata."""
        assert entry.original is not None, "only a file that existed is put back"
        target = resolve(entry.path)
        keep = entry.keep_link
        if keep is not None:
            entry.keep_link = None
            keep_st, st = os.stat(keep), os.stat(target)
            if (keep_st.st_dev, keep_st.st_ino) != (st.st_dev, st.st_ino):
                if read_bytes(keep) == entry.original:
                    os.replace(keep, target)
                    return
                os.unlink(keep)
            else:
                # Rewritten in place (its inode kept): put the bytes back the same way.
                os.unlink(keep)
                write_in_place(target, entry.original, entry.meta)
                return
        write_file(entry.path, entry.original, entry.meta)

    def rollback(self) -> str:
        """Put back every file that still holds what uvscope wrote; say what each file is now."""
        restored, untouched, kept = [], [], []
        for entry in reversed(list(self.entries.values())):
            if not entry.touched:
                untouched.append(entry.label)
                continue
            current = read_bytes(entry.path)
            if current == entry.original:
                restored.append(entry.label)
                continue
            if current != entry.written:
                kept.append(entry.label)
                continue
            try:
                if entry.original is None:
                    remove_file(entry.path)
                else:
                    self._put_back(entry)
                restored.append(entry.label)
            except (UvscopeError, OSError) as error:
                kept.append(f"{entry.label} (restore failed: {error})")
        self._drop_keep_links()
        self.entries = {}
        same = list(reversed(restored)) + list(reversed(untouched))
        parts = []
        if same:
            parts.append(f"{_join(same)} {'is' if len(same) == 1 else 'are'} as {'it was' if len(same) == 1 else 'they were'}")
        if kept:
            parts.append(
                f"{_join(list(reversed(kept)))} changed by someone else meanwhile and left as {'it is' if len(kept) == 1 else 'they are'}"
            )
        return "; ".join(parts) or "nothing was written"


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
