"""What uvscope sees wrong with an image, each with the concrete change that fixes it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..image.caches import cache_fix, cache_folders
from ..image.model import Image
from ..packages.lockmatch import LockMatch
from ..packages.python import PythonAnalysis
from ..plan.grouping import HEAVY_MIN_BYTES, items_for, union_bytes
from ..untrusted import quoted
from .text import short_command, size


@dataclass(frozen=True)
class Finding:
    """One problem, what it costs, and how to fix it."""

    id: str
    severity: str
    """`high`, `medium` or `low`."""
    title: str
    detail: str
    fix: str
    bytes: int = 0


def _layer_label(image: Image, index: int) -> str:
    command = short_command(image.layers[index].created_by, 80)
    return f"layer {index} ({quoted(command)})" if command else f"layer {index}"


def find_problems(image: Image, python: PythonAnalysis | None) -> list[Finding]:
    """Every finding, largest cost first."""
    lock = python.lock if python is not None else None
    findings = [
        *_dev_packages(lock),
        *_caches(image),
        *_heavy_layer_shared(python, lock),
        *_hidden_copies(image),
        *_lock_mismatch(lock),
    ]
    return sorted(findings, key=lambda f: ({"high": 0, "medium": 1, "low": 2}[f.severity], -f.bytes))


def _dev_packages(lock: LockMatch | None) -> list[Finding]:
    """Packages only a non-runtime group needs, installed anyway."""
    if lock is None or not lock.dev_present:
        return []
    total = sum(lock.sizes.get(name, 0) for name in lock.dev_present)
    return [
        Finding(
            "dev-packages",
            "high",
            f"{len(lock.dev_present)} dev-group packages are installed",
            "Only a non-runtime dependency group needs " + ", ".join(map(quoted, lock.dev_present[:12])) + ".",
            "Install without them: `uv sync --frozen --no-dev` (or `ENV UV_NO_DEV=1`; for other groups `--no-group NAME`).",
            total,
        )
    ]


def _caches(image: Image) -> list[Finding]:
    """Package-manager caches left in the final filesystem."""
    caches = cache_folders(image)
    if not caches:
        return []
    total = sum(item.bytes for item in caches)
    return [
        Finding(
            "cache-in-image",
            "high" if total > 10_000_000 else "medium",
            f"package-manager caches left in the image ({size(total)})",
            "; ".join(f"{quoted(item.label)} ({size(item.bytes)}, {item.detail})" for item in caches[:6]),
            "; ".join(dict.fromkeys(cache_fix(item.label) for item in caches)) + ".",
            total,
        )
    ]


def _heavy_layer_shared(python: PythonAnalysis | None, lock: LockMatch | None) -> list[Finding]:
    """Heavy direct dependencies installed in a layer that light ones share (rebuilt on every lock change)."""
    if python is None or lock is None or lock.member is None:
        return []
    member = lock.member
    items = items_for(lock.lock, lock.sizes, member)
    heavy = [item for item in items if item.closure_bytes >= HEAVY_MIN_BYTES]
    light = [item for item in items if item.closure_bytes < HEAVY_MIN_BYTES]
    layers_of = {d.name: set(d.layer_bytes) for d in python.attribution.distributions if d.environment == lock.environment}
    shared = [item for item in heavy if any(layers_of.get(item.name, set()) & layers_of.get(other.name, set()) for other in light)]
    if not shared:
        return []
    names = ",".join(item.name for item in shared)
    # The union of their closures: numpy needed by scipy and pandas is counted once.
    total = union_bytes(lock.lock, lock.sizes, member, [item.name for item in shared])
    return [
        Finding(
            "heavy-layer-shared",
            "high",
            f"{size(total)} of heavy dependencies share a layer with light ones ({quoted(member)})",
            f"Rebuilt and re-pushed whenever pyproject.toml or uv.lock changes, even for a version bump or "
            f"one new light dependency: {', '.join(quoted(item.name) for item in shared)}.",
            f"Give them a cached layer of their own: {quoted(f'uvscope optimize --group heavy={names} --write')}.",
            total,
        )
    ]


def _hidden_copies(image: Image) -> list[Finding]:
    """Bytes shipped but hidden, per layer that hid them: bytecode written again, deleted files, large overwrites."""
    rewritten, deleted, overwritten = _hidden_bytes_by_layer(image)
    return (
        [_pyc_rewritten(image, index, total) for index, total in _largest_first(rewritten)]
        + [_deleted_still_shipped(image, index, total) for index, total in _largest_first(deleted)]
        + [_overwritten(image, index, total) for index, total in _largest_first(overwritten) if total >= 1_000_000]
    )


def _hidden_bytes_by_layer(image: Image) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Hidden bytes per layer that hid them: (bytecode overwritten, deleted, other overwritten)."""
    rewritten: dict[int, int] = defaultdict(int)
    deleted: dict[int, int] = defaultdict(int)
    overwritten: dict[int, int] = defaultdict(int)
    for copy in image.hidden:
        if copy.path.endswith(".pyc") and copy.reason == "overwritten":
            rewritten[copy.hidden_by] += copy.size
        elif copy.reason == "deleted":
            deleted[copy.hidden_by] += copy.size
        else:
            overwritten[copy.hidden_by] += copy.size
    return rewritten, deleted, overwritten


def _largest_first(per_layer: dict[int, int]) -> list[tuple[int, int]]:
    return sorted(per_layer.items(), key=lambda item: -item[1])


def _pyc_rewritten(image: Image, index: int, total: int) -> Finding:
    return Finding(
        "pyc-rewritten",
        "medium",
        f"{size(total)} of bytecode written again by {_layer_label(image, index)}",
        "A later layer recompiled `.pyc` files an earlier layer already shipped (a second `uv sync` or "
        "`compileall` with different timestamps, or `UV_COMPILE_BYTECODE` set in one step only), so both copies ship.",
        "Compile once, in the layer that installs the files: set `ENV UV_COMPILE_BYTECODE=1` before the first "
        "`uv sync`, and don't re-run compileall later (set `SOURCE_DATE_EPOCH` if you must, so the bytes match).",
        total,
    )


def _deleted_still_shipped(image: Image, index: int, total: int) -> Finding:
    return Finding(
        "deleted-still-shipped",
        "medium" if total > 1_000_000 else "low",
        f"{size(total)} deleted by {_layer_label(image, index)} but still shipped",
        "Deleting files in a later layer hides them without removing them from the lower layer.",
        "Delete them in the same RUN that creates them (or use a multi-stage build and copy only what you need).",
        total,
    )


def _overwritten(image: Image, index: int, total: int) -> Finding:
    return Finding(
        "overwritten",
        "low",
        f"{size(total)} overwritten by {_layer_label(image, index)}",
        "The earlier copies stay in their layer.",
        "Write each file once, in one layer.",
        total,
    )


def _lock_mismatch(lock: LockMatch | None) -> list[Finding]:
    """Installed packages of the project's environment that uv.lock does not pin as they are."""
    if lock is None:
        return []
    mismatched = lock.mismatches()
    if not mismatched:
        return []
    return [
        Finding(
            "lock-mismatch",
            "medium",
            f"{len(mismatched)} installed packages do not match uv.lock",
            ", ".join(f"{quoted(name)} ({status})" for name, status in mismatched[:12]),
            "Install with `uv sync --frozen` (or `--locked`) from the same uv.lock, and no `pip install` after it.",
        )
    ]
