"""The churn chart: per lock change, the bytes each layer of a grouping rebuilt, and today's single layer.

Bars are stacked by layer (bottom group first, then the rest), in the layer
chart's colours; a line shows what the same change pushed with one dependency
layer. The x axis is the lock change's number, oldest first (the table under
the chart names each commit).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult

from uvscope.analysis.plan.layer_plan import Replay

from .plots import FRAME_ROWS, SolidBarPlot, draw_stacked_bars, rgb, series_colors, series_legend, set_even_y_axis

MB = 1_000_000
TODAY = (186, 176, 172)


class ChurnPlot(SolidBarPlot):
    """MB pushed per lock change, stacked by layer; `legend()` goes on a line of its own above it."""

    DEFAULT_CSS = "ChurnPlot { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.today: Replay | None = None
        self.planned: Replay | None = None

    def show(self, today: Replay, planned: Replay) -> None:
        """Chart `planned` against `today` over the same steps."""
        self.today, self.planned = today, planned
        self.refresh()

    def series(self) -> dict[str, list[int]]:
        """Layer name -> bytes it rebuilt at each step (layers that never rebuilt are left out).

        A step's bytes (from the Dockerfile walk when there is a Dockerfile: uv's cache left in a layer
        counts too) are split over the layers it rebuilt in proportion to their packages' bytes, so each
        bar is as tall as the step's figure in the table."""
        if self.planned is None:
            return {}
        sizes = {layer.name: layer.bytes for layer in self.planned.layers}
        result: dict[str, list[int]] = {layer.name: [] for layer in self.planned.layers}
        for step in self.planned.steps:
            share = sum(sizes[name] for name in step.rebuilt) or 1
            for name, values in result.items():
                values.append(round(step.bytes * sizes[name] / share) if name in step.rebuilt else 0)
        return {name: values for name, values in result.items() if any(values)}

    def legend(self) -> Text:
        """`■ heavy ■ rest ─ one layer (today)`, in the chart's colours."""
        text = series_legend(list(self.series()))
        text.append("── ", style=rgb(TODAY))
        text.append("one layer (today)")
        return text

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("MB pushed per lock change, by layer")
        series = self.series()
        if series and self.today is not None and self.planned is not None:
            labels = [str(number) for number in range(1, len(self.today.steps) + 1)]
            colors = series_colors(list(series))
            draw_stacked_bars(
                plt, labels, [[value / MB for value in values] for values in series.values()], [colors[name] for name in series]
            )
            # bars stand at x = 1..N (their labels' positions): the line uses the same numbers
            plt.plot(list(range(1, len(labels) + 1)), [step.bytes / MB for step in self.today.steps], color=TODAY, marker="braille")
            # a light change's bar can be a sliver next to a heavy one: each bar says its total above it
            top = max(step.bytes for step in self.today.steps) / MB
            # round, evenly spaced labels, room for the totals above the bars, and a row under zero: the
            # lightest change's bar still shows beside the heaviest one's
            set_even_y_axis(plt, top * 1.15, self.size.height, FRAME_ROWS + 1)
            for number, step in enumerate(self.planned.steps, start=1):
                plt.text(
                    f"{step.bytes / MB:.1f}", number, step.bytes / MB + top * 0.1, alignment="center", background="default", color="default"
                )
        plt.xlabel("lock change")
        return super().render()
