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
import json
import os
import sqlite3
import time
import zlib

from ..image.model import EntryKind, FileEntry, LayerContents

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


def _decode(data: bytes) -> LayerContents:
    document = json.loads(zlib.decompress(data).decode("utf-8", "surrogateescape"))
    return LayerContents(
        entries=tuple(FileEntry(p, EntryKind(k), s, m, link) for p, k, s, m, link in document["entries"]),
        whiteouts=tuple(document["whiteouts"]),
        opaque_dirs=tuple(document["opaque"]),
        metadata={path: base64.b64decode(value) for path, value in document["metadata"].items()},
        warnings=tuple(document["warnings"]),
        blob_bytes=int(document["blob_bytes"]),
    )


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
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute("SELECT data FROM layers WHERE diff_id = ?", (diff_id,)).fetchone()
            if row is None:
                self.misses += 1
                return None
            layer = _decode(row[0])
            db.execute("UPDATE layers SET used = ? WHERE diff_id = ?", (time.time(), diff_id))
            db.commit()
            self.hits += 1
            return layer
        except (sqlite3.Error, ValueError, KeyError, TypeError, zlib.error):
            self.misses += 1
            return None

    def layer_size(self, diff_id: str) -> int | None:
        """The exact uncompressed content size of a cached layer (`LayerContents.size_bytes`), or None."""
        layer = self.get(diff_id)
        return layer.size_bytes if layer is not None else None

    def has_all(self, diff_ids) -> bool:
        """Whether every layer is cached (then nothing needs exporting)."""
        db = self._connect()
        if db is None:
            return False
        try:
            wanted = set(diff_ids)
            found = (
                {
                    row[0]
                    for row in db.execute(f"SELECT diff_id FROM layers WHERE diff_id IN ({','.join('?' * len(wanted))})", tuple(wanted))
                }
                if wanted
                else set()
            )
            return found == wanted
        except sqlite3.Error:
            return False

    def put(self, diff_id: str, layer: LayerContents) -> None:
        """Store a layer read in full (best effort), then keep the cache under its size limit."""
        db = self._connect()
        if db is None:
            return
        try:
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
        except (sqlite3.Error, ValueError):
            pass

    def get_history(self, image_id: str) -> list[str] | None:
        """The `created_by` of each layer of an image read before (the engine API cannot tell them apart)."""
        db = self._connect()
        if db is None or not image_id:
            return None
        try:
            row = db.execute("SELECT value FROM meta WHERE key = ?", ("history:" + image_id,)).fetchone()
            return list(json.loads(row[0])) if row is not None else None
        except (sqlite3.Error, ValueError, TypeError):
            return None

    def put_history(self, image_id: str, commands: list[str]) -> None:
        db = self._connect()
        if db is None or not image_id:
            return
        try:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", ("history:" + image_id, json.dumps(commands)))
            db.commit()
        except sqlite3.Error:
            pass

    def get_record(self, kind: str, key: str) -> bytes | None:
        """A whole record of `kind` (e.g. a finished analysis) stored under `key`, or None."""
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute("SELECT data FROM records WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE records SET used = ? WHERE kind = ? AND key = ?", (time.time(), kind, key))
            db.commit()
            return bytes(row[0])
        except sqlite3.Error:
            return None

    def put_record(self, kind: str, key: str, data: bytes, keep: int) -> None:
        """Store a record (best effort), keeping the `keep` most recently used of its kind."""
        db = self._connect()
        if db is None:
            return
        try:
            db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)", (kind, key, data, time.time()))
            db.execute(
                "DELETE FROM records WHERE kind = ? AND key NOT IN (SELECT key FROM records WHERE kind = ? ORDER BY used DESC LIMIT ?)",
                (kind, kind, keep),
            )
            db.commit()
        except sqlite3.Error:
            pass

    def delete_record(self, kind: str, key: str) -> None:
        """Forget a record (a damaged one)."""
        db = self._connect()
        if db is None:
            return
        try:
            db.execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key))
            db.commit()
        except sqlite3.Error:
            pass

    def record_keys(self, kind: str) -> list[str]:
        """Keys of the stored records of `kind`."""
        db = self._connect()
        if db is None:
            return []
        try:
            return [row[0] for row in db.execute("SELECT key FROM records WHERE kind = ?", (kind,))]
        except sqlite3.Error:
            return []

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
