"""The image model: what a layer holds and what the stacked image looks like.

Every class here is a frozen dataclass built by the readers and by
`uvscope.analysis.image.stack`; views and reports only read them.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

WHITEOUT_PREFIX = ".wh."
"""A layer marks a deleted path with a file of this prefix (`.wh..wh..opq` makes a folder opaque)."""


class EntryKind(StrEnum):
    """What a tar entry of a layer is."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One entry of a layer tar (whiteouts are kept apart, see `LayerContents`)."""

    path: str
    """Normalised path without a leading slash, e.g. `app/.venv/pyvenv.cfg`."""
    kind: EntryKind
    size: int
    """Bytes of content stored in the layer (0 for links and folders)."""
    mode: int = 0o644
    link: str = ""
    """Target of a symlink or hard link, as written in the tar."""

    def __reduce__(self):
        # Pickling a frozen slotted dataclass goes through a generic, slow __setstate__; the
        # cached analysis holds ~100k of these, so rebuild them through the constructor instead.
        return (FileEntry, (self.path, self.kind, self.size, self.mode, self.link))


_KINDS = tuple(EntryKind)
_KIND_CODE = {kind: code for code, kind in enumerate(_KINDS)}
_DIR_CODE = _KIND_CODE[EntryKind.DIR]


def kind_code(kind: EntryKind) -> int:
    """The byte `EntryTable.kinds` holds for `kind`."""
    return _KIND_CODE[kind]


class EntryTable(Sequence[FileEntry]):
    """A layer's entries in tar order, one column per field: a path string and about 13 bytes per entry.

    A `FileEntry` is made when one is asked for and not kept: an image of 200k paths would
    otherwise hold 200k entries and their size ints for as long as it lives. Readers `append`;
    the hot passes (stacking, dive's figures, sizes) read the columns.
    """

    __slots__ = ("paths", "kinds", "sizes", "modes", "links")

    def __init__(self, entries: Iterable[FileEntry] = ()) -> None:
        self.paths: list[str] = []
        self.kinds = bytearray()
        self.sizes = array("q")
        self.modes = array("I")
        self.links: dict[int, str] = {}
        """Position -> target, for the symlinks and hard links (the only entries with one)."""
        for entry in entries:
            self.append(entry.path, entry.kind, entry.size, entry.mode, entry.link)

    def append(self, path: str, kind: EntryKind, size: int, mode: int = 0o644, link: str = "") -> None:
        if link:
            self.links[len(self.paths)] = link
        self.paths.append(path)
        self.kinds.append(_KIND_CODE[kind])
        self.sizes.append(size)
        self.modes.append(mode)

    def kind(self, position: int) -> EntryKind:
        return _KINDS[self.kinds[position]]

    def is_dir(self, position: int) -> bool:
        return self.kinds[position] == _DIR_CODE

    def entry(self, position: int) -> FileEntry:
        """The entry at `position` (a new object each time)."""
        return FileEntry(
            self.paths[position], _KINDS[self.kinds[position]], self.sizes[position], self.modes[position], self.links.get(position, "")
        )

    def set(self, position: int, entry: FileEntry) -> None:
        """Replace the entry at `position` (a reader turning a later path of one inode into a hard link)."""
        self.paths[position] = entry.path
        self.kinds[position] = _KIND_CODE[entry.kind]
        self.sizes[position] = entry.size
        self.modes[position] = entry.mode
        if entry.link:
            self.links[position] = entry.link
        else:
            self.links.pop(position, None)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            return [self.entry(i) for i in range(*position.indices(len(self.paths)))]
        if position < 0:
            position += len(self.paths)
        if not 0 <= position < len(self.paths):
            raise IndexError(position)
        return self.entry(position)

    def __iter__(self) -> Iterator[FileEntry]:
        links = self.links
        for position, (path, code, size, mode) in enumerate(zip(self.paths, self.kinds, self.sizes, self.modes)):
            yield FileEntry(path, _KINDS[code], size, mode, links.get(position, "") if links else "")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EntryTable):
            return (self.paths, self.kinds, self.sizes, self.modes, self.links) == (
                other.paths,
                other.kinds,
                other.sizes,
                other.modes,
                other.links,
            )
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EntryTable({list(self)!r})"

    def __reduce__(self):
        return (_restore_table, (self.paths, bytes(self.kinds), self.sizes, self.modes, self.links))


def _restore_table(paths: list[str], kinds: bytes, sizes: array, modes: array, links: dict[int, str]) -> EntryTable:
    table = EntryTable()
    table.paths, table.kinds, table.sizes, table.modes, table.links = paths, bytearray(kinds), sizes, modes, links
    return table


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
class VisibleFile:
    """A path of the final filesystem and the layer that provides it."""

    entry: FileEntry
    layer: int

    def __reduce__(self):
        # Pickling a frozen slotted dataclass goes through a generic, slow __setstate__; the
        # cached analysis holds ~100k of these, so rebuild them through the constructor instead.
        return (VisibleFile, (self.entry, self.layer))


class VisibleFiles(Mapping[str, VisibleFile]):
    """The final filesystem: path -> its entry and the layer it comes from, kept as one int per path.

    The int is `position * layers + layer` (`position` in that layer's `EntryTable`); a
    `VisibleFile` is made when one is asked for and not kept.
    """

    __slots__ = ("codes", "tables", "layers")

    def __init__(self, codes: dict[str, int], tables: Sequence[EntryTable], layers: int) -> None:
        self.codes = codes
        """Path -> `position * layers + layer`."""
        self.tables = tables
        """The layers' entries, by layer index."""
        self.layers = max(1, layers)

    def visible(self, code: int) -> VisibleFile:
        """The entry and layer a code stands for."""
        position, layer = divmod(code, self.layers)
        return VisibleFile(self.tables[layer].entry(position), layer)

    def layer_of(self, path: str) -> int | None:
        """The layer `path` is visible from (None: not visible), without making its entry."""
        code = self.codes.get(path)
        return None if code is None else code % self.layers

    def __getitem__(self, path: str) -> VisibleFile:
        return self.visible(self.codes[path])

    def get(self, path: str, default=None):  # type: ignore[override]
        code = self.codes.get(path)
        return default if code is None else self.visible(code)

    def __contains__(self, path: object) -> bool:
        return path in self.codes

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    def items(self):  # type: ignore[override]
        return _VisibleItems(self)

    def values(self):  # type: ignore[override]
        return _VisibleValues(self)

    def __reduce__(self):
        return (VisibleFiles, (self.codes, self.tables, self.layers))


class _VisibleItems(ItemsView):
    def __iter__(self):
        files: VisibleFiles = self._mapping  # type: ignore[assignment]
        visible = files.visible
        for path, code in files.codes.items():
            yield path, visible(code)


class _VisibleValues(ValuesView):
    def __iter__(self):
        files: VisibleFiles = self._mapping  # type: ignore[assignment]
        return map(files.visible, files.codes.values())


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
