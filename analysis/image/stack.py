"""Stack layers into the final filesystem, as overlayfs would.

Whiteouts and opaque folders apply to the layers below only (OCI image spec),
so each layer first removes, then adds. Every copy that ends up invisible is
kept as a `HiddenCopy`, counted once, with the layer that hid it; a hard-linked
file whose target path is hidden while a link of its layer still shows it is
not invisible, so it is no hidden copy (`uvscope.analysis.image.links`).
"""

from __future__ import annotations

from collections.abc import Sequence

from .dive import dive_efficiency
from .links import linked_files
from .model import Change, EntryKind, HiddenCopy, Image, ImageMeta, Layer, LayerContents, VisibleFile


class FileSystem:
    """The visible filesystem while layers stack, with a child index for fast subtree removal."""

    def __init__(self) -> None:
        self.files: dict[str, VisibleFile] = {}
        self._children: dict[str, set[str]] = {}

    def _link(self, path: str) -> None:
        # Paths are normalised (no leading or trailing slash): rpartition is dirname, at a fraction of its cost.
        children = self._children
        parent = path.rpartition("/")[0]
        while True:
            kids = children.get(parent)
            if kids is None:
                kids = children[parent] = set()
            elif path in kids:
                return
            kids.add(path)
            if not parent:
                return
            path, parent = parent, parent.rpartition("/")[0]

    def add(self, path: str, visible: VisibleFile) -> None:
        """Make `visible` the entry at `path`."""
        self.files[path] = visible
        self._link(path)

    def remove_children(self, path: str) -> list[tuple[str, VisibleFile]]:
        """Remove everything below `path` (not `path` itself); return what was visible."""
        removed: list[tuple[str, VisibleFile]] = []
        stack = list(self._children.pop(path, ()))
        while stack:
            current = stack.pop()
            found = self.files.pop(current, None)
            if found is not None:
                removed.append((current, found))
            stack.extend(self._children.pop(current, ()))
        return removed

    def remove_tree(self, path: str) -> list[tuple[str, VisibleFile]]:
        """Remove `path` and everything below it; return what was visible."""
        removed = self.remove_children(path)
        found = self.files.pop(path, None)
        if found is not None:
            removed.append((path, found))
        siblings = self._children.get(path.rpartition("/")[0])
        if siblings is not None:
            siblings.discard(path)
        return removed


def _stack_layer(
    fs: FileSystem, index: int, contents: LayerContents, hidden: list[HiddenCopy]
) -> tuple[list[Change], list[Change], list[Change]]:
    added: list[Change] = []
    modified: list[Change] = []
    removed: list[Change] = []

    def hide(lost: list[tuple[str, VisibleFile]], reason: str) -> int:
        total = 0
        for path, visible in lost:
            total += visible.entry.size
            if visible.entry.size:
                hidden.append(HiddenCopy(path, visible.entry.size, visible.layer, index, reason))
        return total

    for folder in contents.opaque_dirs:
        lost = fs.remove_children(folder)
        if lost:
            removed.append(Change(folder + "/", hide(lost, "deleted"), True))
    for path in contents.whiteouts:
        lost = fs.remove_tree(path)
        if lost:
            is_folder = len(lost) > 1 or lost[0][1].entry.kind is EntryKind.DIR
            removed.append(Change(path, hide(lost, "deleted"), is_folder))
    for entry in contents.entries:
        previous = fs.files.get(entry.path)
        is_folder = entry.kind is EntryKind.DIR
        if previous is None:
            added.append(Change(entry.path, entry.size, is_folder))
        elif previous.entry.kind is EntryKind.DIR and is_folder:
            if previous.entry.mode != entry.mode:
                modified.append(Change(entry.path, 0, True))
        else:
            if previous.entry.kind is EntryKind.DIR:
                hide(fs.remove_children(entry.path), "overwritten")
            hide([(entry.path, previous)], "overwritten")
            modified.append(Change(entry.path, entry.size, is_folder))
        fs.add(entry.path, VisibleFile(entry, index))
    return added, modified, removed


def filesystem_at(image: Image, index: int) -> FileSystem:
    """The visible filesystem after layer `index` (everything up to it, stacked)."""
    fs = FileSystem()
    for layer in image.layers[: index + 1]:
        _stack_layer(fs, layer.index, layer.contents, [])
    return fs


def build_image(meta: ImageMeta, contents: Sequence[LayerContents]) -> Image:
    """Stack the read layers (in `meta.diff_ids` order) into an `Image`."""
    if len(contents) != len(meta.diff_ids):
        raise ValueError("one LayerContents per diff_id is needed")
    dive = dive_efficiency(contents)  # first: its working memory is freed before the stacking's own
    fs = FileSystem()
    hidden: list[HiddenCopy] = []
    layers: list[Layer] = []
    warnings: list[str] = []
    for index, (diff_id, layer) in enumerate(zip(meta.diff_ids, contents)):
        added, modified, removed = _stack_layer(fs, index, layer, hidden)
        created_by = meta.created_by[index] if index < len(meta.created_by) else ""
        layers.append(
            Layer(
                index=index,
                diff_id=diff_id,
                created_by=created_by,
                size_bytes=layer.size_bytes,
                file_count=layer.file_count,
                added=tuple(added),
                modified=tuple(modified),
                removed=tuple(removed),
                contents=layer,
            )
        )
        warnings.extend(f"layer {index}: {warning}" for warning in layer.warnings)
    linked = linked_files(contents, fs.files)
    # A hard-linked file whose target path a later layer hid is still seen through a link of its layer: not hidden.
    shown = {(item.layer, item.target) for item in linked if item.paths[0] != item.target}
    if shown:
        hidden = [copy for copy in hidden if (copy.layer, copy.path) not in shown]
    return Image(
        meta=meta,
        layers=tuple(layers),
        files=fs.files,
        hidden=tuple(hidden),
        efficiency=dive.efficiency,
        wasted_bytes=dive.wasted_bytes,
        user_wasted_percent=dive.user_wasted_percent,
        warnings=tuple(warnings),
        linked=tuple(linked),
    )
