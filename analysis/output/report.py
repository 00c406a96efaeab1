"""The `uvscope.report/1` document: an image's analysis as plain data.

Key names are stable: later versions add keys, never rename them. All sizes
are in bytes.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Any

from ..image.model import Change, Image
from ..packages.python import PythonAnalysis
from .findings import find_problems

SCHEMA = "uvscope.report/1"
TOP_PATHS = 50


def _changes(changes: Iterable[Change]) -> dict[str, Any]:
    """Counts, bytes and the ten largest of `changes`, in one pass (a layer's added paths are not kept as a list)."""
    files = folders = total = 0

    def counted() -> Iterator[Change]:
        nonlocal files, folders, total
        for change in changes:
            if change.folder:
                folders += 1
            else:
                files += 1
            total += change.size
            yield change

    largest = heapq.nlargest(10, counted(), key=lambda change: change.size)
    return {
        "count": files,
        "folders": folders,
        "bytes": total,
        "largest": [{"path": "/" + change.path, "bytes": change.size} for change in largest],
    }


def reclaimable_summary(image: Image) -> dict[str, Any]:
    """Reclaimable bytes explained by path and by the layer whose command hid them."""
    largest = sorted(image.hidden, key=lambda copy: copy.size, reverse=True)[:TOP_PATHS]
    return {
        "bytes": image.reclaimable_bytes,
        "copies": len(image.hidden),
        "by_layer": [
            {"layer": index, "created_by": image.layers[index].created_by, "bytes": size} for index, size in image.reclaimable_by_layer()
        ],
        "paths": [
            {"path": "/" + copy.path, "bytes": copy.size, "layer": copy.layer, "hidden_by": copy.hidden_by, "reason": copy.reason}
            for copy in largest
        ],
    }


def _packages(python: PythonAnalysis) -> list[dict[str, Any]]:
    lock = python.lock
    rows = []
    for dist in python.attribution.distributions:
        status = lock.statuses.get(dist.key) if lock is not None else None
        closure = lock.closure_of(dist.name) if lock is not None else None
        rows.append(
            {
                "name": dist.name,
                "version": dist.version,
                "environment": dist.environment,
                "installer": dist.installer,
                "bytes": dist.bytes,
                "files": dist.files,
                "layer_bytes": {str(index): size for index, size in dist.layer_bytes.items()},
                "reshipped_bytes": dist.reshipped_bytes,
                "reshipped_content": dist.reshipped_content or None,
                "requested": dist.requested,
                "editable": dist.editable,
                "direct_url": dist.direct_url or None,
                "estimated": dist.estimated,
                "lock": None
                if status is None
                else {"status": status.status, "version": status.version or None, "groups": list(status.groups)},
                "closure": None
                if closure is None
                else {"bytes": closure.bytes, "exclusive_bytes": closure.exclusive_bytes, "packages": list(closure.packages)},
            }
        )
    return rows


def _lock(python: PythonAnalysis) -> dict[str, Any] | None:
    match = python.lock
    if match is None:
        return None
    return {
        "source": match.lock.source,
        "project": match.member,
        "members": list(match.lock.members),
        "version": match.lock.version,
        "packages": sum(len(versions) for versions in match.lock.packages.values()),
        "environment": match.environment,
        "not_installed": [{"name": name, "reason": reason} for name, reason in match.missing.items()],
        "non_runtime_installed": list(match.dev_present),
        "closures": [
            {
                "member": item.member,
                "group": item.group,
                "name": item.name,
                "bytes": item.bytes,
                "exclusive_bytes": item.exclusive_bytes,
                "packages": list(item.packages),
            }
            for item in match.closures
        ],
    }


def build_report(image: Image, python: PythonAnalysis | None = None, *, version: str = "") -> dict[str, Any]:
    """The JSON-ready report of `image` (and of its Python side, when analysed)."""
    meta = image.meta
    attribution = python.attribution if python is not None else None
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
                "entry_count": layer.contents.entry_count,
                "added": _changes(layer.added_changes()),
                "modified": _changes(layer.modified),
                "removed": _changes(layer.removed),
            }
            for layer in image.layers
        ],
        "reclaimable": reclaimable_summary(image),
        "packages": _packages(python) if python is not None else [],
        "attribution": None
        if attribution is None
        else {
            "environments": list(attribution.environments),
            "site_packages_bytes": attribution.site_packages_bytes,
            "attributed_bytes": attribution.attributed_bytes,
            "unattributed": [{"path": path, "bytes": size} for path, size in attribution.unattributed[:TOP_PATHS]],
        },
        "lock": _lock(python) if python is not None else None,
        "findings": [
            {"id": f.id, "severity": f.severity, "title": f.title, "detail": f.detail, "fix": f.fix, "bytes": f.bytes}
            for f in find_problems(image, python)
        ],
        "warnings": list(image.warnings) + (list(python.warnings) if python is not None else []),
    }
