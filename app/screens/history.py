"""Churn across tags (`uvscope history`): a table and a chart of new bytes per image.

The images' metadata is read in a thread worker under a loading indicator; a
failure is shown in the summary line (`WorkerScreen`).
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Header, LoadingIndicator, Static
from textual.worker import Worker

from uvscope.analysis.output.history import HistoryEntry, image_history
from uvscope.analysis.output.markdown import HISTORY_ENGINE_NOTE
from uvscope.analysis.output.text import count, size
from uvscope.widgets.key_footer import KeyFooter
from uvscope.widgets.plots import SolidBarPlot
from uvscope.widgets.text import plain

from .base import WorkerScreen

MB = 1_000_000


class HistoryScreen(WorkerScreen):
    """Each tag's size, new and reused bytes, oldest first, and the churn over time."""

    HELP_TITLE = "uvscope history: churn across tags"
    HELP_EXTRA = (("tab shift+tab", "move between the table and the chart"), ("↑ ↓", "move in the table"))

    class Loaded(Message):
        """The images' metadata was read."""

        def __init__(self, entries: list[HistoryEntry]) -> None:
            super().__init__()
            self.entries = entries

    def __init__(self, load_metas, layer_size=None, notes: list[str] | None = None) -> None:
        super().__init__()
        self.load_metas = load_metas
        self.layer_size = layer_size
        self.notes = notes if notes is not None else []
        self.entries: list[HistoryEntry] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("reading image metadata…", id="history-summary")
        yield LoadingIndicator()
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield SolidBarPlot(id="history-plot")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, name="reading the images' metadata")
    def load(self) -> None:
        """Metadata only: no layer is read (a failure: `worker_failed`)."""
        self.post_message(self.Loaded(image_history(self.load_metas(), self.layer_size)))

    def worker_failed(self, worker: Worker, message: str) -> None:
        """The summary line says why there is no table."""
        self.query_one("#history-summary", Static).update(Text.assemble(("error: ", "bold red"), plain(message)))
        super().worker_failed(worker, message)

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.entries = message.entries
        self.query_one(LoadingIndicator).display = False
        churn = sum(entry.new_bytes for entry in message.entries[1:])
        summary = f"{count(len(message.entries), 'image')}; after the first, each re-shipped {size(churn // max(1, len(message.entries) - 1))} on average"
        if any(entry.size_source == "engine" for entry in message.entries):
            summary += "\n" + HISTORY_ENGINE_NOTE
        text = Text(summary)
        for note in self.notes:
            text.append("\nnote: ", style="bold yellow").append(plain(note))
        self.query_one("#history-summary", Static).update(text)
        table = self.query_one(DataTable)
        table.add_columns("image", "created", "size", "new", "reused", "new layers")
        for entry in message.entries:
            mark = "~" if entry.size_source == "engine" else ""
            table.add_row(
                plain(entry.ref),
                plain(entry.created[:19]),
                mark + size(entry.size_bytes),
                mark + size(entry.new_bytes),
                mark + size(entry.reused_bytes),
                str(entry.new_layers),
            )
        plot = self.query_one(SolidBarPlot)
        plt = plot.plt
        plt.clear_data()
        plt.title("new bytes per image (MB): what each push re-ships")
        labels = [entry.ref.rpartition(":")[2] or entry.ref for entry in message.entries]
        plt.bar(labels, [entry.new_bytes / MB for entry in message.entries])
        plot.refresh()
