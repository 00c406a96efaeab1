"""Charts of an image (plotext through textual-plotext).

Both charts are drawn for the size they are rendered at: the bar chart shows
only as many packages as it has rows for, each bar on whole rows level with
its label, and the layer chart's legend is a line of its own above the
chart (plotext's legend would cover the first bars).
"""

from __future__ import annotations

import math
import re

from rich.style import Style
from rich.text import Span, Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from uvscope.analysis.image.model import Image
from uvscope.analysis.packages.python import PythonAnalysis
from uvscope.analysis.untrusted import shown
from uvscope.analysis.views.browse import stacked_layer_series

MB = 1_000_000
COLORS = [(78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79), (237, 201, 72), (176, 122, 161)]
"""Series colours, shared by the bars and the legend."""
OTHER = (186, 176, 172)
FRAME_ROWS = 4
"""Rows plotext spends outside the bars: title, top and bottom frame, x tick labels."""


BLOCK = "\u2588"


def solid_bars(text: Text) -> Text:
    """`text` with each run of plotext's `█` drawn as spaces on the bar's colour.

    A terminal's `█` rarely fills the whole line height: stacked rows of it show
    as stripes (in many fonts, and in every SVG screenshot). A coloured
    background fills the cell exactly.
    """
    plain = text.plain
    if BLOCK not in plain:
        return text
    fills: list[Span] = []
    for span in text.spans:
        color = span.style.color if isinstance(span.style, Style) else None
        if color is None:
            continue
        for run in re.finditer(f"{BLOCK}+", plain[span.start : span.end]):
            fills.append(Span(span.start + run.start(), span.start + run.end(), Style(bgcolor=color)))
    solid = Text(plain.replace(BLOCK, " "), style=text.style, justify=text.justify, no_wrap=text.no_wrap, end=text.end)
    solid.spans = [*text.spans, *fills]
    return solid


class SolidBarPlot(PlotextPlot):
    """A plotext chart whose vertical bars are drawn as solid coloured cells (see `solid_bars`)."""

    def render(self) -> RenderResult:
        rendered = super().render()
        return solid_bars(rendered) if isinstance(rendered, Text) else rendered


BAR_WIDTH = 0.8
"""A stacked bar's width, in x units (bars stand 1 apart)."""


def draw_stacked_bars(plt, labels: list[str], series: list[list[float]], colors: list[tuple[int, int, int]], least: float = 0.0) -> None:
    """Stacked bars at x = 1..N (labelled `labels`), `series` bottom first, each in its colour.

    plotext's own `stacked_bar` paints a zero-height piece as blank cells over the row of zero, erasing
    the piece below it: a light bar above an empty series vanished or floated a row up. Here each
    series' running total is drawn as bars of its own, top series first, only where the series has
    bytes, so every piece keeps its colour and a light bar still fills the bottom row. Bars whose whole
    stack is under `least` are not drawn (plotext would give a few bytes a whole row).
    """
    positions = list(range(1, len(labels) + 1))
    totals = [[sum(values[: level + 1]) for values in zip(*series)] for level in range(len(series))]
    stacks = totals[-1] if totals else []
    for level in reversed(range(len(series))):
        shown = [(x, total) for x, total, own, stack in zip(positions, totals[level], series[level], stacks) if own > 0 and stack >= least]
        if shown:
            xs = [x for x, _ in shown]
            # plotext scales a bar's width by the mean gap of the x it is given: undone, so every bar is 0.8 wide
            width = BAR_WIDTH * (len(xs) - 1) / (xs[-1] - xs[0]) if len(xs) > 1 else BAR_WIDTH
            plt.bar(xs, [total for _, total in shown], color=colors[level], width=width)
    plt.xticks(positions, labels)
    plt.xlim(0.5, len(labels) + 0.5)


def nice_step(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value` (> 0)."""
    power = 10 ** math.floor(math.log10(value))
    return next(power * factor for factor in (1, 2, 2.5, 5, 10) if power * factor >= value)


def even_y_axis(top: float, rows: int) -> tuple[float, list[float]]:
    """(the axis' upper limit, its ticks) for data up to `top` on a plot area of `rows` rows.

    plotext puts the value y on row round(y / limit * (rows - 1)); ticks at round multiples of a step
    land a whole number of rows apart only if the limit is chosen for that: with n intervals of m rows,
    the limit is step * (rows - 1) / m, so tick k sits exactly on row k * m and the labels are evenly spaced.
    """
    if top <= 0 or rows < 3:
        return (1.0, [0.0, 1.0])
    for intervals in (5, 4, 3, 2, 1):
        rows_each = (rows - 1) // intervals
        if rows_each >= 2 or intervals == 1:
            break
    step = nice_step(top / intervals)
    return (step * (rows - 1) / rows_each, [step * k for k in range(intervals + 1)])


def set_even_y_axis(plt, top: float, height: int, frame_rows: int) -> float:
    """Apply `even_y_axis` to a plotext figure `height` rows tall, `frame_rows` of them outside the plot area;
    return what one row of the plot stands for."""
    rows = height - frame_rows
    limit, ticks = even_y_axis(top, rows)
    plt.ylim(0, limit)
    plt.yticks(ticks, [f"{tick:g}" for tick in ticks])
    return limit / max(1, rows - 1)


def nice_ticks(top: float, most: int = 5) -> list[float]:
    """Round ticks from 0 up to `top` at most: 1, 2, 2.5 or 5 times a power of ten apart, at most `most` + 1."""
    if top <= 0:
        return [0.0]
    step = nice_step(top / most)
    return [step * k for k in range(int(top / step + 1e-9) + 1)]


def series_colors(names: list[str]) -> dict[str, tuple[int, int, int]]:
    """A colour per series, `other` always grey."""
    colors: dict[str, tuple[int, int, int]] = {}
    for name in names:
        colors[name] = OTHER if name == "other" else COLORS[len([n for n in colors if n != "other"]) % len(COLORS)]
    return colors


def rgb(color: tuple[int, int, int]) -> str:
    """A Rich style for one of the series colours."""
    return f"rgb({color[0]},{color[1]},{color[2]})"


def series_legend(names: list[str]) -> Text:
    """`■ numpy ■ scipy ■ other`: each series name after a square in its colour (`series_colors`)."""
    text = Text()
    for name, color in series_colors(names).items():
        text.append("■ ", style=rgb(color))
        text.append(f"{shown(name)}  ")
    return text


class LayerSizePlot(SolidBarPlot):
    """Per-layer size in MB, stacked by the image's largest packages; `legend()` is shown beside it, not over the bars."""

    DEFAULT_CSS = "LayerSizePlot { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels: list[str] = []
        self.series: dict[str, list[int]] = {}

    def show(self, image: Image, python: PythonAnalysis | None) -> None:
        labels, series = stacked_layer_series(image, python, top=5)
        self.labels = labels
        self.series = {name: values for name, values in series.items() if any(values)}
        self.refresh()

    def legend(self) -> Text:
        """`■ numpy ■ scipy ■ other`, in the bars' colours."""
        return series_legend(list(self.series))

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("layer sizes (MB), by package")
        if self.series:
            colors = series_colors(list(self.series))
            top = max(sum(column) for column in zip(*self.series.values())) / MB
            row = set_even_y_axis(plt, top, self.size.height, FRAME_ROWS + 1)  # + the x label's row
            # a layer under half a row is left out: plotext would draw its few bytes a row tall
            values = [[value / MB for value in values] for values in self.series.values()]
            draw_stacked_bars(plt, self.labels, values, [colors[name] for name in self.series], least=row / 2)
        plt.xlabel("layer")
        return super().render()


class TopPackagesPlot(PlotextPlot):
    """The largest packages by bytes: as many as there are rows for, each bar level with its label."""

    DEFAULT_CSS = "TopPackagesPlot { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[tuple[str, int]] = []

    def show(self, python: PythonAnalysis | None, count: int = 10) -> None:
        dists = list(python.attribution.distributions[:count]) if python is not None else []
        self.items = [(d.name[:18], d.bytes) for d in dists]
        self.refresh()

    def shown_items(self, height: int) -> list[tuple[str, int]]:
        """The packages that fit `height` rows (one row each at least), largest first."""
        return self.items[: max(1, height - FRAME_ROWS)] if self.items else []

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("largest packages (MB)")
        items = self.shown_items(self.size.height)
        height = self.size.height
        if items:
            # Whole rows per bar and a hairline bar width: plotext then draws each bar on its label's row.
            per_bar = max(1, (self.size.height - FRAME_ROWS) // len(items))
            height = len(items) * per_bar + FRAME_ROWS
            plt.bar(
                [name for name, _ in reversed(items)],
                [nbytes / MB for _, nbytes in reversed(items)],
                orientation="horizontal",
                width=0.01,
            )
            plt.ylim(0.5, len(items) + 0.5)
            largest = max(nbytes for _, nbytes in items) / MB
            plt.xlim(0, largest)
            ticks = nice_ticks(largest, max(2, min(5, self.size.width // 20)))
            plt.xticks(ticks, [f"{tick:g}" for tick in ticks])
        plt.plotsize(self.size.width, height)
        plt._set_size(self.size.width, height)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        return Text.from_ansi(plt.build())  # one bar a row: the glyphs' gaps keep neighbouring bars apart
