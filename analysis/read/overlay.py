"""The local-storage fast path: read layers from the engine's overlay2 folders instead of `docker save`.

When this process can read the engine's storage (root on the engine's host),
each layer's `diff` folder holds exactly what its tar would: overlay
whiteouts are 0:0 character devices, opaque folders carry the
`trusted.overlay.opaque` xattr. The walk follows Go's `filepath.Walk` order
(names sorted, depth first), as the engine's own tar writer does, so hard
links resolve to the same first path and results equal the stream's.
"""

from __future__ import annotations

import gzip
import json
import os
import stat
from collections.abc import Callable

from ..image.model import EntryKind, EntryTable, FileEntry, LayerContents
from .layer_reader import METADATA_CAP, normalize_path, wants_metadata


def layer_folder(root: str, driver: str, chain_id: str) -> tuple[str, str] | None:
    """(`diff` folder, `tar-split.json.gz`) of the layer with this chain ID, if this process can read them."""
    if driver != "overlay2":
        return None
    layerdb = os.path.join(root, "image", driver, "layerdb", "sha256", chain_id.partition(":")[2])
    try:
        with open(os.path.join(layerdb, "cache-id")) as handle:
            cache_id = handle.read().strip()
    except OSError:
        return None
    if not cache_id or "/" in cache_id or ".." in cache_id:
        return None
    folder = os.path.join(root, driver, cache_id, "diff")
    if not os.access(folder, os.R_OK | os.X_OK):
        return None
    return folder, os.path.join(layerdb, "tar-split.json.gz")


def _opaque(path: str) -> bool:
    for name in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def tar_order(tar_split: str) -> dict[str, int]:
    """Path -> position in the layer's original tar, from the engine's `tar-split.json.gz`.

    Hard links in a tar point to whichever path came first; an imported
    layer keeps its original order, which only tar-split remembers.
    """
    order: dict[str, int] = {}
    try:
        with gzip.open(tar_split, "rt", encoding="utf-8") as handle:
            for line in handle:
                if '"type":1' not in line:  # 1: an entry (name, size); 2: raw header bytes
                    continue
                item = json.loads(line)
                path = normalize_path(str(item.get("name", "")))
                if path is not None and path not in order:
                    order[path] = len(order)
    except (OSError, ValueError, EOFError):
        return {}
    return order


def read_overlay_layer(
    folder: str,
    keep=wants_metadata,
    order: dict[str, int] | None = None,
    tar_split: str | None = None,
    order_from: Callable[[], dict[str, int]] | None = None,
) -> LayerContents:
    """Read one layer's `diff` folder into the same `LayerContents` its tar would give.

    `order` (from `tar_order`, or read from `tar_split` or `order_from()` only when the layer
    has hard links) decides which of several hard-linked paths is the file and
    which are links, as the original tar did.
    """
    entries = EntryTable()
    whiteouts: list[str] = []
    opaque: list[str] = []
    metadata: dict[str, bytes] = {}
    warnings: list[str] = []
    linked: dict[tuple[int, int], list[int]] = {}

    def listing(relative: str):
        directory = os.path.join(folder, relative) if relative else folder
        try:
            return iter(sorted(os.listdir(directory)))
        except OSError as error:
            warnings.append(f"cannot list {relative or '/'}: {error.strerror}")
            return iter(())

    # Depth first, names in order, a folder's contents right after it: Go's filepath.Walk.
    stack = [("", listing(""))]
    while stack:
        relative, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        path = f"{relative}/{name}" if relative else name
        full = f"{folder}/{path}"
        try:
            info = os.lstat(full)
        except OSError as error:
            warnings.append(f"cannot stat {path}: {error.strerror}")
            continue
        mode = info.st_mode
        if stat.S_ISCHR(mode) and info.st_rdev == 0:
            whiteouts.append(path)
        elif stat.S_ISDIR(mode):
            entries.append(path, EntryKind.DIR, 0, stat.S_IMODE(mode))
            if _opaque(full):
                opaque.append(path)
            stack.append((path, listing(path)))
        elif stat.S_ISREG(mode):
            key = (info.st_dev, info.st_ino)
            if info.st_nlink > 1:
                linked.setdefault(key, []).append(len(entries))
            entries.append(path, EntryKind.FILE, info.st_size, stat.S_IMODE(mode))
            if keep(path) and info.st_size <= METADATA_CAP:
                try:
                    with open(full, "rb") as handle:
                        # As many bytes as the file holds (and one to see it grew): a read of the cap
                        # would give each small file a block of its own pages.
                        metadata[path] = handle.read(info.st_size + 1)
                except OSError as error:
                    warnings.append(f"cannot read {path}: {error.strerror}")
        elif stat.S_ISLNK(mode):
            entries.append(path, EntryKind.SYMLINK, 0, stat.S_IMODE(mode), os.readlink(full))
        else:
            kind = EntryKind.CHAR if stat.S_ISCHR(mode) else EntryKind.BLOCK if stat.S_ISBLK(mode) else EntryKind.FIFO
            entries.append(path, kind, 0, stat.S_IMODE(mode))
    # Of several paths of one inode, the first in tar order is the file; the others link to it.
    groups = [indexes for indexes in linked.values() if len(indexes) > 1]
    if groups and order is None and tar_split is not None:
        order = tar_order(tar_split)  # tens of thousands of JSON lines: read only when a hard link needs it
    elif groups and order is None and order_from is not None:
        order = order_from()
    rank = order or {}
    for indexes in groups:
        indexes.sort(key=lambda i: (rank.get(entries.paths[i], len(rank) + i), i))
        first = entries.paths[indexes[0]]
        for i in indexes[1:]:
            entries.set(i, FileEntry(entries.paths[i], EntryKind.HARDLINK, 0, entries.modes[i], first))
    return LayerContents(entries, tuple(whiteouts), tuple(opaque), metadata, tuple(warnings))
