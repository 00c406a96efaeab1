"""The highlighted layer in full, under the layer table: its command, what it changed, the packages it ships."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from uvscope.analysis.output.text import count, size
from uvscope.analysis.untrusted import shown, shown_lines

if TYPE_CHECKING:  # the panel paints from metadata before the analysis modules are imported
    from uvscope.analysis.views.browse import LayerDetail

MAX_PACKAGES = 12
"""Packages listed by name; the rest are summed in one line."""


def _head(index: int, command: str, figures: str = "") -> Text:
    text = Text()
    text.append(
        f"layer {index}  " if figures else f"layer {index}", style="bold"
    )  # spaces end the bold part: an SVG viewer drops those that start a part
    text.append(figures)
    text.append("\n")
    text.append(shown_lines(command).strip() or "(no history: the layer's command is not recorded)", style="italic")
    text.append("\n")
    return text


def command_text(index: int, command: str) -> Text:
    """The panel while only the image's metadata is known: the layer's whole command."""
    return _head(index, command).append("reading the layer…", style="dim")


def detail_text(detail: LayerDetail) -> Text:
    """The panel's text: a title line, the whole command, the changes, the packages."""
    if detail.size_bytes is None or detail.file_count is None:
        return command_text(detail.index, detail.command)
    text = _head(detail.index, detail.command, f"{size(detail.size_bytes)} · {count(detail.file_count, 'file')}")
    for label, (files, nbytes) in (("added", detail.added), ("modified", detail.modified), ("removed", detail.removed)):
        text.append(f"{label} ", style=STYLES[label])
        text.append(f"{count(files, 'file')} ({size(nbytes)})   ")
    text.append("\n")
    if not detail.packages:
        text.append("no Python packages in this layer", style="dim")
    else:
        _packages(text, detail)
    if detail.largest:
        text.append("\n\nlargest changes\n", style="bold")
        width = max(len(size(nbytes)) for _, _, nbytes in detail.largest)
        for kind, path, nbytes in detail.largest:
            figure = size(nbytes)
            # the padding ends the mark's part: an SVG viewer drops the spaces that start a part
            text.append(f"{MARKS[kind]} " + " " * (width - len(figure)), style=STYLES[kind])
            text.append(f"{figure}  ")
            text.append(shown("/" + path))
            text.append("\n")
        text.rstrip()
    return text


MARKS = {"added": "+", "modified": "~", "removed": "-"}
STYLES = {"added": "green", "modified": "yellow", "removed": "red"}


def _packages(text: Text, detail: LayerDetail) -> None:
    text.append(f"{count(len(detail.packages), 'package')} in this layer: ", style="bold")
    listed = [f"{shown(name)} {shown(version)} {size(nbytes)}" for name, version, nbytes in detail.packages[:MAX_PACKAGES]]
    text.append(", ".join(listed))
    rest = detail.packages[MAX_PACKAGES:]
    if rest:
        text.append(f", and {len(rest)} more ({size(sum(item[2] for item in rest))})", style="dim")


class LayerDetailPanel(VerticalScroll):
    """The highlighted layer's details (`detail_text`), scrollable when the command is long."""

    can_focus = False  # the layer table keeps the keys; the panel scrolls with the mouse wheel

    DEFAULT_CSS = """
    LayerDetailPanel { height: 1fr; border-top: solid $primary-background; padding: 0 1; }
    """

    def compose(self):
        yield Static(id="layer-detail-text")

    def show(self, detail: LayerDetail) -> None:
        """Show `detail` (the highlighted layer of a read image)."""
        self.query_one("#layer-detail-text", Static).update(detail_text(detail))

    def show_command(self, index: int, command: str) -> None:
        """Show layer `index`'s command while its contents are being read."""
        self.query_one("#layer-detail-text", Static).update(command_text(index, command))
