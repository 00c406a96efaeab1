"""Churn across tags (`uvscope history`): a table and a chart of new bytes per image."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual_plotext import PlotextPlot

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.output.history import HistoryEntry, image_history
from uvscope.analysis.output.markdown import HISTORY_ENGINE_NOTE
from uvscope.analysis.output.text import count, size
from uvscope.widgets.key_footer import KeyFooter

MB = 1_000_000


class HistoryScreen(Screen):
    """Each tag's size, new and reused bytes, oldest first, and the churn over time."""

    HELP_TITLE = "uvscope history: churn across tags"
    HELP_EXTRA = (("tab shift+tab", "move between the table and the chart"), ("↑ ↓", "move in the table"))

    class Loaded(Message):
        def __init__(self, entries: list[HistoryEntry]) -> None:
            super().__init__()
            self.entries = entries

    class Failed(Message):
        def __init__(self, message: str) -> None:
            super().__init__()
            self.message = message

    def __init__(self, load_metas, layer_size=None, notes: list[str] | None = None) -> None:
        super().__init__()
        self.load_metas = load_metas
        self.layer_size = layer_size
        self.notes = notes if notes is not None else []
        self.entries: list[HistoryEntry] = []
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("reading image metadata…", id="history-summary")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield PlotextPlot(id="history-plot")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        """Metadata only: no layer is read."""
        try:
            self.post_message(self.Loaded(image_history(self.load_metas(), self.layer_size)))
        except UvscopeError as error:
            self.post_message(self.Failed(str(error)))

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.error = message.message
        self.query_one("#history-summary", Static).update(f"[b red]error:[/] {message.message}")

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.entries = message.entries
        churn = sum(entry.new_bytes for entry in message.entries[1:])
        summary = f"{count(len(message.entries), 'image')}; after the first, each re-shipped {size(churn // max(1, len(message.entries) - 1))} on average"
        if any(entry.size_source == "engine" for entry in message.entries):
            summary += "\n" + HISTORY_ENGINE_NOTE
        summary += "".join(f"\n[b yellow]note:[/] {note}" for note in self.notes)
        self.query_one("#history-summary", Static).update(summary)
        table = self.query_one(DataTable)
        table.add_columns("image", "created", "size", "new", "reused", "new layers")
        for entry in message.entries:
            mark = "~" if entry.size_source == "engine" else ""
            table.add_row(
                entry.ref,
                entry.created[:19],
                mark + size(entry.size_bytes),
                mark + size(entry.new_bytes),
                mark + size(entry.reused_bytes),
                str(entry.new_layers),
            )
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.title("new bytes per image (MB): what each push re-ships")
        labels = [entry.ref.rpartition(":")[2] or entry.ref for entry in message.entries]
        plt.bar(labels, [entry.new_bytes / MB for entry in message.entries])
        plot.refresh()
