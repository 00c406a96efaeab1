"""What a `*.dist-info/RECORD` says: the files a distribution installed, and the hash of each.

Read once here for the attribution (which files a distribution owns, whether a
re-shipped copy is the same) and the image diff (whether a path holds the same
content in both images).
"""

from __future__ import annotations

import csv
import io
import posixpath

MAX_RECORD_ROWS = 2_000_000
"""Rows read at the most: a hostile RECORD cannot make the read unbounded."""


def record_rows(data: bytes, site: str) -> list[tuple[str, str]]:
    """(path, hash) rows of a RECORD as normalised image paths (no leading slash), the hash `` where a row has none.

    Paths are relative to `site` (the site-packages folder, without leading
    slash) unless absolute; a path that leaves the filesystem is left out, and
    a malformed RECORD gives the rows before the fault.
    """
    rows = []
    reader = csv.reader(io.StringIO(data.decode("utf-8", "replace")))
    try:
        for count, row in enumerate(reader):
            if count >= MAX_RECORD_ROWS:
                break
            if not row or not row[0]:
                continue
            name = row[0]
            if name.startswith("/"):
                path = name.lstrip("/")
            elif "/." in "/" + name or "//" in name or name.endswith("/") or not site:
                path = posixpath.normpath(posixpath.join(site, name))
            else:
                path = f"{site}/{name}"  # already normal: what normpath(join()) gives, without its cost per row
            if path.startswith(".."):
                continue
            rows.append((path, row[1] if len(row) > 1 else ""))
    except csv.Error:
        pass
    return rows


def record_hashes(data: bytes, site: str) -> dict[str, str]:
    """Path -> hash (`sha256=...`) of every RECORD row that has a hash (see `record_rows`)."""
    return {path: digest for path, digest in record_rows(data, site) if digest}
