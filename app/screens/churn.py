"""The churn view: when each layer of a grouping changed over uv.lock's git history, and what each change cost.

Opened from the grouping editor (`c`) for the grouping on screen: a chart of
the bytes each lock change pushed, stacked by layer, against today's single
layer, and a table naming each commit, the packages it changed and the
layers it rebuilt.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from uvscope.analysis.output.text import size
from uvscope.analysis.plan.layer_plan import Replay
from uvscope.widgets.churn_plot import ChurnPlot
from uvscope.widgets.text import plain


class ChurnScreen(Screen):
    """Bytes pushed per lock change: today (one layer) and with the grouping."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, today: Replay, planned: Replay) -> None:
        super().__init__()
        self.today = today
        self.planned = planned

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="churn-summary")
        yield Static(id="churn-legend")
        yield ChurnPlot(id="churn-plot")
        yield DataTable(id="churn-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        groups = " + ".join(f"{g.name} [{', '.join(g.packages)}]" for g in self.planned.grouping.groups) or "no groups"
        self.query_one("#churn-summary", Static).update(
            Text.assemble(
                f"over the last {len(self.planned.steps)} lock changes: ",
                # each space ends a part: an SVG viewer drops the spaces that start one
                (f"{size(self.today.total)} ", "bold"),
                "pushed today, ",
                (f"{size(self.planned.total)} ", "bold"),
                "with ",
                plain(groups),
            )
        )
        plot = self.query_one(ChurnPlot)
        plot.show(self.today, self.planned)
        self.query_one("#churn-legend", Static).update(plot.legend())
        table = self.query_one(DataTable)
        table.add_columns("#", "date", "commit", "changed", "today", "with the groups", "layers rebuilt")
        for number, (today, planned) in enumerate(zip(self.today.steps, self.planned.steps), start=1):
            touched = sorted(today.step.touched)
            changed = ", ".join(touched[:4]) + (f" +{len(touched) - 4}" if len(touched) > 4 else "")
            table.add_row(
                str(number),
                today.step.date[:10],
                plain(today.step.label[:40]),
                plain(changed),
                size(today.bytes),
                size(planned.bytes),
                plain(" ".join(planned.rebuilt)),
            )
