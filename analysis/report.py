"""The `uvscope.report/1` document: an image's analysis as plain data.

Key names are stable: later versions add keys, never rename them. All sizes
are in bytes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .model import Change, Image

SCHEMA = "uvscope.report/1"
TOP_PATHS = 50


def _changes(changes: tuple[Change, ...]) -> dict[str, Any]:
    largest = sorted(changes, key=lambda change: change.size, reverse=True)[:10]
    return {
        "count": len(changes),
        "bytes": sum(change.size for change in changes),
        "largest": [{"path": "/" + change.path, "bytes": change.size} for change in largest],
    }


def reclaimable_summary(image: Image) -> dict[str, Any]:
    """Reclaimable bytes explained by path and by the layer whose command hid them."""
    by_layer: dict[int, int] = defaultdict(int)
    for copy in image.hidden:
        by_layer[copy.hidden_by] += copy.size
    largest = sorted(image.hidden, key=lambda copy: copy.size, reverse=True)[:TOP_PATHS]
    return {
        "bytes": image.reclaimable_bytes,
        "copies": len(image.hidden),
        "by_layer": [
            {"layer": index, "created_by": image.layers[index].created_by, "bytes": size}
            for index, size in sorted(by_layer.items(), key=lambda item: item[1], reverse=True)
        ],
        "paths": [
            {"path": "/" + copy.path, "bytes": copy.size, "layer": copy.layer, "hidden_by": copy.hidden_by, "reason": copy.reason}
            for copy in largest
        ],
    }


def build_report(image: Image, *, version: str = "") -> dict[str, Any]:
    """The JSON-ready report of `image`."""
    meta = image.meta
    return {
        "schema": SCHEMA,
        "generator": {"name": "uvscope", "version": version},
        "image": {
            "ref": meta.ref,
            "id": meta.id,
            "created": meta.created,
            "platform": meta.platform,
            "repo_tags": list(meta.repo_tags),
            "size_bytes": image.size_bytes,
            "file_count": sum(layer.file_count for layer in image.layers),
            "efficiency": image.efficiency,
            "wasted_bytes": image.wasted_bytes,
            "user_wasted_percent": image.user_wasted_percent,
            "reclaimable_bytes": image.reclaimable_bytes,
        },
        "layers": [
            {
                "index": layer.index,
                "diff_id": layer.diff_id,
                "created_by": layer.created_by,
                "size_bytes": layer.size_bytes,
                "file_count": layer.file_count,
                "added": _changes(layer.added),
                "modified": _changes(layer.modified),
                "removed": _changes(layer.removed),
            }
            for layer in image.layers
        ],
        "reclaimable": reclaimable_summary(image),
        "warnings": list(image.warnings),
    }
