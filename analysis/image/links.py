"""Hard links: which paths of the final filesystem share one stored file.

A layer tar stores a file's bytes once. The first of its paths that the tar
writes is a regular entry holding the bytes; every other path is a hard-link
entry of 0 bytes whose `link` names that first path (uv installing with
`UV_LINK_MODE=hardlink` from a cache left in the same layer writes the
cache's path first and the site-packages path as the link). Which path holds
the bytes is an accident of tar order, so the readers of this module decide
who the bytes count for and give the other paths 0: the bytes stay counted
once, and sums stay exact.

A tar hard link can only name a path of the same tar (the engines' tar
writers link to the first path of the inode in that layer, and OCI layers
never link into a lower one), so a linked file is a target and its links,
all of one layer. A link to a path its layer does not hold stores no bytes
and is left at 0. A link stays the file when its target is deleted
(whiteout) or overwritten by a later layer: the bytes are still in the
image, seen through the link.

Memory: only hard-link entries are indexed (they are rare); a layer without
them costs one pass over its entries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .model import EntryKind, LayerContents, LinkedFile, VisibleFile, kind_code

_HARDLINK = kind_code(EntryKind.HARDLINK)
_FILE = kind_code(EntryKind.FILE)


def layer_links(contents: LayerContents) -> dict[str, list[str]]:
    """Target path -> paths of the hard-link entries naming it, in tar order (empty for most layers)."""
    links: dict[str, list[str]] = {}
    table = contents.entries
    for position in sorted(table.links):
        if table.kinds[position] == _HARDLINK:
            links.setdefault(table.links[position], []).append(table.paths[position])
    return links


def target_sizes(contents: LayerContents, links: dict[str, list[str]]) -> dict[str, int]:
    """Bytes of each target of `links` (from `layer_links`): its regular entry's size in the layer, else 0."""
    table = contents.entries
    return {path: size for path, code, size in zip(table.paths, table.kinds, table.sizes) if code == _FILE and path in links}


def linked_files(layers: Sequence[LayerContents], files: Mapping[str, VisibleFile]) -> list[LinkedFile]:
    """The hard-linked files of which at least one path is visible in `files`, the final filesystem."""
    found: list[LinkedFile] = []
    for index, contents in enumerate(layers):
        links = layer_links(contents)
        if not links:
            continue
        sizes = target_sizes(contents, links)
        for target, paths in links.items():
            shown = files.get(target)
            visible = [target] if shown is not None and shown.layer == index and shown.entry.kind is EntryKind.FILE else []
            for path in paths:
                link = files.get(path)
                if link is not None and link.layer == index and link.entry.kind is EntryKind.HARDLINK and link.entry.link == target:
                    visible.append(path)
            if visible:
                found.append(LinkedFile(index, target, sizes.get(target, 0), tuple(visible)))
    return found


def counted_sizes(linked: Sequence[LinkedFile], rank: Callable[[str], int]) -> dict[str, int]:
    """Visible path -> the bytes it counts, for the paths of `linked`: each file's size on one of its paths, 0 on the others.

    The bytes go to the path `rank` ranks lowest, the first in `LinkedFile.paths` order among equals.
    """
    counted: dict[str, int] = {}
    for item in linked:
        holder = min(item.paths, key=rank)  # min keeps the first of equal ranks
        for path in item.paths:
            counted[path] = item.size if path == holder else 0
    return counted
