"""dive's efficiency score and wasted bytes, computed exactly as dive computes them.

Users compare uvscope with dive (`.dive-ci` gates are common), so these
numbers follow dive's algorithm (dive/filetree/efficiency.go), including its
quirks: only leaves of each layer's tree count, opaque-folder markers are
ignored, and a whiteout costs the size of the folder it removes but nothing
for a removed file. uvscope's own `reclaimable_bytes` is the exact figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .model import WHITEOUT_PREFIX, EntryKind, LayerContents, kind_code

_DIR = kind_code(EntryKind.DIR)


class _Node:
    """A node of dive's per-layer tree: raw names, whiteouts kept as `.wh.NAME` nodes."""

    __slots__ = ("children", "size", "is_dir")

    def __init__(self, size: int = 0, is_dir: bool = False) -> None:
        self.children: dict[str, _Node] = {}
        self.size = size
        self.is_dir = is_dir

    def copy(self) -> _Node:
        clone = _Node(self.size, self.is_dir)
        pending = [(self, clone)]
        while pending:  # iterative: image trees can be deeper than Python's recursion limit
            source, target = pending.pop()
            for name, child in source.children.items():
                copied = target.children[name] = _Node(child.size, child.is_dir)
                pending.append((child, copied))
        return clone

    def add(self, names: list[str], size: int, is_dir: bool) -> None:
        node = self
        for name in names:
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = _Node()
            node = child
        node.size, node.is_dir = size, is_dir

    def get(self, names: list[str]) -> _Node | None:
        node: _Node | None = self
        for name in names:
            node = node.children.get(name) if node is not None else None
        return node

    def remove(self, names: list[str]) -> None:
        parent = self.get(names[:-1])
        if parent is not None:
            parent.children.pop(names[-1], None)

    def subtree_size(self) -> int:
        total, pending = 0, [self]
        while pending:
            node = pending.pop()
            total += node.size
            pending.extend(node.children.values())
        return total


def _layer_tree(contents: LayerContents) -> _Node:
    root = _Node()
    for path in contents.opaque_dirs:
        # dive creates the marker's parent folders but drops the marker itself.
        if path and root.get(path.split("/")) is None:
            root.add(path.split("/"), 0, False)
    table = contents.entries
    for path, size, code in zip(table.paths, table.sizes, table.kinds):
        root.add(path.split("/"), size, code == _DIR)
    for path in contents.whiteouts:
        names = path.split("/")
        names[-1] = WHITEOUT_PREFIX + names[-1]
        if root.get(names) is None:
            root.add(names, 0, False)
    return root


def _visit_child_first(root: _Node):
    """Yield (names, node) depth-first, children before parents, in byte order like Go."""
    stack: list[tuple[_Node, list[str], Iterator[str]]] = [(root, [], iter(sorted(root.children)))]
    while stack:
        node, names, pending = stack[-1]
        name = next(pending, None)
        if name is None:
            stack.pop()
            if names:
                yield names, node
            continue
        child = node.children[name]
        stack.append((child, [*names, name], iter(sorted(child.children))))


def _stack(lower: _Node, upper: _Node) -> None:
    """dive's FileTree.Stack: whiteouts remove, everything else (re)sets its payload."""
    for names, node in _visit_child_first(upper):
        if names[-1].startswith(WHITEOUT_PREFIX):
            lower.remove(names[:-1] + [names[-1][len(WHITEOUT_PREFIX) :]])
        else:
            lower.add(names, node.size, node.is_dir)


@dataclass(frozen=True)
class DiveFigures:
    """dive's three headline numbers for an image."""

    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float


def _leaves_without_whiteouts(contents: LayerContents) -> Iterator[tuple[str, int]]:
    """The leaves of `_layer_tree(contents)` and their sizes, for a layer without whiteouts, without building the tree.

    Leaves are the paths no other path of the layer lies under; a path added
    twice keeps its last size, as `_Node.add` does. Without whiteouts the
    order of the visit cannot matter (only a dangling whiteout stops it).
    """
    sizes: dict[str, int] = {}
    for path in contents.opaque_dirs:
        if path:
            sizes.setdefault(path, 0)
    sizes.update(zip(contents.entries.paths, contents.entries.sizes))
    parents: set[str] = set()
    for path in sizes:
        parent = path.rpartition("/")[0]
        while parent and parent not in parents:
            parents.add(parent)
            parent = parent.rpartition("/")[0]
    # The entries' own path strings are the keys (no new string per leaf): ~10^5 leaves per layer.
    return ((path, size) for path, size in sizes.items() if path not in parents)


def _leaves_with_whiteouts(tree: _Node, stacked: _Node) -> list[tuple[str, int]]:
    """dive's visit of a layer's leaves, whiteouts sized against the layers below (`stacked`)."""
    leaves: list[tuple[str, int]] = []
    for names, node in _visit_child_first(tree):
        if node.children:
            continue
        leaf = names[-1]
        if leaf.startswith(WHITEOUT_PREFIX):
            lookup = names[:-1] + [leaf[len(WHITEOUT_PREFIX) :]]
            previous = stacked.get(lookup)
            if previous is None:
                break  # dive aborts the rest of this layer's visit on a dangling whiteout
            leaves.append(("/".join(lookup), previous.subtree_size() if previous.is_dir else 0))
        else:
            leaves.append(("/".join(names), node.size))
    return leaves


def dive_efficiency(layers: Sequence[LayerContents]) -> DiveFigures:
    """Compute dive's efficiency, wasted bytes and user wasted percent.

    dive stacks every layer's tree to size whiteouts against what lies below;
    only layers with whiteouts need that, so the trees are built and stacked
    lazily, up to the layer that needs them (most images need none).
    """
    if not layers:
        return DiveFigures(1.0, 0, 0.0)
    # dive keeps, per path, the sum and the minimum of its leaf sizes over the layers and how often it
    # was seen. Most paths are seen once: those keep only their size (`once`); a path seen again moves
    # to `again` ([sum, minimum]). The figures are the same; the memory is one dict entry per path.
    discovered = 0
    once: dict[str, int] = {}
    again: dict[str, list[int]] = {}
    stacked: _Node | None = None
    stacked_count = 0  # layers stacked onto `stacked` so far
    for index, layer in enumerate(layers):
        if layer.whiteouts:
            if stacked is None:
                # As dive: a copy of layer 0's tree, onto which layers 0..index-1 are then stacked.
                stacked = _layer_tree(layers[0])
            while stacked_count < index:
                _stack(stacked, _layer_tree(layers[stacked_count]))
                stacked_count += 1
            leaves: Iterable[tuple[str, int]] = _leaves_with_whiteouts(_layer_tree(layer), stacked)
        else:
            leaves = _leaves_without_whiteouts(layer)
        for path, size in leaves:
            discovered += size
            repeated = again.get(path)
            if repeated is not None:
                repeated[0] += size
                repeated[1] = min(repeated[1], size)
            elif path in once:
                first = once.pop(path)
                again[path] = [first + size, min(first, size)]
            else:
                once[path] = size
    smallest = sum(once.values()) + sum(minimum for _, minimum in again.values())
    efficiency = 1.0 if discovered == 0 else smallest / discovered
    wasted = sum(total for total, _ in again.values())
    user_size = sum(layer.size_bytes for layer in layers[1:])
    return DiveFigures(efficiency, wasted, wasted / user_size if user_size else 0.0)
