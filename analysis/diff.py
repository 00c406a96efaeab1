"""What changed between two images: layers shared or new, packages added, removed,
changed and re-shipped identical, and what pulling B costs someone who has A.

Content identity comes from RECORD hashes, so an identical reinstall is
recognised without hashing gigabytes.
"""

from __future__ import annotations

import csv
import io
import posixpath
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from .attribution import Distribution
from .model import Image
from .python import PythonAnalysis

SCHEMA = "uvscope.diff/1"


def record_hashes(image: Image, python: PythonAnalysis) -> dict[str, str]:
    """Visible path -> RECORD hash (`sha256=...`), for every file a RECORD lists with a hash."""
    hashes: dict[str, str] = {}
    for dist in python.attribution.distributions:
        record = dist.metadata_dir.lstrip("/") + "/RECORD"
        visible = image.files.get(record)
        if visible is None:
            continue
        data = image.layers[visible.layer].contents.metadata.get(record, b"")
        site = dist.environment.lstrip("/")
        for row in csv.reader(io.StringIO(data.decode("utf-8", "replace"))):
            if len(row) >= 2 and row[0] and row[1]:
                hashes[posixpath.normpath(posixpath.join(site, row[0]))] = row[1]
    return hashes


@dataclass(frozen=True)
class _Side:
    image: Image
    python: PythonAnalysis
    hashes: dict[str, str]

    @property
    def by_name(self) -> dict[tuple[str, str], Distribution]:
        return {(d.environment, d.name): d for d in self.python.attribution.distributions}


def _direction(old: str, new: str) -> str:
    try:
        return "upgraded" if Version(new) > Version(old) else "downgraded"
    except InvalidVersion:
        return "changed"


def _identical_files(dist_a: Distribution, dist_b: Distribution, a: _Side, b: _Side) -> bool:
    """Same version and every hashed RECORD row equal."""
    if dist_a.version != dist_b.version:
        return False
    rows_a = {path: digest for path, digest in a.hashes.items() if a.python.attribution.owners.get(path) == dist_a.key}
    rows_b = {path: digest for path, digest in b.hashes.items() if b.python.attribution.owners.get(path) == dist_b.key}
    return bool(rows_b) and rows_a == rows_b


def diff_images(a: Image, python_a: PythonAnalysis, b: Image, python_b: PythonAnalysis) -> dict[str, Any]:
    """The `uvscope.diff/1` document for A -> B."""
    side_a = _Side(a, python_a, record_hashes(a, python_a))
    side_b = _Side(b, python_b, record_hashes(b, python_b))
    a_ids = {layer.diff_id for layer in a.layers}
    new_layers = {layer.index for layer in b.layers if layer.diff_id not in a_ids}
    dists_a, dists_b = side_a.by_name, side_b.by_name
    a_files = a.files
    layers = []
    for layer in b.layers:
        status = "shared" if layer.index not in new_layers else "new"
        identical = 0
        packages: dict[str, int] = {}
        if status == "new":
            for entry in layer.contents.entries:
                if not entry.size:
                    continue
                digest = side_b.hashes.get(entry.path)
                if digest is not None and side_a.hashes.get(entry.path) == digest and entry.path in a_files:
                    identical += entry.size
                owner = python_b.attribution.owners.get(entry.path)
                if owner is not None:
                    packages[owner[1]] = packages.get(owner[1], 0) + entry.size
        layers.append(
            {
                "index": layer.index,
                "diff_id": layer.diff_id,
                "created_by": layer.created_by,
                "status": status,
                "size_bytes": layer.size_bytes,
                "identical_content_bytes": identical,
                "packages": [{"name": n, "bytes": s} for n, s in sorted(packages.items(), key=lambda item: -item[1])],
                "largest_files": [
                    {"path": "/" + c.path, "bytes": c.size}
                    for c in sorted(layer.added + layer.modified, key=lambda c: -c.size)[:10]
                ]
                if status == "new"
                else [],
            }
        )
    added = [dists_b[k] for k in dists_b if k not in dists_a]
    removed = [dists_a[k] for k in dists_a if k not in dists_b]
    changed, reinstalled, rebuilt = [], [], []
    for key, dist_b in dists_b.items():
        dist_a = dists_a.get(key)
        if dist_a is None:
            continue
        if dist_a.version != dist_b.version:
            changed.append(
                {
                    "name": dist_b.name,
                    "from": dist_a.version,
                    "to": dist_b.version,
                    "direction": _direction(dist_a.version, dist_b.version),
                    "bytes_delta": dist_b.bytes - dist_a.bytes,
                    "environment": dist_b.environment,
                }
            )
        elif set(dist_b.layer_bytes) & new_layers and _identical_files(dist_a, dist_b, side_a, side_b):
            shipped = sum(size for index, size in dist_b.layer_bytes.items() if index in new_layers)
            reinstalled.append({"name": dist_b.name, "version": dist_b.version, "bytes": shipped, "environment": dist_b.environment})
        elif set(dist_b.layer_bytes) & new_layers:
            shipped = sum(size for index, size in dist_b.layer_bytes.items() if index in new_layers)
            rebuilt.append({"name": dist_b.name, "version": dist_b.version, "bytes": shipped, "environment": dist_b.environment})

    def entry(dist: Distribution) -> dict[str, Any]:
        return {"name": dist.name, "version": dist.version, "bytes": dist.bytes, "environment": dist.environment}

    return {
        "schema": SCHEMA,
        "a": {"ref": a.meta.ref, "id": a.meta.id, "size_bytes": a.size_bytes, "diff_ids": list(a.meta.diff_ids)},
        "b": {"ref": b.meta.ref, "id": b.meta.id, "size_bytes": b.size_bytes, "diff_ids": list(b.meta.diff_ids)},
        "layers": layers,
        "pull_bytes": sum(layer.size_bytes for layer in b.layers if layer.index in new_layers),
        "packages": {
            "added": sorted((entry(d) for d in added), key=lambda d: d["name"]),
            "removed": sorted((entry(d) for d in removed), key=lambda d: d["name"]),
            "changed": sorted(changed, key=lambda d: d["name"]),
            "reinstalled_identical": sorted(reinstalled, key=lambda d: d["name"]),
            "reinstalled_changed": sorted(rebuilt, key=lambda d: d["name"]),
        },
    }
