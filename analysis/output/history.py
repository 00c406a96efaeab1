"""Churn across the tags of a repository, from image metadata only (no layer is read).

For each image, ordered by creation time: its size, the bytes of layers the
previous image did not have (what a push or pull after it re-ships), and the
bytes it reuses. Dozens of tags take seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..image.model import ImageMeta, created_order
from ..packages.lockhistory import LockCommit
from ..packages.uvlock import Lock
from ..plan.grouping import Grouping
from ..plan.layer_plan import Step, replay

SCHEMA = "uvscope.history/1"


@dataclass(frozen=True)
class HistoryEntry:
    """One image of the history."""

    ref: str
    created: str
    size_bytes: int
    new_bytes: int
    reused_bytes: int
    new_layers: int
    size_source: str = "layers"
    """`layers`: the sum of the layers' uncompressed content sizes, exactly as `report` and `diff`
    count them (read layers are cached); `engine`: the engine's or registry's own per-layer
    figures, used when a layer was never read (they count symlinks and differ by a few kB)."""


def image_history(metas: list[ImageMeta], layer_size: Callable[[str], int | None] | None = None) -> list[HistoryEntry]:
    """Entries oldest first; `new_bytes` relative to the image just before.

    `layer_size(diff_id)` gives a layer's exact size when it was read before
    (the layer cache); otherwise the metadata's approximate figure is used and
    the entry says so in `size_source`.
    """
    ordered = sorted(metas, key=lambda meta: created_order(meta.created))
    entries = []
    previous: set[str] = set()
    for meta in ordered:
        approximate = [(meta.layer_sizes[i] if i < len(meta.layer_sizes) else None) or 0 for i in range(len(meta.diff_ids))]
        exact = [layer_size(diff_id) if layer_size is not None else None for diff_id in meta.diff_ids]
        sizes = [e if e is not None else a for e, a in zip(exact, approximate)]
        new = [(diff, size) for diff, size in zip(meta.diff_ids, sizes) if diff not in previous]
        total = sum(sizes)
        new_bytes = sum(size for _, size in new)
        source = "layers" if all(e is not None for e in exact) else "engine"
        entries.append(HistoryEntry(meta.ref, meta.created, total, new_bytes, total - new_bytes, len(new), source))
        previous = set(meta.diff_ids)
    return entries


def rebuild_estimate(
    commit: LockCommit,
    lock: Lock,
    sizes: dict[str, int],
    member: str,
    grouping: Grouping | None,
    then: Mapping[str, int] | None = None,
) -> tuple[int, int | None]:
    """Bytes a lock commit forced to rebuild: with one dependency layer, and with `grouping`.

    Any change to uv.lock re-runs the single `uv sync` layer; with groups,
    the groups whose packages the commit touched are rebuilt with every group
    above them, plus the rest (`layer_plan.replay`, the planner's own rule).
    `then` sizes the packages as that commit locked them (`layer_plan.sizes_then`).
    """
    # the project's own bytes are not part of this estimate, whatever `then` says of them
    then = {name: value for name, value in then.items() if name != member} if then is not None else None
    step = [Step(commit.commit, commit.date, frozenset(commit.touched), then)]
    today = replay(Grouping(), lock, sizes, member, step).total
    if grouping is None:
        return today, None
    return today, replay(grouping, lock, sizes, member, step).total


def history_document(
    entries: list[HistoryEntry], commits: list[LockCommit] | None = None, estimates: list[tuple[int, int | None]] | None = None
) -> dict[str, Any]:
    """The `uvscope.history/1` document."""
    lock_commits = []
    for index, commit in enumerate(commits or []):
        item: dict[str, Any] = {
            "commit": commit.commit,
            "date": commit.date,
            "subject": commit.subject,
            "added": [{"name": n, "version": v} for n, v in sorted(commit.added.items())],
            "removed": [{"name": n, "version": v} for n, v in sorted(commit.removed.items())],
            "changed": [{"name": n, "from": old, "to": new} for n, (old, new) in sorted(commit.changed.items())],
        }
        if estimates is not None:
            item["rebuild_bytes_current"], item["rebuild_bytes_grouped"] = estimates[index]
        lock_commits.append(item)
    return {
        "schema": SCHEMA,
        "images": [
            {
                "ref": e.ref,
                "created": e.created,
                "size_bytes": e.size_bytes,
                "new_bytes": e.new_bytes,
                "reused_bytes": e.reused_bytes,
                "new_layers": e.new_layers,
                "size_source": e.size_source,
            }
            for e in entries
        ],
        "lock_commits": lock_commits,
    }
