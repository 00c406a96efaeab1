"""What uvscope sees wrong with an image, each with the concrete change that fixes it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..image.caches import cache_fix, cache_folders
from ..image.model import Image
from ..packages.python import PythonAnalysis
from ..plan.grouping import HEAVY_MIN_BYTES, items_for, union_bytes
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
    return f"layer {index} ({command})" if command else f"layer {index}"


def find_problems(image: Image, python: PythonAnalysis | None) -> list[Finding]:
    """Every finding, largest cost first."""
    findings: list[Finding] = []
    lock = python.lock if python is not None else None
    if lock is not None and lock.dev_present:
        total = sum(lock.sizes.get(name, 0) for name in lock.dev_present)
        findings.append(
            Finding(
                "dev-packages",
                "high",
                f"{len(lock.dev_present)} dev-group packages are installed",
                "Only a non-runtime dependency group needs " + ", ".join(lock.dev_present[:12]) + ".",
                "Install without them: `uv sync --frozen --no-dev` (or `ENV UV_NO_DEV=1`; for other groups `--no-group NAME`).",
                total,
            )
        )
    caches = cache_folders(image)
    if caches:
        total = sum(item.bytes for item in caches)
        findings.append(
            Finding(
                "cache-in-image",
                "high" if total > 10_000_000 else "medium",
                f"package-manager caches left in the image ({size(total)})",
                "; ".join(f"{item.label} ({size(item.bytes)}, {item.detail})" for item in caches[:6]),
                "; ".join(dict.fromkeys(cache_fix(item.label) for item in caches)) + ".",
                total,
            )
        )
    if python is not None and lock is not None and lock.member is not None:
        member = lock.member
        items = items_for(lock.lock, lock.sizes, member)
        heavy = [item for item in items if item.closure_bytes >= HEAVY_MIN_BYTES]
        light = [item for item in items if item.closure_bytes < HEAVY_MIN_BYTES]
        layers_of = {d.name: set(d.layer_bytes) for d in python.attribution.distributions if d.environment == lock.environment}
        shared = [item for item in heavy if any(layers_of.get(item.name, set()) & layers_of.get(other.name, set()) for other in light)]
        if shared:
            names = ",".join(item.name for item in shared)
            # The union of their closures: numpy needed by scipy and pandas is counted once.
            total = union_bytes(lock.lock, lock.sizes, member, [item.name for item in shared])
            findings.append(
                Finding(
                    "heavy-layer-shared",
                    "high",
                    f"{size(total)} of heavy dependencies share a layer with light ones ({member})",
                    f"Rebuilt and re-pushed whenever pyproject.toml or uv.lock changes, even for a version bump or "
                    f"one new light dependency: {', '.join(item.name for item in shared)}.",
                    f"Give them a cached layer of their own: `uvscope optimize --group heavy={names} --write`.",
                    total,
                )
            )
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
    for index, total in sorted(rewritten.items(), key=lambda item: -item[1]):
        findings.append(
            Finding(
                "pyc-rewritten",
                "medium",
                f"{size(total)} of bytecode written again by {_layer_label(image, index)}",
                "A later layer recompiled `.pyc` files an earlier layer already shipped (a second `uv sync` or "
                "`compileall` with different timestamps, or `UV_COMPILE_BYTECODE` set in one step only), so both copies ship.",
                "Compile once, in the layer that installs the files: set `ENV UV_COMPILE_BYTECODE=1` before the first "
                "`uv sync`, and don't re-run compileall later (set `SOURCE_DATE_EPOCH` if you must, so the bytes match).",
                total,
            )
        )
    for index, total in sorted(deleted.items(), key=lambda item: -item[1]):
        findings.append(
            Finding(
                "deleted-still-shipped",
                "medium" if total > 1_000_000 else "low",
                f"{size(total)} deleted by {_layer_label(image, index)} but still shipped",
                "Deleting files in a later layer hides them without removing them from the lower layer.",
                "Delete them in the same RUN that creates them (or use a multi-stage build and copy only what you need).",
                total,
            )
        )
    for index, total in sorted(overwritten.items(), key=lambda item: -item[1]):
        if total >= 1_000_000:
            findings.append(
                Finding(
                    "overwritten",
                    "low",
                    f"{size(total)} overwritten by {_layer_label(image, index)}",
                    "The earlier copies stay in their layer.",
                    "Write each file once, in one layer.",
                    total,
                )
            )
    if lock is not None:
        mismatched = [(key[1], s.status) for key, s in lock.statuses.items() if key[0] == lock.environment and s.status != "match"]
        if mismatched:
            findings.append(
                Finding(
                    "lock-mismatch",
                    "medium",
                    f"{len(mismatched)} installed packages do not match uv.lock",
                    ", ".join(f"{name} ({status})" for name, status in mismatched[:12]),
                    "Install with `uv sync --frozen` (or `--locked`) from the same uv.lock, and no `pip install` after it.",
                )
            )
    return sorted(findings, key=lambda f: ({"high": 0, "medium": 1, "low": 2}[f.severity], -f.bytes))
