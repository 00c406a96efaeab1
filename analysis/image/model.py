"""The image model: what a layer holds and what the stacked image looks like.

Every class here is a frozen dataclass built by the readers and by
`uvscope.analysis.image.stack`; views and reports only read them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .tables import EntryKind as EntryKind
from .tables import EntryTable, VisibleFile
from .tables import FileEntry as FileEntry
from .tables import VisibleFiles as VisibleFiles
from .tables import kind_code as kind_code

_DIR_CODE = kind_code(EntryKind.DIR)

WHITEOUT_PREFIX = ".wh."
"""A layer marks a deleted path with a file of this prefix (`.wh..wh..opq` makes a folder opaque)."""


@dataclass(frozen=True)
class LayerContents:
    """Everything read from one layer blob, before stacking.

    Independent of the layers around it, so it can be cached by `diff_id`
    and read in any order (the engine's export stream is not in stack order).
    """

    entries: EntryTable
    """The layer's entries (a sequence of `FileEntry` given here becomes an `EntryTable`)."""
    whiteouts: tuple[str, ...] = ()
    """Paths that `.wh.NAME` entries remove from the layers below."""
    opaque_dirs: tuple[str, ...] = ()
    """Folders whose lower contents `.wh..wh..opq` hides."""
    metadata: dict[str, bytes] = field(default_factory=dict)
    """Small files kept for later analysis (dist-info, pyvenv.cfg, uv.lock...)."""
    warnings: tuple[str, ...] = ()
    blob_bytes: int = 0
    """Bytes of the blob (compressed or not) that were read."""
    blob_digest: str = field(default="", compare=False)
    """`sha256:` of the blob's bytes as read, when the reader was asked to hash (not cached)."""
    tar_digest: str = field(default="", compare=False)
    """`sha256:` of the uncompressed tar (what a `diff_id` names), when hashed (not cached)."""

    def __post_init__(self) -> None:
        if not isinstance(self.entries, EntryTable):
            object.__setattr__(self, "entries", EntryTable(self.entries))

    @property
    def size_bytes(self) -> int:
        """Sum of the entries' content sizes: docker's and dive's layer size."""
        return sum(self.entries.sizes)

    @property
    def file_count(self) -> int:
        """Files: entries that are not folders (regular files, links, devices).

        The one definition of "files" everywhere: an *entry* is any member of
        the layer tar, folders included; a *file* is an entry that is not a folder.
        """
        return len(self.entries) - self.entries.kinds.count(_DIR_CODE)

    @property
    def entry_count(self) -> int:
        """Entries of the layer tar, folders included (whiteouts are not entries)."""
        return len(self.entries)


@dataclass(frozen=True)
class LayerRef:
    """A layer as the image's manifest and config name it, before it is read."""

    index: int
    diff_id: str
    blob: str
    """Where the blob lives in its store (archive member or layout path)."""
    created_by: str = ""
    compressed_size: int | None = None


@dataclass(frozen=True)
class ImageMeta:
    """What is known of an image from its metadata alone (no layer read)."""

    ref: str
    id: str
    diff_ids: tuple[str, ...]
    created_by: tuple[str, ...]
    """The `created_by` of each layer's history entry, aligned with `diff_ids`."""
    config: dict
    created: str = ""
    platform: str = ""
    repo_tags: tuple[str, ...] = ()
    layer_sizes: tuple[int | None, ...] = ()
    """Approximate per-layer sizes known from metadata alone (the engine's history, blob sizes),
    for a first paint before any layer is read; None where unknown."""


@dataclass(frozen=True, slots=True)
class Change:
    """One path a layer adds, modifies or removes relative to the layers below."""

    path: str
    size: int
    """Bytes of the new entry (added/modified) or of the removed entries (removed)."""
    folder: bool = False
    """The new entry is a folder (added/modified), or a folder's contents were removed."""

    def __reduce__(self):
        # Pickling a frozen slotted dataclass goes through a generic, slow __setstate__; the
        # cached analysis holds ~100k of these, so rebuild them through the constructor instead.
        return (Change, (self.path, self.size, self.folder))


@dataclass(frozen=True, slots=True)
class HiddenCopy:
    """Bytes that ship in a layer but are invisible in the final filesystem."""

    path: str
    size: int
    layer: int
    """Index of the layer that ships the hidden copy."""
    hidden_by: int
    """Index of the layer whose change hid it (its command is responsible)."""
    reason: str
    """`overwritten` or `deleted`."""

    def __reduce__(self):
        # Pickling a frozen slotted dataclass goes through a generic, slow __setstate__; the
        # cached analysis holds ~100k of these, so rebuild them through the constructor instead.
        return (HiddenCopy, (self.path, self.size, self.layer, self.hidden_by, self.reason))


@dataclass(frozen=True)
class Layer:
    """A filesystem layer of a stacked image, with its changes."""

    index: int
    diff_id: str
    created_by: str
    size_bytes: int
    file_count: int
    """Files (entries that are not folders), see `LayerContents.file_count`."""
    modified: tuple[Change, ...]
    removed: tuple[Change, ...]
    contents: LayerContents = field(repr=False, compare=False)
    not_added: Sequence[int] = field(default=(), compare=False)
    """Positions in `contents.entries` of the entries that add no path (they modify one, or repeat a folder).

    Every other entry adds its path: `added` is derived from them, not kept (one `Change` per
    new path would be the largest part of the model after the entries themselves)."""

    def added_entries(self) -> Iterator[FileEntry]:
        """The entries that add a path the layers below did not have, in tar order."""
        if not self.not_added:
            yield from self.contents.entries
            return
        skip = set(self.not_added)
        for position, entry in enumerate(self.contents.entries):
            if position not in skip:
                yield entry

    def added_changes(self) -> Iterator[Change]:
        """`added`, one `Change` at a time (nothing kept)."""
        return (Change(entry.path, entry.size, entry.kind is EntryKind.DIR) for entry in self.added_entries())

    @property
    def added(self) -> tuple[Change, ...]:
        """The paths this layer adds, built on each call from `added_entries`."""
        return tuple(self.added_changes())


@dataclass(frozen=True, slots=True)
class LinkedFile:
    """One file of a layer stored once under several paths, as the final filesystem still shows it."""

    layer: int
    target: str
    """The path the tar wrote first (the entry holding the bytes), visible or not."""
    size: int
    """Bytes of the file, stored once in `layer`."""
    paths: tuple[str, ...]
    """Its paths the final filesystem still shows from `layer`: the target (if visible) first, then the links in tar order."""


@dataclass(frozen=True)
class Image:
    """A fully read image: its layers, final filesystem and waste."""

    meta: ImageMeta
    layers: tuple[Layer, ...]
    files: Mapping[str, VisibleFile] = field(repr=False)
    """The final filesystem, path -> entry and the layer it comes from."""
    hidden: tuple[HiddenCopy, ...]
    efficiency: float
    """dive's efficiency score, computed exactly as dive does."""
    wasted_bytes: int
    """dive's wasted bytes."""
    user_wasted_percent: float
    """dive's wasted bytes over all layers but the first."""
    warnings: tuple[str, ...] = ()
    linked: tuple[LinkedFile, ...] = ()
    """Files stored once under several visible paths (tar hard links), see `uvscope.analysis.image.links`."""

    @property
    def size_bytes(self) -> int:
        """Sum of the layer sizes, as docker and dive report the image size."""
        return sum(layer.size_bytes for layer in self.layers)

    @property
    def reclaimable_bytes(self) -> int:
        """Bytes shipped but invisible: each hidden or deleted copy counted once.

        A hard-linked file whose first path is hidden but which a link of the same
        layer still shows is not hidden (`uvscope.analysis.image.links`)."""
        return sum(copy.size for copy in self.hidden)

    def reclaimable_by_layer(self) -> list[tuple[int, int]]:
        """(layer, bytes) of the reclaimable bytes by the layer whose change hid them, largest first."""
        by_layer: dict[int, int] = {}
        for copy in self.hidden:
            by_layer[copy.hidden_by] = by_layer.get(copy.hidden_by, 0) + copy.size
        return sorted(by_layer.items(), key=lambda item: item[1], reverse=True)


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def created_order(created: str) -> tuple[int, datetime | str]:
    """A sort key for images' `created` times: as instants (`…:00Z` before `…:00.5Z`, offsets applied),
    and after them, by their text, the times that do not parse."""
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", created, count=1))
    except ValueError:
        return (1, created)
    return (0, moment if moment.tzinfo else moment.replace(tzinfo=UTC))
