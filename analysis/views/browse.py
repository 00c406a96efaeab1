"""View models for the session: rows, trees and series the widgets render.

Pure functions over an `Image` and its `PythonAnalysis`; the widgets only
format what these return, so the views' logic is tested without a terminal.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field, replace

from ..image.caches import WasteItem, cache_fix, cache_folders  # noqa: F401  (the session's views use them from here)
from ..image.links import counted_sizes, linked_files
from ..image.model import EntryKind, Image
from ..image.stack import filesystem_at
from ..output.text import short_command  # noqa: F401  (the session's widgets and screens use it from here)
from ..packages.python import PythonAnalysis
from ..units import parse_size  # noqa: F401


@dataclass(frozen=True)
class PackageRow:
    """One row of the packages view."""

    key: tuple[str, str]
    name: str
    version: str
    environment: str
    installer: str
    bytes: int
    share: float
    """Share of the image's size."""
    layers: tuple[int, ...]
    lock_status: str
    groups: tuple[str, ...]
    closure_bytes: int | None
    exclusive_bytes: int | None
    reshipped_bytes: int

    @property
    def shared_bytes(self) -> int | None:
        """Closure bytes that other direct dependencies pull in too."""
        if self.closure_bytes is None or self.exclusive_bytes is None:
            return None
        return self.closure_bytes - self.exclusive_bytes


def package_rows(image: Image, python: PythonAnalysis) -> list[PackageRow]:
    """Every distribution as a row, largest first."""
    lock = python.lock
    total = image.size_bytes or 1
    rows = []
    for dist in python.attribution.distributions:
        status = lock.statuses.get(dist.key) if lock is not None else None
        closure = lock.closure_of(dist.name) if lock is not None else None
        rows.append(
            PackageRow(
                key=dist.key,
                name=dist.name,
                version=dist.version,
                environment=dist.environment,
                installer=dist.installer,
                bytes=dist.bytes,
                share=dist.bytes / total,
                layers=tuple(dist.layer_bytes),
                lock_status=status.status if status is not None else "no lock",
                groups=status.groups if status is not None else (),
                closure_bytes=closure.bytes if closure is not None else None,
                exclusive_bytes=closure.exclusive_bytes if closure is not None else None,
                reshipped_bytes=dist.reshipped_bytes,
            )
        )
    return sorted(rows, key=lambda row: (-row.bytes, row.name))


@dataclass(frozen=True)
class PackageFilter:
    """What the packages view shows: a name search and optional filters."""

    text: str = ""
    lock_status: str | None = None
    group: str | None = None
    environment: str | None = None
    min_bytes: int = 0
    layer: int | None = None
    """Only packages with bytes in this layer (or, with `up_to_layer`, in any layer up to it)."""
    up_to_layer: bool = False

    def apply(self, rows: list[PackageRow]) -> list[PackageRow]:
        needle = self.text.strip().lower()
        return [
            row
            for row in rows
            if (not needle or needle in row.name)
            and (self.lock_status is None or row.lock_status == self.lock_status)
            and (self.group is None or self.group in row.groups)
            and (self.environment is None or row.environment == self.environment)
            and row.bytes >= self.min_bytes
            and self._in_layer(row)
        ]

    def _in_layer(self, row: PackageRow) -> bool:
        if self.layer is None:
            return True
        if self.up_to_layer:
            return any(index <= self.layer for index in row.layers)
        return self.layer in row.layers


PACKAGE_SORT_KEYS = {
    "name": lambda row: row.name,
    "version": lambda row: row.version,
    "bytes": lambda row: row.bytes,
    "share": lambda row: row.share,
    "layers": lambda row: row.layers,
    "lock": lambda row: row.lock_status,
    "groups": lambda row: row.groups,
    "closure": lambda row: row.closure_bytes or 0,
    "exclusive": lambda row: row.exclusive_bytes or 0,
    "reshipped": lambda row: row.reshipped_bytes,
    "environment": lambda row: row.environment,
}


def sort_packages(rows: list[PackageRow], column: str, reverse: bool) -> list[PackageRow]:
    """Rows sorted by a column of the packages view."""
    return sorted(rows, key=PACKAGE_SORT_KEYS[column], reverse=reverse)


def layer_top_packages(python: PythonAnalysis | None, count: int = 3) -> dict[int, list[tuple[str, int]]]:
    """For each layer index, its largest packages by bytes shipped in it."""
    per_layer: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if python is None:
        return per_layer
    for dist in python.attribution.distributions:
        for index, size in dist.layer_bytes.items():
            per_layer[index].append((dist.name, size))
    return {index: sorted(items, key=lambda item: -item[1])[:count] for index, items in per_layer.items()}


@dataclass
class FileNode:
    """A node of the files view: a folder's size is the sum of what it shows."""

    name: str
    path: str
    size: int = 0
    mark: str = ""
    """`added`, `modified`, `removed` relative to the layers below, or `` (unchanged)."""
    owner: str = ""
    kind: EntryKind | None = None
    link: str = ""
    children: dict[str, FileNode] = field(default_factory=dict)

    def sorted_children(self) -> list[FileNode]:
        """Largest first, then by name."""
        return sorted(self.children.values(), key=lambda node: (-node.size, node.name))

    def count(self) -> int:
        """Nodes below this one (folders included)."""
        return sum(1 + child.count() for child in self.children.values())

    def file_count(self) -> int:
        """Files shown below this one: entries that are not folders (as a layer's `file_count`), removed paths left out."""
        own = 1 if self.kind is not None and self.kind is not EntryKind.DIR and self.mark != "removed" else 0
        return own + sum(child.file_count() for child in self.children.values())


MAX_DEPTH = 128
"""Folders shown below the root: a deeper path's remaining folders make one node (`d/d/…/leaf`), so the tree's
depth is bounded whatever the image holds (a name may nest 10,000 levels)."""


def _parts(path: str) -> list[str]:
    parts = path.split("/")
    if len(parts) > MAX_DEPTH:
        parts[MAX_DEPTH - 1 :] = ["/".join(parts[MAX_DEPTH - 1 :])]
    return parts


def _insert(root: FileNode, path: str, size: int, mark: str, owner: str, kind: EntryKind | None, link: str = "") -> None:
    node = root
    parts = _parts(path)
    for depth, part in enumerate(parts):
        child = node.children.get(part)
        if child is None:
            child = node.children[part] = FileNode(part, "/".join(parts[: depth + 1]))
        node = child
    node.mark, node.owner, node.kind, node.link = mark, owner, kind, link
    node.size = size


def _find(root: FileNode, path: str) -> FileNode | None:
    node: FileNode | None = root
    for part in _parts(path):
        node = node.children.get(part) if node is not None else None
        if node is None:
            return None
    return node


def _shown_size(children) -> int:
    """A folder's size: what its children ship (a removed path shows what it removed, but adds nothing)."""
    return sum(child.size for child in children if child.mark != "removed")


def _total(node: FileNode) -> int:
    if node.children:
        for child in node.children.values():
            _total(child)
        node.size = _shown_size(node.children.values())
        if node.mark == "" and any(child.mark for child in node.children.values()):
            node.mark = "modified" if node.kind is not None else ""
    return node.size


def layer_tree(image: Image, python: PythonAnalysis | None, index: int, cumulative: bool) -> FileNode:
    """The files of layer `index` alone, or of everything up to it, with change marks."""
    layer = image.layers[index]
    owners = python.attribution.owners if python is not None else {}
    added = {entry.path for entry in layer.added_entries()}
    modified = {change.path for change in layer.modified}
    root = FileNode("/", "")

    def owner(path: str) -> str:
        key = owners.get(path)
        return key[1] if key is not None else ""

    def mark(path: str) -> str:
        return "added" if path in added else "modified" if path in modified else ""

    if cumulative:
        files = filesystem_at(image, index).files
        # A hard-linked file counts on one of its visible paths (the target, else its first link: a later
        # layer may have deleted the target while the link still shows the bytes), 0 on the others.
        linked = linked_files([layer.contents for layer in image.layers[: index + 1]], files)
        counted = counted_sizes(linked, lambda path: 0) if linked else {}
        for path, visible in files.items():
            entry = visible.entry
            size = counted.get(path, entry.size)
            _insert(root, path, size, mark(path) if visible.layer == index else "", owner(path), entry.kind, entry.link)
    else:
        for entry in layer.contents.entries:
            _insert(root, entry.path, entry.size, mark(entry.path), owner(entry.path), entry.kind, entry.link)
    for change in layer.removed:
        path = change.path.rstrip("/")
        existing = _find(root, path)
        if existing is not None:  # removed and re-created by this layer (opaque folder): a change, not a removal
            existing.mark = existing.mark or "modified"
            continue
        _insert(root, path, change.size, "removed", "", None)
    _total(root)
    return root


def filter_tree(node: FileNode, text: str = "", min_bytes: int = 0) -> FileNode | None:
    """A copy of the tree keeping files whose path contains `text` and whose size is at least `min_bytes`."""
    needle = text.strip().lower()
    if not node.children:
        keep = (not needle or needle in node.path.lower()) and node.size >= min_bytes
        return replace(node, children={}) if keep else None
    children = {}
    for name, child in node.children.items():
        kept = filter_tree(child, text, min_bytes)
        if kept is not None:
            children[name] = kept
    if not children and node.path:
        if node.kind is EntryKind.DIR and (not needle or needle in node.path.lower()) and min_bytes == 0:
            return replace(node, children={})
        return None
    copy = replace(node, children=children)
    copy.size = _shown_size(children.values())
    return copy


def waste_by_package(image: Image, python: PythonAnalysis | None) -> list[WasteItem]:
    """Hidden (overwritten or deleted) bytes grouped by the package that owns the path."""
    owners = python.attribution.owners if python is not None else {}
    totals: dict[str, int] = defaultdict(int)
    for copy in image.hidden:
        key = owners.get(copy.path)
        totals[key[1] if key else "(no package)"] += copy.size
    return [WasteItem(name, size) for name, size in sorted(totals.items(), key=lambda item: -item[1])]


def stacked_layer_series(image: Image, python: PythonAnalysis | None, top: int = 5) -> tuple[list[str], dict[str, list[int]]]:
    """Per-layer bytes split into the image's `top` largest packages and the rest, for a stacked bar chart."""
    labels = [str(layer.index) for layer in image.layers]
    series: dict[str, list[int]] = {}
    dists = list(python.attribution.distributions[:top]) if python is not None else []
    for dist in dists:
        series[dist.name] = [dist.layer_bytes.get(layer.index, 0) for layer in image.layers]
    series["other"] = [max(0, layer.size_bytes - sum(values[layer.index] for values in series.values())) for layer in image.layers]
    return labels, series


def environment_label(site_dir: str) -> str:
    """`/app/.venv/lib/python3.11/site-packages` -> `/app/.venv`; other layouts unchanged."""
    head, sep, _ = site_dir.rpartition("/lib/python")
    if sep and head:
        return head
    return site_dir.removesuffix("/site-packages").removesuffix("/dist-packages") or site_dir


def status_line(image: Image, python: PythonAnalysis) -> str:
    """The session's one-line summary of a read image (the same figures as the report's `image`)."""
    from ..output.text import count, percent, size

    return (
        f"{size(image.size_bytes)} in {count(len(image.layers), 'layer')}, "
        f"{count(len(python.attribution.distributions), 'package')}; efficiency {percent(image.efficiency)}, "
        f"reclaimable {size(image.reclaimable_bytes)}"
    )


@dataclass(frozen=True)
class LayerDetail:
    """What the Layers view shows under the table for the highlighted layer (as dive's layer details)."""

    index: int
    command: str
    """The whole history command, builder noise and all, as the image has it."""
    size_bytes: int | None
    """None while only the metadata is known."""
    file_count: int | None
    added: tuple[int, int] = (0, 0)
    """(files, bytes) added; folders are not counted as files."""
    modified: tuple[int, int] = (0, 0)
    removed: tuple[int, int] = (0, 0)
    packages: tuple[tuple[str, str, int], ...] = ()
    """(name, version, bytes in this layer) of the packages this layer ships, largest first."""
    largest: tuple[tuple[str, str, int], ...] = ()
    """(`added`/`modified`/`removed`, path, bytes) of the layer's largest file changes, largest first."""


LARGEST_CHANGES = 10
"""File changes a layer's details list by size."""


def layer_detail(meta_commands: tuple[str, ...], index: int, image: Image | None, python: PythonAnalysis | None) -> LayerDetail:
    """The highlighted layer's command, change counts and packages (counts and packages once the image is read)."""
    command = meta_commands[index] if 0 <= index < len(meta_commands) else ""
    layer = next((layer for layer in image.layers if layer.index == index), None) if image is not None else None
    if layer is None:
        return LayerDetail(index, command, None, None)

    def tally(changes) -> tuple[int, int]:
        files = total = 0
        for change in changes:  # one pass: a layer's added paths come one at a time
            files += not change.folder
            total += change.size
        return files, total

    packages = []
    if python is not None:
        for dist in python.attribution.distributions:
            if index in dist.layer_bytes:
                packages.append((dist.name, dist.version, dist.layer_bytes[index]))
    packages.sort(key=lambda item: (-item[2], item[0]))
    changes = (
        (kind, change.path, change.size)
        for kind, group in (("added", layer.added_changes()), ("modified", layer.modified), ("removed", layer.removed))
        for change in group
        if not change.folder
    )
    largest = heapq.nsmallest(LARGEST_CHANGES, changes, key=lambda item: (-item[2], item[1]))
    return LayerDetail(
        index,
        layer.created_by or command,
        layer.size_bytes,
        layer.file_count,
        tally(layer.added_changes()),
        tally(layer.modified),
        tally(layer.removed),
        tuple(packages),
        tuple(largest),
    )
