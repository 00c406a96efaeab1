"""What changed between two images: layers shared or new, packages added, removed,
changed and re-shipped identical, and what pulling B costs someone who has A.

Content identity comes from RECORD hashes (and the bytes of small metadata
files, and for bytecode RECORD does not list, the identity of its source), so
an identical reinstall is recognised without hashing gigabytes. A package is
re-shipped identical when every byte it ships in B's new layers is such
content: the package list and the layers' identical bytes are one figure.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from packaging.version import InvalidVersion, Version

from ..image.model import Image, Layer
from ..packages.attribution import Distribution, _source_of_pyc
from ..packages.python import PythonAnalysis
from ..packages.record import record_hashes
from .text import count

SCHEMA = "uvscope.diff/1"


def _record_hashes(image: Image, python: PythonAnalysis) -> dict[str, str]:
    """Visible path -> RECORD hash (`sha256=...`), for every file a visible RECORD lists with a hash."""
    hashes: dict[str, str] = {}
    for dist in python.attribution.distributions:
        record = dist.metadata_dir.lstrip("/") + "/RECORD"
        visible = image.files.get(record)
        if visible is not None:
            data = image.layers[visible.layer].contents.metadata.get(record, b"")
            hashes.update(record_hashes(data, dist.environment.lstrip("/")))
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


def _file_bytes(image: Image, path: str) -> bytes | None:
    """The bytes of a visible file when the reader kept them (small metadata), else None."""
    visible = image.files.get(path)
    return image.layers[visible.layer].contents.metadata.get(path) if visible is not None else None


class _SameContent:
    """Whether a path of B's final filesystem holds content A already had at the same path.

    Same RECORD hash; or, for files whose bytes were read (dist-info metadata),
    the same bytes; or a `.pyc` (which RECORD does not list when
    `UV_COMPILE_BYTECODE` writes it) of the same size whose source is identical.
    """

    def __init__(self, a: _Side, b: _Side) -> None:
        self.a, self.b = a, b
        self._memo: dict[str, bool] = {}

    def __call__(self, path: str, size: int) -> bool:
        known = self._memo.get(path)
        if known is None:
            known = self._memo[path] = self._same(path, size)
        return known

    def _same(self, path: str, size: int) -> bool:
        visible = self.a.image.files.get(path)
        if visible is None or visible.entry.size != size:
            return False
        digest = self.b.hashes.get(path)
        if digest is not None:
            return self.a.hashes.get(path) == digest
        ours, theirs = _file_bytes(self.b.image, path), _file_bytes(self.a.image, path)
        if ours is not None and theirs is not None:
            return ours == theirs
        source = _source_of_pyc(path)
        if source is not None:
            entry = self.b.image.files.get(source)
            return entry is not None and self(source, entry.entry.size)
        return False


def diff_images(a: Image, python_a: PythonAnalysis, b: Image, python_b: PythonAnalysis) -> dict[str, Any]:
    """The `uvscope.diff/1` document for A -> B."""
    side_a = _Side(a, python_a, _record_hashes(a, python_a))
    side_b = _Side(b, python_b, _record_hashes(b, python_b))
    a_ids = {layer.diff_id for layer in a.layers}
    new_layers = {layer.index for layer in b.layers if layer.diff_id not in a_ids}
    same = _SameContent(side_a, side_b)
    tally = _NewContent()
    layers = [_layer_row(layer, layer.index in new_layers, same, python_b.attribution.owners, tally) for layer in b.layers]
    packages = _package_changes(side_a.by_name, side_b.by_name, tally)
    reshipped_keys = {(str(row["environment"]), str(row["name"])) for row in packages["reinstalled_identical"]}
    identical_total = sum(int(layer["identical_content_bytes"]) for layer in layers if layer["status"] == "new")
    identical_reshipped = sum(tally.identical.get(key, 0) for key in reshipped_keys)
    return {
        "schema": SCHEMA,
        "a": _image_row(a),
        "b": _image_row(b),
        "layers": layers,
        "pull_bytes": sum(layer.size_bytes for layer in b.layers if layer.index in new_layers),
        "identical_content": {
            "bytes": identical_total,
            "reinstalled_identical_bytes": identical_reshipped,
            "other_packages_bytes": identical_total - identical_reshipped - tally.identical_elsewhere,
            "outside_packages_bytes": tally.identical_elsewhere,
        },
        "packages": packages,
    }


@dataclass
class _NewContent:
    """What B's new layers ship, tallied as the layers are walked."""

    shipped: dict[tuple[str, str], int] = field(default_factory=dict)
    """Bytes each distribution of B ships in B's new layers."""
    identical: dict[tuple[str, str], int] = field(default_factory=dict)
    """How many of those bytes are content A already had."""
    identical_elsewhere: int = 0
    """Content A already had, in files no distribution owns."""


def _image_row(image: Image) -> dict[str, Any]:
    return {"ref": image.meta.ref, "id": image.meta.id, "size_bytes": image.size_bytes, "diff_ids": list(image.meta.diff_ids)}


def _layer_row(layer: Layer, new: bool, same: _SameContent, owners: dict[str, tuple[str, str]], tally: _NewContent) -> dict[str, Any]:
    """One layer of B, shared with A or new; a new layer's bytes are tallied by owner and by whether A had them."""
    identical = 0
    packages: dict[str, int] = {}
    if new:
        for entry in layer.contents.entries:
            if not entry.size:
                continue
            owner = owners.get(entry.path)
            known = same(entry.path, entry.size)
            if known:
                identical += entry.size
            if owner is not None:
                packages[owner[1]] = packages.get(owner[1], 0) + entry.size
                tally.shipped[owner] = tally.shipped.get(owner, 0) + entry.size
                if known:
                    tally.identical[owner] = tally.identical.get(owner, 0) + entry.size
            elif known:
                tally.identical_elsewhere += entry.size
    return {
        "index": layer.index,
        "diff_id": layer.diff_id,
        "created_by": layer.created_by,
        "status": "new" if new else "shared",
        "size_bytes": layer.size_bytes,
        "identical_content_bytes": identical,
        "packages": [{"name": n, "bytes": s} for n, s in sorted(packages.items(), key=lambda item: -item[1])],
        "largest_files": [
            {"path": "/" + c.path, "bytes": c.size}
            for c in heapq.nlargest(10, chain(layer.added_changes(), layer.modified), key=lambda c: c.size)
        ]
        if new
        else [],
    }


def _package_changes(
    dists_a: dict[tuple[str, str], Distribution], dists_b: dict[tuple[str, str], Distribution], tally: _NewContent
) -> dict[str, list[dict[str, Any]]]:
    """Packages added, removed, changed and re-installed (identical or not) from A to B, each list by name."""
    added = [dists_b[k] for k in dists_b if k not in dists_a]
    removed = [dists_a[k] for k in dists_a if k not in dists_b]
    changed: list[dict[str, Any]] = []
    reinstalled: list[dict[str, Any]] = []
    rebuilt: list[dict[str, Any]] = []
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
        elif tally.shipped.get(key):
            # One rule for "identical": every byte it ships in a new layer is content A already had.
            shipped = tally.shipped[key]
            row = {"name": dist_b.name, "version": dist_b.version, "bytes": shipped, "environment": dist_b.environment}
            (reinstalled if tally.identical.get(key, 0) == shipped else rebuilt).append(row)
    return {
        "added": sorted((_package_row(d) for d in added), key=lambda d: d["name"]),
        "removed": sorted((_package_row(d) for d in removed), key=lambda d: d["name"]),
        "changed": sorted(changed, key=lambda d: d["name"]),
        "reinstalled_identical": sorted(reinstalled, key=lambda d: d["name"]),
        "reinstalled_changed": sorted(rebuilt, key=lambda d: d["name"]),
    }


def _package_row(dist: Distribution) -> dict[str, Any]:
    return {"name": dist.name, "version": dist.version, "bytes": dist.bytes, "environment": dist.environment}


def diff_summary(doc: dict[str, Any]) -> str:
    """The diff session's one-line summary: the same figures as the document and its Markdown."""
    from .text import size

    new = [layer for layer in doc["layers"] if layer["status"] == "new"]
    identical = doc["identical_content"]
    reshipped = doc["packages"]["reinstalled_identical"]
    return (
        f"pulling B when you have A costs {size(doc['pull_bytes'])} ({count(len(new), 'new layer')}; image "
        f"{size(doc['a']['size_bytes'])} → {size(doc['b']['size_bytes'])}); {size(identical['bytes'])} of it is content A "
        f"already had, {size(identical['reinstalled_identical_bytes'])} of that in {count(len(reshipped), 'package')} re-shipped identical"
    )
