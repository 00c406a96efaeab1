"""Package-manager caches left in an image: where they are, how large, and each tool's own fix."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .links import counted_sizes
from .model import Image

CACHE_MARKERS = (
    ".cache/uv/",
    ".cache/pip/",
    ".cache/pypoetry/",
    "var/cache/apt/archives/",
    "var/lib/apt/lists/",
)
"""Folders whose files never belong in an image: package-manager caches."""

CACHE_FIXES = {
    ".cache/uv/": "uv: `RUN --mount=type=cache,target=/root/.cache/uv uv sync ...` (or `uv sync --no-cache` / `ENV UV_NO_CACHE=1`)",
    ".cache/pip/": "pip: `pip install --no-cache-dir` (or `RUN --mount=type=cache,target=/root/.cache/pip`)",
    ".cache/pypoetry/": "poetry: `RUN --mount=type=cache,target=/root/.cache/pypoetry poetry install ...` (or `poetry install --no-cache`)",
    "var/cache/apt/archives/": "apt: `apt-get clean` in the same RUN as `apt-get install` "
    "(or `RUN --mount=type=cache,target=/var/cache/apt,sharing=locked`)",
    "var/lib/apt/lists/": "apt: `rm -rf /var/lib/apt/lists/*` in the same RUN as `apt-get update && apt-get install`",
}
"""The fix for each kind of cache: each cache gets its own tool's fix."""


def cache_fix(folder: str) -> str:
    """How to keep the cache at `folder` out of the image."""
    probe = "/" + folder.strip("/") + "/"
    return next((fix for marker, fix in CACHE_FIXES.items() if "/" + marker in probe), "a cache mount for that folder")


@dataclass(frozen=True)
class WasteItem:
    """Bytes that should not be in the image, and why."""

    label: str
    bytes: int
    detail: str = ""


def _cache_folder(path: str) -> str | None:
    """The cache folder `path` lies in (`/home/user/.cache/uv`), if any."""
    probe = "/" + path
    for marker in CACHE_MARKERS:
        index = probe.find("/" + marker)
        if index != -1:
            return probe[: index + len(marker)]
    return None


def cache_folders(image: Image, min_layer: int = 0) -> list[WasteItem]:
    """Package-manager caches left in the final filesystem, by folder, largest first (layers from `min_layer` up).

    A cache's bytes are those only the cache holds: what keeping the cache out of
    the image saves. A file hard-linked from the cache to a path outside every
    cache (uv's `UV_LINK_MODE=hardlink` install into site-packages) is stored once
    and stays without the cache, so it counts 0 here, whichever path the tar wrote first.
    """
    counted = counted_sizes(image.linked, lambda path: 1 if _cache_folder(path) is not None else 0)
    totals: dict[str, int] = defaultdict(int)
    layers: dict[str, set[int]] = defaultdict(set)
    for path, visible in image.files.items():
        if visible.layer < min_layer:
            continue
        folder = _cache_folder(path)
        if folder is not None:
            totals[folder] += counted.get(path, visible.entry.size) if counted else visible.entry.size
            layers[folder].add(visible.layer)
    return [
        WasteItem(folder, size, "layer " + ", ".join(str(i) for i in sorted(layers[folder])))
        for folder, size in sorted(totals.items(), key=lambda item: -item[1])
        if size
    ]
