"""Package-manager caches left in an image: where they are, how large, and each tool's own fix."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

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


def cache_folders(image: Image, min_layer: int = 0) -> list[WasteItem]:
    """Package-manager caches left in the final filesystem, by folder, largest first (layers from `min_layer` up)."""
    totals: dict[str, int] = defaultdict(int)
    layers: dict[str, set[int]] = defaultdict(set)
    for path, visible in image.files.items():
        if visible.layer < min_layer:
            continue
        probe = "/" + path
        for marker in CACHE_MARKERS:
            index = probe.find("/" + marker)
            if index != -1:
                folder = probe[: index + len(marker)]
                totals[folder] += visible.entry.size
                layers[folder].add(visible.layer)
                break
    return [
        WasteItem(folder, size, "layer " + ", ".join(str(i) for i in sorted(layers[folder])))
        for folder, size in sorted(totals.items(), key=lambda item: -item[1])
        if size
    ]
