"""Plain-text summary of an image, for `uvscope IMAGE` without a terminal UI."""

from __future__ import annotations

import humanize

from .model import Image


def size(nbytes: int) -> str:
    """Human-readable bytes in SI units, as docker and dive print them."""
    return humanize.naturalsize(nbytes)


def summary_lines(image: Image) -> list[str]:
    """A few lines per layer and the image's totals."""
    meta = image.meta
    lines = [
        f"{meta.ref}  {meta.id[:19]}  {meta.platform}",
        f"size {size(image.size_bytes)}  efficiency {image.efficiency:.2%}  "
        f"wasted {size(image.wasted_bytes)}  reclaimable {size(image.reclaimable_bytes)}",
        "",
    ]
    for layer in image.layers:
        command = " ".join(layer.created_by.split())[:90]
        lines.append(f"{layer.index:>3}  {size(layer.size_bytes):>10}  {layer.file_count:>7} files  {command}")
    for warning in image.warnings:
        lines.append(f"warning: {warning}")
    return lines
