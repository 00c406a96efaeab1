"""Stack layers into the final filesystem, as overlayfs would.

Whiteouts and opaque folders apply to the layers below only (OCI image spec),
so each layer first removes, then adds. Every copy that ends up invisible is
kept as a `HiddenCopy`, counted once, with the layer that hid it; a hard-linked
file whose target path is hidden while a link of its layer still shows it is
not invisible, so it is no hidden copy (`uvscope.analysis.image.links`).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from .dive import dive_efficiency
from .links import linked_files
from .model import Change, EntryKind, EntryTable, HiddenCopy, Image, ImageMeta, Layer, LayerContents, VisibleFiles, kind_code

_DIR = kind_code(EntryKind.DIR)


class FileSystem:
    """The visible filesystem while layers stack: path -> one int naming its layer and entry, nothing else per path.

    There is no child index: a layer that removes folders (whiteouts, opaque folders, a folder
    replaced by a file) pays one pass over the visible paths, and every other layer nothing.
    """

    def __init__(self, layers: int) -> None:
        self.codes: dict[str, int] = {}
        """Path -> `position * layers + layer` (`VisibleFiles`)."""
        self.tables: list[EntryTable] = []
        """The entries of the layers stacked so far, by index."""
        self.layers = max(1, layers)

    @property
    def files(self) -> VisibleFiles:
        """The visible paths, each with its entry and layer."""
        return VisibleFiles(self.codes, self.tables, self.layers)

    def size_of(self, code: int) -> int:
        position, layer = divmod(code, self.layers)
        return self.tables[layer].sizes[position]

    def is_dir(self, code: int) -> bool:
        position, layer = divmod(code, self.layers)
        return self.tables[layer].is_dir(position)

    def remove_below(
        self, children_of: Sequence[str], trees: Sequence[str], more_children_of: Sequence[str] = ()
    ) -> tuple[list[list[tuple[str, int]]], list[list[tuple[str, int]]], list[tuple[str, int]]]:
        """Remove, in one pass, what is below each of `children_of`, then each of `trees` (the path and
        what is below it), then below each of `more_children_of`; what was visible (path, code), for each in order.

        A path under several goes to the first, as removing them one after the other would.
        """
        first_children = {folder: rank for rank, folder in reversed(list(enumerate(children_of)))}
        first_tree = {path: rank for rank, path in reversed(list(enumerate(trees)))}
        later = set(more_children_of)
        lost_children: list[list[tuple[str, int]]] = [[] for _ in children_of]
        lost_trees: list[list[tuple[str, int]]] = [[] for _ in trees]
        lost_later: list[tuple[str, int]] = []
        everything = "" in first_children or "" in later
        prefixes = tuple(root + "/" for root in (*children_of, *trees, *more_children_of) if root)
        exact = first_tree.keys()
        gone: list[str] = []
        for path, code in self.codes.items():
            if not everything and not path.startswith(prefixes) and path not in exact:
                continue  # most paths: one C-level prefix test
            child_rank, tree_rank = None, first_tree.get(path)
            below_later = False
            parent = path
            while parent:
                parent = parent.rpartition("/")[0]
                rank = first_children.get(parent)
                if rank is not None and (child_rank is None or rank < child_rank):
                    child_rank = rank
                rank = first_tree.get(parent)
                if rank is not None and (tree_rank is None or rank < tree_rank):
                    tree_rank = rank
                below_later = below_later or parent in later
            if child_rank is not None:
                lost_children[child_rank].append((path, code))
            elif tree_rank is not None:
                lost_trees[tree_rank].append((path, code))
            elif below_later:
                lost_later.append((path, code))
            else:
                continue
            gone.append(path)
        for path in gone:
            del self.codes[path]
        return lost_children, lost_trees, lost_later


def _stack_layer(
    fs: FileSystem, index: int, contents: LayerContents, hidden: list[HiddenCopy]
) -> tuple[list[int], list[Change], list[Change]]:
    """Stack one layer; (the positions of its entries that added no path, modified, removed)."""
    not_added: list[int] = []
    modified: list[Change] = []
    removed: list[Change] = []
    layers = fs.layers

    def hide(lost: list[tuple[str, int]], reason: str) -> int:
        total = 0
        for path, code in lost:
            size = fs.size_of(code)
            total += size
            if size:
                hidden.append(HiddenCopy(path, size, code % layers, index, reason))
        return total

    codes = fs.codes
    if contents.opaque_dirs or contents.whiteouts:
        lost_children, lost_trees, _ = fs.remove_below(contents.opaque_dirs, contents.whiteouts)
        for folder, lost in zip(contents.opaque_dirs, lost_children):
            if lost:
                removed.append(Change(folder + "/", hide(lost, "deleted"), True))
        for path, lost in zip(contents.whiteouts, lost_trees):
            if lost:
                is_folder = len(lost) > 1 or fs.is_dir(lost[0][1])
                removed.append(Change(path, hide(lost, "deleted"), is_folder))
    table = contents.entries
    while len(fs.tables) <= index:
        fs.tables.append(EntryTable())
    fs.tables[index] = table
    replaced: list[str] = []
    for position, (path, kind, size, mode) in enumerate(zip(table.paths, table.kinds, table.sizes, table.modes)):
        previous = codes.get(path)
        if previous is not None:
            is_folder = kind == _DIR
            was_folder = fs.is_dir(previous)
            not_added.append(position)
            if was_folder and is_folder:
                below, below_layer = divmod(previous, layers)
                if fs.tables[below_layer].modes[below] != mode:
                    modified.append(Change(path, 0, True))
            else:
                if was_folder:
                    replaced.append(path)
                hide([(path, previous)], "overwritten")
                modified.append(Change(path, size, is_folder))
        codes[path] = position * layers + index
    if replaced:
        # A file (or link) in place of a folder hides what the folder held, from the layers below or
        # from this one (a tar that writes into a folder, then a file in its place): one pass at the end.
        hide(fs.remove_below((), (), replaced)[2], "overwritten")
    return not_added, modified, removed


def filesystem_at(image: Image, index: int) -> FileSystem:
    """The visible filesystem after layer `index` (everything up to it, stacked)."""
    fs = FileSystem(len(image.layers))
    for layer in image.layers[: index + 1]:
        _stack_layer(fs, layer.index, layer.contents, [])
    return fs


def build_image(meta: ImageMeta, contents: Sequence[LayerContents]) -> Image:
    """Stack the read layers (in `meta.diff_ids` order) into an `Image`."""
    if len(contents) != len(meta.diff_ids):
        raise ValueError("one LayerContents per diff_id is needed")
    dive = dive_efficiency(contents)  # first: its working memory is freed before the stacking's own
    fs = FileSystem(len(contents))
    hidden: list[HiddenCopy] = []
    layers: list[Layer] = []
    warnings: list[str] = []
    for index, (diff_id, layer) in enumerate(zip(meta.diff_ids, contents)):
        not_added, modified, removed = _stack_layer(fs, index, layer, hidden)
        created_by = meta.created_by[index] if index < len(meta.created_by) else ""
        layers.append(
            Layer(
                index=index,
                diff_id=diff_id,
                created_by=created_by,
                size_bytes=layer.size_bytes,
                file_count=layer.file_count,
                not_added=array("I", not_added),
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
