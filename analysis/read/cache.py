"""Content-addressed cache of read layers, keyed by `diff_id`, in SQLite.

A layer's `diff_id` is the digest of its uncompressed tar, so what was read
from it never goes stale. An image whose layers are all cached is analysed
without exporting or reading it at all. Safe by construction: a versioned
schema, a corrupt file is moved aside and rebuilt, concurrent runs share it
through SQLite's locking (WAL), and its size is bounded (least recently used
layers go first).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable
from typing import Concatenate, ParamSpec, TypeVar

from ..image.model import EntryKind, EntryTable, LayerContents

SCHEMA_VERSION = 2
"""Bump whenever what the readers put in `LayerContents` changes: older entries are then dropped."""
DEFAULT_LIMIT = 2 << 30
"""Bytes of compressed entries kept at most (2 GiB)."""


def default_cache_dir() -> str:
    """`$XDG_CACHE_HOME/uvscope` (or `~/.cache/uvscope`)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "uvscope")


def _encode(layer: LayerContents) -> bytes:
    document = {
        "entries": [[e.path, e.kind.value, e.size, e.mode, e.link] for e in layer.entries],
        "whiteouts": list(layer.whiteouts),
        "opaque": list(layer.opaque_dirs),
        "metadata": {path: base64.b64encode(data).decode() for path, data in layer.metadata.items()},
        "warnings": list(layer.warnings),
        "blob_bytes": layer.blob_bytes,
    }
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode("utf-8", "surrogateescape"), 6)


def _entries(rows: list) -> EntryTable:
    table = EntryTable()
    for path, kind, size, mode, link in rows:
        table.append(path, EntryKind(kind), size, mode, link)
    return table


def _decode(data: bytes) -> LayerContents:
    document = json.loads(zlib.decompress(data).decode("utf-8", "surrogateescape"))
    return LayerContents(
        entries=_entries(document["entries"]),
        whiteouts=tuple(document["whiteouts"]),
        opaque_dirs=tuple(document["opaque"]),
        metadata={path: base64.b64decode(value) for path, value in document["metadata"].items()},
        warnings=tuple(document["warnings"]),
        blob_bytes=int(document["blob_bytes"]),
    )


P = ParamSpec("P")
T = TypeVar("T")
D = TypeVar("D")

_READ_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, ValueError, KeyError, TypeError, zlib.error)
"""What reading a damaged entry can raise: it is then as if it were not cached."""


def _best_effort(
    default: D, errors: tuple[type[Exception], ...] = (sqlite3.Error,)
) -> Callable[[Callable[Concatenate[LayerCache, sqlite3.Connection, P], T]], Callable[Concatenate[LayerCache, P], T | D]]:
    """Run a `LayerCache` method on the open database, passed as its second argument; `default` when the cache
    cannot be opened or the method raises one of `errors` (the cache never turns a failure into an error)."""

    def decorate(method: Callable[Concatenate[LayerCache, sqlite3.Connection, P], T]) -> Callable[Concatenate[LayerCache, P], T | D]:
        @functools.wraps(method)
        def run(self: LayerCache, *args: P.args, **kwargs: P.kwargs) -> T | D:
            db = self._connect()
            if db is None:
                return default
            try:
                return method(self, db, *args, **kwargs)
            except errors:
                return default

        return run

    return decorate


class LayerCache:
    """Read layers by `diff_id`; every failure degrades to "not cached", never to an error."""

    def __init__(self, folder: str | None = None, limit: int = DEFAULT_LIMIT) -> None:
        self.folder = folder or default_cache_dir()
        self.path = os.path.join(self.folder, "layers.sqlite")
        self.limit = limit
        self._db: sqlite3.Connection | None = None
        self.hits = 0
        self.misses = 0

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        for attempt in range(2):
            try:
                os.makedirs(self.folder, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is not None and row[0] != str(SCHEMA_VERSION):
                    db.execute("DROP TABLE IF EXISTS layers")
                    db.execute("DROP TABLE IF EXISTS records")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS layers (diff_id TEXT PRIMARY KEY, data BLOB NOT NULL, size INTEGER NOT NULL, used REAL NOT NULL)"
                )
                db.execute(
                    "CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL, used REAL NOT NULL, "
                    "PRIMARY KEY (kind, key))"
                )
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                db.commit()
                db.execute("SELECT count(*) FROM layers").fetchone()
                self._db = db
                return db
            except sqlite3.DatabaseError:
                # Corrupt or not a database: move it aside and start again, once.
                if attempt == 0:
                    for suffix in ("", "-wal", "-shm"):
                        try:
                            os.replace(self.path + suffix, self.path + suffix + ".corrupt")
                        except OSError:
                            pass
                    continue
                return None
            except OSError:
                return None
        return None

    def get(self, diff_id: str) -> LayerContents | None:
        """The cached layer, or None."""
        layer = self._read_layer(diff_id)
        if layer is not None:
            self.hits += 1
        elif self._db is not None:  # an open cache that did not have it (an unusable one counts nothing)
            self.misses += 1
        return layer

    @_best_effort(None, _READ_ERRORS)
    def _read_layer(self, db: sqlite3.Connection, diff_id: str) -> LayerContents | None:
        row = db.execute("SELECT data FROM layers WHERE diff_id = ?", (diff_id,)).fetchone()
        if row is None:
            return None
        layer = _decode(row[0])
        db.execute("UPDATE layers SET used = ? WHERE diff_id = ?", (time.time(), diff_id))
        db.commit()
        return layer

    def layer_size(self, diff_id: str) -> int | None:
        """The exact uncompressed content size of a cached layer (`LayerContents.size_bytes`), or None."""
        layer = self.get(diff_id)
        return layer.size_bytes if layer is not None else None

    @_best_effort(False)
    def has_all(self, db: sqlite3.Connection, diff_ids: Iterable[str]) -> bool:
        """Whether every layer is cached (then nothing needs exporting)."""
        wanted = set(diff_ids)
        if not wanted:
            return True
        query = f"SELECT diff_id FROM layers WHERE diff_id IN ({','.join('?' * len(wanted))})"
        return {row[0] for row in db.execute(query, tuple(wanted))} == wanted

    @_best_effort(None, (sqlite3.Error, ValueError))
    def put(self, db: sqlite3.Connection, diff_id: str, layer: LayerContents) -> None:
        """Store a layer read in full (best effort), then keep the cache under its size limit."""
        data = _encode(layer)
        db.execute("INSERT OR REPLACE INTO layers VALUES (?, ?, ?, ?)", (diff_id, data, len(data), time.time()))
        total = db.execute("SELECT coalesce(sum(size), 0) FROM layers").fetchone()[0]
        if total > self.limit:
            for old_id, size in db.execute("SELECT diff_id, size FROM layers ORDER BY used").fetchall():
                if total <= self.limit or old_id == diff_id:
                    break
                db.execute("DELETE FROM layers WHERE diff_id = ?", (old_id,))
                total -= size
        db.commit()

    @_best_effort(None, (sqlite3.Error, ValueError, TypeError))
    def get_history(self, db: sqlite3.Connection, image_id: str) -> list[str] | None:
        """The `created_by` of each layer of an image read before (the engine API cannot tell them apart)."""
        if not image_id:
            return None
        row = db.execute("SELECT value FROM meta WHERE key = ?", ("history:" + image_id,)).fetchone()
        return list(json.loads(row[0])) if row is not None else None

    @_best_effort(None)
    def put_history(self, db: sqlite3.Connection, image_id: str, commands: list[str]) -> None:
        """Keep an image's layer commands for `get_history` (best effort)."""
        if image_id:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", ("history:" + image_id, json.dumps(commands)))
            db.commit()

    @_best_effort(None)
    def get_record(self, db: sqlite3.Connection, kind: str, key: str) -> bytes | None:
        """A whole record of `kind` (e.g. a finished analysis) stored under `key`, or None."""
        row = db.execute("SELECT data FROM records WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if row is None:
            return None
        db.execute("UPDATE records SET used = ? WHERE kind = ? AND key = ?", (time.time(), kind, key))
        db.commit()
        return bytes(row[0])

    @_best_effort(None)
    def put_record(self, db: sqlite3.Connection, kind: str, key: str, data: bytes, keep: int) -> None:
        """Store a record (best effort), keeping the `keep` most recently used of its kind."""
        db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)", (kind, key, data, time.time()))
        db.execute(
            "DELETE FROM records WHERE kind = ? AND key NOT IN (SELECT key FROM records WHERE kind = ? ORDER BY used DESC LIMIT ?)",
            (kind, kind, keep),
        )
        db.commit()

    @_best_effort(None)
    def delete_record(self, db: sqlite3.Connection, kind: str, key: str) -> None:
        """Forget a record (a damaged one)."""
        db.execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key))
        db.commit()

    @_best_effort(())
    def record_keys(self, db: sqlite3.Connection, kind: str) -> tuple[str, ...]:
        """Keys of the stored records of `kind`."""
        return tuple(row[0] for row in db.execute("SELECT key FROM records WHERE kind = ?", (kind,)))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
