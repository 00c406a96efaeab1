"""The session as people look at it (issue 26): the header names the image, nothing but the footer sits at
the bottom of the Layers view, the highlighted layer is shown in full under the table, and the plots'
y-axis labels are evenly spaced round numbers, their bars solid."""

from __future__ import annotations

import re

import plotext
import pytest
from pilot import loaded
from rich.text import Text

from uvscope.analysis.output.text import image_title
from uvscope.app.app import make_app
from uvscope.widgets.layer_detail import LayerDetailPanel
from uvscope.widgets.layer_table import LayerTable
from uvscope.widgets.plots import even_y_axis, set_even_y_axis, solid_bars


def test_the_header_names_the_image_not_its_cache_path():
    assert image_title("/root/.cache/uvscope/demo-image.oci.tar") == "demo-image.oci.tar"
    assert image_title("/root/.cache/uvscope/demo-image.oci.tar", ("uvscope-demo:latest",)) == "uvscope-demo:latest"
    assert image_title("ghcr.io/astral-sh/uv:0.9") == "ghcr.io/astral-sh/uv:0.9"
    assert image_title("oci-archive:/tmp/out/app.tar:v1") == "app.tar"
    assert image_title("./build/layout") == "layout"


async def test_the_layers_view_shows_the_highlighted_layer_whole(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await loaded(app, pilot)
        table = screen.query_one(LayerTable)
        assert not table.show_horizontal_scrollbar  # long commands are cut; no scrollbar left at the bottom
        panel = screen.query_one(LayerDetailPanel)
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await pilot.pause()
            text = str(panel.query_one("#layer-detail-text").render())
            layer = screen.image.layers[row]
            assert text.startswith(f"layer {row}")
            command = " ".join(layer.created_by.split())
            assert command[:60] in " ".join(text.split()), (command, text)
            assert f"added {sum(1 for c in layer.added if not c.folder):,} file" in text
            packages = [d for d in screen.python.attribution.distributions if row in d.layer_bytes]
            assert all(d.name in text for d in packages[:12])
            files = sorted((c.size, c.path) for c in layer.added + layer.modified + layer.removed if not c.folder)
            if files:
                listed = text.split("largest changes\n", 1)[1].splitlines()
                assert len(listed) == min(10, len(files))
                assert f"/{files[-1][1]}" in listed[0]  # the largest first
                sizes = [c.size for c in layer.added + layer.modified + layer.removed if not c.folder and f"/{c.path}" in text]
                assert min(sizes) >= sorted((s for s, _ in files), reverse=True)[len(listed) - 1]
            else:
                assert "largest changes" not in text
        assert "ProgressBar" not in {type(w).__name__ for w in screen.query("*") if w.display and w.region.height}


@pytest.mark.parametrize("height", range(9, 23))
@pytest.mark.parametrize("top", [0.4, 7.3, 75.6, 1234.0, 9500.0])
def test_plot_y_labels_are_evenly_spaced_round_numbers(height, top):
    limit, ticks = even_y_axis(top, height - 5)
    assert ticks[-1] >= top and limit >= ticks[-1]
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1
    assert re.fullmatch(r"(1|2|25|5)0*|2\.5|0\.0*(1|2|25|5)", f"{steps.pop():g}")
    plotext.clear_figure()
    plotext.clear_data()
    plotext.title("t")
    plotext.stacked_bar(["0", "1"], [[top * 0.5, top]])
    plotext.xlabel("layer")
    set_even_y_axis(plotext, top, height, 5)
    plotext.plotsize(80, height)
    plotext.theme("clear")
    lines = plotext.uncolorize(plotext.build()).split("\n")
    rows = [i for i, line in enumerate(lines) if re.match(r"^\s*[0-9.e+]+\s*┤", line)]
    assert len(rows) == len(ticks)
    assert len({b - a for a, b in zip(rows, rows[1:])}) == 1, rows


def test_plot_bars_are_solid_cells_not_block_glyphs():
    """Rows of `█` leave a gap at each line in many fonts and in every screenshot: bars are coloured cells."""
    plotext.clear_figure()
    plotext.clear_data()
    plotext.stacked_bar(["0", "1"], [[1.0, 5.0], [2.0, 1.0]], color=[(78, 121, 167), (242, 142, 43)])
    plotext.plotsize(40, 12)
    drawn = Text.from_ansi(plotext.build())
    blocks = drawn.plain.count("\u2588")
    assert blocks > 20
    solid = solid_bars(drawn)
    assert "\u2588" not in solid.plain and len(solid.plain) == len(drawn.plain)
    filled = sum(
        span.end - span.start
        for span in solid.spans
        if span.style.bgcolor is not None and span.style.bgcolor.triplet in {(78, 121, 167), (242, 142, 43)}
    )
    assert filled == blocks
