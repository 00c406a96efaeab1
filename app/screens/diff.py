"""Side by side: what changed between two images (`uvscope diff A B`).

Both images are read and diffed in a thread worker under a loading indicator;
a failure is shown in the summary line (`WorkerScreen`).
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Header, LoadingIndicator, Static
from textual.worker import Worker

from uvscope.analysis.output.diff import diff_images, diff_summary
from uvscope.analysis.output.text import size
from uvscope.analysis.packages.analysis_cache import read_and_analyse
from uvscope.analysis.views.browse import short_command
from uvscope.widgets.key_footer import KeyFooter
from uvscope.widgets.text import plain

from .base import WorkerScreen

STATUS_STYLE = {"shared": "dim", "new": "bold yellow"}
KIND_STYLE = {"added": "green", "removed": "red", "upgraded": "cyan", "downgraded": "magenta", "re-shipped": "yellow", "rebuilt": "yellow"}


class DiffScreen(WorkerScreen):
    """Layers of A and B side by side (shared or new), and the package changes."""

    BINDINGS = [Binding("tab", "focus_next", "Next table", show=False)]
    HELP_TITLE = "uvscope diff: what changed between two images"
    HELP_EXTRA = (("↑ ↓", "move in a table"), ("click a row", "select it"))

    class Compared(Message):
        """Both images were read and diffed."""

        def __init__(self, document: dict) -> None:
            super().__init__()
            self.document = document

    def __init__(
        self,
        ref_a: str,
        ref_b: str,
        open_source,
        source: str = "auto",
        project: str | None = None,
        cache=None,
        *,
        platform: str | None = None,
        stream: bool = False,
    ) -> None:
        super().__init__()
        self.cache = cache
        """The layer cache (`LayerCache`) both reads use, and the finished analyses it keeps; None for none."""
        self.refs = (ref_a, ref_b)
        self.open_source = open_source
        self.source = source
        self.platform = platform
        self.stream = stream
        self.project = project
        self.document: dict | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"reading {self.refs[0]} and {self.refs[1]}…", id="diff-summary")
        yield LoadingIndicator()
        with Horizontal(id="diff-layers"):
            with Vertical():
                yield Static(f"[b]A[/b] {self.refs[0]}")
                yield DataTable(id="layers-a", cursor_type="row", zebra_stripes=True)
            with Vertical():
                yield Static(f"[b]B[/b] {self.refs[1]}")
                yield DataTable(id="layers-b", cursor_type="row", zebra_stripes=True)
        yield Static("[b]packages[/b]")
        yield DataTable(id="diff-packages", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.compare()

    @work(thread=True, exclusive=True, exit_on_error=False, name="comparing the images")
    def compare(self) -> None:
        """Read both images and diff them (a failure: `worker_failed`)."""
        sides = []
        for ref in self.refs:
            source = self.open_source(ref, self.source, platform=self.platform, stream=self.stream)
            try:
                sides.append(read_and_analyse(source, self.project, cache=self.cache))
            finally:
                source.close()
        self.post_message(self.Compared(diff_images(sides[0][0], sides[0][1], sides[1][0], sides[1][1])))

    def worker_failed(self, worker: Worker, message: str) -> None:
        """The summary line says why there is nothing to compare."""
        self.query_one("#diff-summary", Static).update(Text.assemble(("error: ", "bold red"), plain(message)))
        super().worker_failed(worker, message)

    @on(Compared)
    def _compared(self, message: Compared) -> None:
        doc = self.document = message.document
        self.query_one(LoadingIndicator).display = False
        self.query_one("#diff-summary", Static).update(diff_summary(doc))
        b_ids = {layer["diff_id"] for layer in doc["layers"]}
        table_a = self.query_one("#layers-a", DataTable)
        table_a.add_columns("#", "diff_id", "in B")
        for index, diff_id in enumerate(doc["a"]["diff_ids"]):
            table_a.add_row(str(index), diff_id[7:19], Text("shared" if diff_id in b_ids else "not in B", style="dim"))
        table_b = self.query_one("#layers-b", DataTable)
        table_b.add_columns("#", "status", "size", "identical", "command")
        for layer in doc["layers"]:
            table_b.add_row(
                str(layer["index"]),
                Text(layer["status"], style=STATUS_STYLE[layer["status"]]),
                size(layer["size_bytes"]),
                size(layer["identical_content_bytes"]) if layer["status"] == "new" else "",
                Text(short_command(layer.get("created_by", ""), 50)),
            )
        packages = self.query_one("#diff-packages", DataTable)
        packages.add_columns("change", "package", "from", "to", "bytes")
        for kind, name, old, new_version, nbytes in self.package_rows():
            packages.add_row(Text(kind, style=KIND_STYLE.get(kind, "")), plain(name), plain(old), plain(new_version), nbytes)

    def package_rows(self) -> list[tuple[str, str, str, str, str]]:
        """(change, name, from, to, bytes) rows of the packages table."""
        if self.document is None:
            return []
        packages = self.document["packages"]
        rows = [("added", p["name"], "", p["version"], size(p["bytes"])) for p in packages["added"]]
        rows += [("removed", p["name"], p["version"], "", size(p["bytes"])) for p in packages["removed"]]
        rows += [(p["direction"], p["name"], p["from"], p["to"], f"{p['bytes_delta']:+,}") for p in packages["changed"]]
        rows += [("re-shipped", p["name"], p["version"], p["version"], size(p["bytes"])) for p in packages["reinstalled_identical"]]
        rows += [("rebuilt", p["name"], p["version"], p["version"], size(p["bytes"])) for p in packages.get("reinstalled_changed", [])]
        return rows
