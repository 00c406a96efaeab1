"""Each distribution's bytes per layer as the layers ship them, hidden copies included, and what is re-shipped.

`uvscope.analysis.packages.attribution` counts the final filesystem; this
counts every layer's entries, which the per-layer charts and the re-shipping
finding read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from ..image.links import layer_links, target_sizes
from ..image.model import EntryKind, Image, LayerContents


def shipped_per_layer(
    image: Image, owner_of: Callable[[str], tuple[str, str] | None]
) -> tuple[dict[tuple[str, str], dict[int, int]], dict[tuple[str, str], int]]:
    """Each distribution's bytes per layer, hidden copies included, and its re-shipped bytes.

    A file is re-shipped when a later layer writes a path a lower layer already shipped
    (overwritten in place, or deleted and written again as pip does). A hard-linked file's
    bytes count for the first of its paths (target, then links in tar order) that a
    distribution owns, whether visible or not: the layer shipped them. `attribute` ranks
    only the paths still visible, so for a file whose owned target a later layer deleted
    while a link it does not own still shows it, the two name different owners.
    """
    layer_bytes: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    reshipped: dict[tuple[str, str], int] = defaultdict(int)
    shipped: set[str] = set()
    for layer in image.layers:
        written = []
        has_links = False
        for entry in layer.contents.entries:
            if not entry.size:
                has_links = has_links or entry.kind is EntryKind.HARDLINK
                continue
            key = owner_of(entry.path)
            if key is None:
                continue
            layer_bytes[key][layer.index] += entry.size
            if entry.path in shipped:
                reshipped[key] += entry.size
            written.append(entry.path)
        if has_links:
            _move_linked_bytes(layer.contents, layer.index, owner_of, layer_bytes, reshipped, shipped, written)
        if layer is not image.layers[-1]:  # only later layers ask what was shipped
            shipped.update(written)
    return layer_bytes, reshipped


def _move_linked_bytes(
    contents: LayerContents,
    index: int,
    owner_of: Callable[[str], tuple[str, str] | None],
    layer_bytes: dict[tuple[str, str], dict[int, int]],
    reshipped: dict[tuple[str, str], int],
    shipped: set[str],
    written: list[str],
) -> None:
    """Give each hard-linked file of a layer to the first owned of its paths, when its target (which the
    per-entry pass counted) has no owner: the bytes are counted once either way."""
    links = layer_links(contents)
    sizes = target_sizes(contents, links)
    for target, paths in links.items():
        size = sizes.get(target, 0)
        if not size or owner_of(target) is not None:
            continue
        for path in paths:
            key = owner_of(path)
            if key is not None:
                layer_bytes[key][index] += size
                if path in shipped:
                    reshipped[key] += size
                written.append(path)
                break
