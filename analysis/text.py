"""Plain-text summary of an image, for `uvscope IMAGE` without a terminal UI."""

from __future__ import annotations

import humanize

from .model import Image
from .python import PythonAnalysis


def size(nbytes: int) -> str:
    """Human-readable bytes in SI units, as docker and dive print them."""
    return humanize.naturalsize(nbytes)


def percent(ratio: float) -> str:
    """A ratio as a percentage with two decimals that never rounds up to 100% or down to 0%:
    an image with any waste is not "100.00%" efficient (`>99.99%` instead)."""
    text = f"{ratio:.2%}"
    if text == "100.00%" and ratio < 1:
        return ">99.99%"
    if text == "0.00%" and ratio > 0:
        return "<0.01%"
    return text


def summary_lines(image: Image, python: PythonAnalysis | None = None, top: int = 10) -> list[str]:
    """The image's totals, one line per layer, and its largest packages."""
    meta = image.meta
    lines = [
        f"{meta.ref}  {meta.id[:19]}  {meta.platform}",
        f"size {size(image.size_bytes)}  efficiency {percent(image.efficiency)}  "
        f"wasted {size(image.wasted_bytes)}  reclaimable {size(image.reclaimable_bytes)}",
        "",
    ]
    for layer in image.layers:
        command = " ".join(layer.created_by.split())[:90]
        lines.append(f"{layer.index:>3}  {size(layer.size_bytes):>10}  {layer.file_count:>7} files  {command}")
    if python is not None and python.attribution.distributions:
        statuses = python.lock.statuses if python.lock is not None else {}
        lines += ["", f"largest of {len(python.attribution.distributions)} packages:"]
        for dist in python.attribution.distributions[:top]:
            status = statuses[dist.key].status if dist.key in statuses else "no lock"
            layers = ",".join(str(index) for index in dist.layer_bytes)
            lines.append(f"  {size(dist.bytes):>10}  {dist.name} {dist.version}  layer {layers}  {status}  {dist.environment}")
    for warning in image.warnings:
        lines.append(f"warning: {warning}")
    return lines
