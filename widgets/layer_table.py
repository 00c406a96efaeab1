"""The layers of an image as a table: size bar, size, files, command, top packages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from uvscope.analysis.output.text import short_command, size
from uvscope.analysis.untrusted import shown

from .columns import fit_widths

if TYPE_CHECKING:  # the first paint shows this table: it imports no analysis beyond the text helpers
    from uvscope.analysis.image.model import Image, ImageMeta

BAR_WIDTH = 16
_EIGHTHS = " ▏▎▍▌▋▊▉"


def size_bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of `value` relative to `largest`, in eighths of a cell."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(width * 8 * value / largest))
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


class LayerTable(DataTable):
    """One row per filesystem layer; the highlighted row is the selected layer."""

    DEFAULT_CSS = """
    LayerTable {
        height: auto;
        max-height: 60%;
        overflow-x: hidden;  /* long commands are cut to their column; the panel below shows them whole */
    }
    """

    class LayerSelected(Message):
        """The user moved to another layer."""

        def __init__(self, table: LayerTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> LayerTable:
            return self.table

    COLUMNS = (("#", "index"), ("size", "size"), ("", "bar"), ("files", "files"), ("command", "command"), ("top packages", "top"))

    MINIMUMS = {"command": 24, "top": 12}
    """What the text columns keep when the table is fitted to the terminal (cut with `…`)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self._shown: tuple | None = None
        self._fitted_for = 0
        self._add_columns([])

    def on_resize(self) -> None:
        if self._shown is not None and self.size.width != self._fitted_for:
            self.show(*self._shown)  # the columns are fitted again to the new width

    def _add_columns(self, rows: list[tuple[Text, ...]]) -> None:
        """The columns, each as wide as its widest cell or its label, the command and top packages cut
        (`…`) so the table fits its width.

        The widths are given, not left to DataTable's measuring when idle: a frame drawn before
        that (the first paint often is) would keep every column at its label's width.
        """
        widths = [
            BAR_WIDTH if key == "bar" else max([len(label), *(row[position].cell_len for row in rows)])
            for position, (label, key) in enumerate(self.COLUMNS)
        ]
        minimums = [min(width, self.MINIMUMS.get(key, width)) for width, (_, key) in zip(widths, self.COLUMNS)]
        available = self.size.width
        if available and len(rows) + 1 > self.size.height:
            available -= self.styles.scrollbar_size_vertical
        shrinkable = [position for position, (_, key) in enumerate(self.COLUMNS) if key in self.MINIMUMS]
        self._fitted_for = self.size.width
        for (label, key), width in zip(self.COLUMNS, fit_widths(widths, minimums, available, shrinkable, 2 * self.cell_padding)):
            self.add_column(label, key=key, width=width)

    def show(
        self,
        meta: ImageMeta,
        image: Image | None = None,
        top: dict[int, list[tuple[str, int]]] | None = None,
        select: int | None = None,
    ) -> None:
        """Fill the table from metadata (sizes approximate) or from a read image (exact).

        The cursor stays on its row unless `select` names another.
        """
        self._shown = (meta, image, top)
        row = self.cursor_row if select is None else select
        read = {layer.index: layer for layer in image.layers} if image is not None else {}
        sizes = []
        for index in range(len(meta.diff_ids)):
            if index in read:
                sizes.append(read[index].size_bytes)
            else:
                approx = meta.layer_sizes[index] if index < len(meta.layer_sizes) else None
                sizes.append(approx or 0)
        largest = max(sizes, default=0)
        rows: list[tuple[Text, ...]] = []
        for index, created_by in enumerate(meta.created_by):
            layer = read.get(index)
            label = size(sizes[index]) if layer is not None else (f"~{size(sizes[index])}" if sizes[index] else "…")
            packages = ", ".join(f"{shown(name)} {size(nbytes)}" for name, nbytes in (top or {}).get(index, []))
            rows.append(
                (
                    Text(str(index), justify="right"),
                    Text(label, justify="right"),
                    Text(size_bar(sizes[index], largest), style="bold"),
                    Text(str(layer.file_count) if layer is not None else "", justify="right"),
                    Text(short_command(created_by, 70) or "(no history)", overflow="ellipsis", no_wrap=True),
                    Text(packages, overflow="ellipsis", no_wrap=True),
                )
            )
        self.clear(columns=True)  # widths follow this content only, not earlier approximations
        self._add_columns(rows)
        for index, cells in enumerate(rows):
            self.add_row(*cells, key=str(index))
        if self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.LayerSelected(self, int(event.row_key.value)))
