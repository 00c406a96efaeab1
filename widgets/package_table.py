"""The packages of an image: a sortable, searchable, filterable table."""

from __future__ import annotations

from dataclasses import replace

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Select

from uvscope.analysis.output.text import size
from uvscope.analysis.views.browse import PackageFilter, PackageRow, environment_label, parse_size, sort_packages

from .columns import fit_widths
from .search_box import SearchBox
from .text import plain

COLUMNS = [
    ("name", "name"),
    ("version", "version"),
    ("bytes", "size"),
    ("share", "share"),
    ("layers", "layers"),
    ("lock", "lock"),
    ("groups", "groups"),
    ("closure", "closure"),
    ("exclusive", "excl/shared"),
    ("reshipped", "re-shipped"),
    ("environment", "environment"),
]
SHRINKABLE = ("name", "groups", "environment")
"""Columns whose text is elided (`…`) when the table is wider than the terminal."""
ALWAYS = ("name", "version", "bytes", "share", "layers", "lock")
"""Columns shown even when empty; the others only when a row has something to say in them."""
MIN_NAME = 12
"""A package's name keeps at least this many cells when the table is fitted."""
LOCK_STYLES = {"match": "green", "version-mismatch": "yellow", "absent": "red"}


class PackageView(Vertical):
    """Search box and filters above a table of distributions, largest first."""

    DEFAULT_CSS = """
    PackageView { height: 1fr; }
    PackageView #package-filters { height: 1; }
    PackageView #package-search { width: 1fr; min-width: 16; margin-right: 1; }
    PackageView #package-min-size { width: 12; }
    PackageView Select { width: 16; margin-right: 1; }
    PackageView DataTable { height: 1fr; }
    """

    class Filtered(Message):
        """The visible rows changed (search, filter or sort)."""

        def __init__(self, view: PackageView, rows: list[PackageRow]) -> None:
            super().__init__()
            self.view = view
            self.rows = rows

        @property
        def control(self) -> PackageView:
            return self.view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[PackageRow] = []
        self.package_filter = PackageFilter()
        self.sort_column = "bytes"
        self.sort_reverse = True
        self.shown_rows: list[PackageRow] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="package-filters"):
            yield SearchBox(placeholder="search packages (/)", id="package-search")
            yield Select([], prompt="lock status", id="lock-filter", compact=True)
            yield Select([], prompt="group", id="group-filter", compact=True)
            yield Select([], prompt="environment", id="env-filter", compact=True)
            yield SearchBox(placeholder="min size", id="package-min-size")
        yield DataTable(id="package-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._widths: dict[str, int] = {}
        self._shown_keys: list[str] = [key for key, _ in COLUMNS]
        self._fitted_for = 0
        self._add_columns(self.query_one(DataTable))

    def on_resize(self) -> None:
        if self.size.width != self._fitted_for and self.rows:
            self.refresh_rows()  # the columns are fitted again to the new width

    def header(self, key: str, label: str) -> str:
        """A column's header, with ▼ (descending) or ▲ on the column the rows are sorted by."""
        if key != self.sort_column:
            return label
        return f"{label} {'▼' if self.sort_reverse else '▲'}"

    def _add_columns(self, table: DataTable) -> None:
        """The shown columns, each as wide as its widest cell over every row (filtering never collapses a
        column), the text columns cut (`…`) so the table fits its width with no horizontal scrollbar."""
        columns = [(key, label) for key, label in COLUMNS if key in self._shown_keys]
        headers = [self.header(key, label) for key, label in columns]
        minimums = [cell_len(label) + 2 if key != "name" else max(MIN_NAME, cell_len(label) + 2) for key, label in columns]
        widths = [max(self._widths.get(key, 0), cell_len(label) + 2) for key, label in columns]
        available = self.size.width
        if available and len(self.shown_rows) + 1 > table.size.height:  # rows beyond the height: a vertical scrollbar
            available -= table.styles.scrollbar_size_vertical
        shrinkable = [index for index, (key, _) in enumerate(columns) if key in SHRINKABLE]
        fitted = fit_widths(widths, [min(m, w) for m, w in zip(minimums, widths)], available, shrinkable, 2 * table.cell_padding)
        self._fitted_for = self.size.width
        for (key, _), header, width in zip(columns, headers, fitted):
            table.add_column(header, key=key, width=width)

    @staticmethod
    def cells(row: PackageRow) -> list:
        """The table cells of one row, in COLUMNS order."""
        shared = row.shared_bytes
        return [
            plain(row.name, overflow="ellipsis", no_wrap=True),
            plain(row.version, overflow="ellipsis", no_wrap=True),
            Text(size(row.bytes), justify="right"),
            Text(f"{row.share:.1%}", justify="right"),
            ",".join(str(index) for index in row.layers),
            Text(row.lock_status, style=LOCK_STYLES.get(row.lock_status, "dim")),
            plain(",".join(row.groups), overflow="ellipsis", no_wrap=True),
            Text(size(row.closure_bytes) if row.closure_bytes is not None else "", justify="right"),
            Text(f"{size(row.exclusive_bytes)}/{size(shared)}" if shared is not None else "", justify="right"),
            Text(size(row.reshipped_bytes) if row.reshipped_bytes else "", justify="right"),
            plain(environment_label(row.environment), overflow="ellipsis", no_wrap=True),
        ]

    def _row_cells(self, row: PackageRow) -> list:
        """The cells of the shown columns."""
        return [cell for (key, _), cell in zip(COLUMNS, self.cells(row)) if key in self._shown_keys]

    def set_rows(self, rows: list[PackageRow]) -> None:
        """Show a new set of rows (the image was read, or read further)."""
        self.rows = rows
        widths: dict[str, int] = {}
        for row in rows:
            for (key, _), cell in zip(COLUMNS, self.cells(row)):
                widths[key] = max(widths.get(key, 0), cell.cell_len if isinstance(cell, Text) else cell_len(cell))
        self._widths = widths
        # a column empty on every row, or the environment when there is one, says nothing: not shown
        environments = {row.environment for row in rows}
        self._shown_keys = [
            key for key, _ in COLUMNS if key in ALWAYS or (widths.get(key, 0) and (key != "environment" or len(environments) > 1))
        ]
        self._set_options("#lock-filter", sorted({row.lock_status for row in rows}))
        self._set_options("#group-filter", sorted({group for row in rows for group in row.groups}))
        self._set_options("#env-filter", sorted({row.environment for row in rows}), label=environment_label)
        self.refresh_rows()

    def _set_options(self, selector: str, values: list[str], label=str) -> None:
        select = self.query_one(selector, Select)
        current = select.value
        select.set_options([(label(value), value) for value in values])
        if current in values:
            select.value = current

    def set_layer(self, index: int | None, cumulative: bool) -> None:
        """Show packages with bytes in layer `index` (or in any layer up to it when `cumulative`)."""
        self.package_filter = replace(self.package_filter, layer=index, up_to_layer=cumulative)
        self.refresh_rows()

    def sort_next(self) -> None:
        """Sort by the column right of the current one (after the last: the first)."""
        keys = [key for key, _ in COLUMNS if key in self._shown_keys]
        current = keys.index(self.sort_column) if self.sort_column in keys else -1
        self.sort_by(keys[(current + 1) % len(keys)])

    def sort_by(self, column: str) -> None:
        """Sort by `column`; sorting by the same column again reverses the order."""
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, column not in ("name", "version", "environment", "lock")
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """Apply search, filters and sort to the table."""
        self.shown_rows = sort_packages(self.package_filter.apply(self.rows), self.sort_column, self.sort_reverse)
        table = self.query_one(DataTable)
        table.clear(columns=True)  # widths follow the rows shown, whatever was shown before
        self._add_columns(table)
        for row in self.shown_rows:
            table.add_row(*self._row_cells(row), key="|".join(row.key))
        self.post_message(self.Filtered(self, self.shown_rows))

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    @on(SearchBox.Left)
    def _left_box(self, event: SearchBox.Left) -> None:
        event.stop()
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#package-search")
    def _search(self, event: Input.Changed) -> None:
        self.package_filter = replace(self.package_filter, text=event.value)
        self.refresh_rows()

    @on(Input.Changed, "#package-min-size")
    def _min_size(self, event: Input.Changed) -> None:
        try:
            minimum = parse_size(event.value) if event.value.strip() else 0
        except ValueError:
            event.input.add_class("-invalid")
            return
        event.input.remove_class("-invalid")
        self.package_filter = replace(self.package_filter, min_bytes=minimum)
        self.refresh_rows()

    @on(Select.Changed)
    def _select(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        field = {"lock-filter": "lock_status", "group-filter": "group", "env-filter": "environment"}[event.select.id or ""]
        self.package_filter = replace(self.package_filter, **{field: value})
        self.refresh_rows()
