"""The image model's per-path part, kept in columns: a layer's entries (`EntryTable`) and the final
filesystem (`VisibleFiles`), each handing out `FileEntry` and `VisibleFile` objects when asked and keeping none."""

from __future__ import annotations

from array import array
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass
from enum import StrEnum


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
