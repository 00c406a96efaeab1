"""Plain-text summary of an image, for `uvscope IMAGE` without a terminal UI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..units import size as size
from ..untrusted import shown

if TYPE_CHECKING:  # annotations only: the session's layer list imports this module before any analysis
    from ..image.model import Image
    from ..packages.python import PythonAnalysis


def count(number: int, word: str, plural: str | None = None) -> str:
    """`1 file`, `2 files`, `1,856 packages`: a number with its noun agreeing."""
    return f"{number:,} {word if number == 1 else plural or word + 's'}"


def elide(text: str, width: int) -> str:
    """`text` cut to `width` characters at a word (a space, or a path or version separator), with `…`.

    Image text is shown (`untrusted.shown`) first, so what is cut is what a terminal may show.
    """
    text = shown(text)
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    for separators in (" ", "/,;"):
        at = max(cut.rfind(sep) for sep in separators)
        if at >= width // 2:
            return cut[: at + (0 if separators == " " else 1)].rstrip() + "…"
    return cut + "…"


def elide_path(path: str, width: int) -> str:
    """A path cut to `width` from the left at a `/` (`…/numpy/core/_multiarray.so`): its end says the most (shown first)."""
    path = shown(path)
    if len(path) <= width:
        return path
    tail = path[-(width - 1) :]
    at = tail.find("/")
    return "…" + (tail[at:] if 0 <= at < len(tail) - 1 else tail)


def short_command(created_by: str, width: int = 80) -> str:
    """A history command without builder noise (`/bin/sh -c`, `#(nop)`, `# buildkit`), on one line."""
    text = shown(" ".join(created_by.split()))  # newlines and tabs run together; other controls shown
    for noise in ("/bin/sh -c #(nop) ", "/bin/sh -c ", " # buildkit"):
        text = text.replace(noise, "")
    return elide(text, width)


def image_title(ref: str, repo_tags: tuple[str, ...] = ()) -> str:
    """What the header calls an image: its first tag, else an archive's or layout's file name, else the reference.

    `~/.cache/uvscope/demo-image.oci.tar` is `demo-image.oci.tar`; `uvscope-demo:latest` stays as it is.
    """
    if repo_tags:
        return repo_tags[0]
    if "/" in ref and ":" not in ref.rsplit("/", 1)[-1] and (ref.startswith(("/", ".", "~")) or ref.endswith((".tar", ".tar.gz"))):
        return ref.rstrip("/").rsplit("/", 1)[-1]
    for scheme in ("oci-archive:", "docker-archive:", "oci:"):
        if ref.startswith(scheme):
            return image_title(ref[len(scheme) :].split(":")[0], ())
    return ref


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
        shown(f"{meta.ref}  {meta.id[:19]}  {meta.platform}"),
        f"size {size(image.size_bytes)}  efficiency {percent(image.efficiency)}  "
        f"wasted {size(image.wasted_bytes)}  reclaimable {size(image.reclaimable_bytes)}",
        "",
    ]
    for layer in image.layers:
        command = short_command(layer.created_by, 90)
        files = "file " if layer.file_count == 1 else "files"
        lines.append(f"{layer.index:>3}  {size(layer.size_bytes):>10}  {layer.file_count:>7} {files}  {command}")
    if python is not None and python.attribution.distributions:
        statuses = python.lock.statuses if python.lock is not None else {}
        lines += ["", f"largest of {count(len(python.attribution.distributions), 'package')}:"]
        for dist in python.attribution.distributions[:top]:
            status = statuses[dist.key].status if dist.key in statuses else "no lock"
            layers = ",".join(str(index) for index in dist.layer_bytes)
            lines.append(shown(f"  {size(dist.bytes):>10}  {dist.name} {dist.version}  layer {layers}  {status}  {dist.environment}"))
    for warning in image.warnings:
        lines.append(f"warning: {shown(warning)}")
    return lines
