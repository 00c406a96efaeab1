"""Where the image wastes bytes: dive's score, reclaimable bytes by layer, path and package, caches, dev packages."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from uvscope.analysis.image.model import Image
from uvscope.analysis.output.text import percent, size
from uvscope.analysis.packages.python import PythonAnalysis
from uvscope.analysis.views.browse import WasteItem, cache_folders, short_command, waste_by_package

from .text import plain

TOP = 15


def _table(title: str, rows: Sequence[tuple[str, ...]], columns: tuple[str, ...]) -> Table | Text:
    """A section: its title over a table of `rows`, or over `none` (no empty table with its rules and headers)."""
    if not rows:
        return Text.assemble((title, "italic"), "\n", ("none", "dim"))
    # a rule under the headers only: a table's vertical rules are box-drawing glyphs that break at every row
    table = Table(title=title, title_justify="left", expand=True, show_edge=False, pad_edge=False, box=box.SIMPLE_HEAD)
    for index, column in enumerate(columns):
        table.add_column(column, justify="right" if index == 0 else "left", no_wrap=index == 0)
    for row in rows:
        table.add_row(*(plain(cell) for cell in row))  # paths, commands and labels are the image's text, never markup
    return table


class WastePanel(VerticalScroll):
    """Efficiency and reclaimable bytes explained; what should not be in the image."""

    DEFAULT_CSS = """
    WastePanel { height: 1fr; padding: 0 1; }
    WastePanel Static { margin-bottom: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static("reading the image…", id="waste-summary")
        yield Static(id="waste-layers")
        yield Static(id="waste-paths")
        yield Static(id="waste-packages")
        yield Static(id="waste-caches")
        yield Static(id="waste-dev")

    def show(self, image: Image, python: PythonAnalysis | None) -> None:
        """Explain the waste of a read image."""
        summary = Text()
        summary.append(f"efficiency {percent(image.efficiency)}", style="bold")
        summary.append(f"   dive's wasted bytes {size(image.wasted_bytes)} ({image.user_wasted_percent:.1%} of user layers)")
        summary.append(f"\nreclaimable {size(image.reclaimable_bytes)}", style="bold")
        summary.append(f" in {len(image.hidden)} hidden or deleted copies (each counted once)")
        self.query_one("#waste-summary", Static).update(summary)
        layer_rows = [
            (size(nbytes), f"{index}: {short_command(image.layers[index].created_by, 90)}")
            for index, nbytes in image.reclaimable_by_layer()[:TOP]
        ]
        self.query_one("#waste-layers", Static).update(_table("Caused by layer", layer_rows, ("bytes", "layer whose command hid them")))
        paths = sorted(image.hidden, key=lambda copy: -copy.size)[:TOP]
        path_rows = [(size(c.size), f"/{c.path}", f"{c.reason} in {c.hidden_by}, shipped in {c.layer}") for c in paths]
        self.query_one("#waste-paths", Static).update(_table("By path", path_rows, ("bytes", "path", "why")))
        self._items("#waste-packages", "By package", waste_by_package(image, python))
        self._items("#waste-caches", "Package-manager caches left in the image", cache_folders(image))
        dev = []
        if python is not None and python.lock is not None:
            sizes = {dist.name: dist.bytes for dist in python.attribution.distributions}
            dev = [WasteItem(name, sizes.get(name, 0), "only a non-runtime group needs it") for name in python.lock.dev_present]
        self._items("#waste-dev", "Dev-group packages in the image", dev)

    def _items(self, selector: str, title: str, items: list[WasteItem]) -> None:
        rows = [(size(item.bytes), item.label, item.detail) for item in items[:TOP]]
        self.query_one(selector, Static).update(_table(title, rows, ("bytes", "what", "detail")))
