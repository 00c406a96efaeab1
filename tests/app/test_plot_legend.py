"""`series_legend`: the one legend of the charts' series (the layer sizes and the churn chart)."""

from __future__ import annotations

from uvscope.widgets.plots import COLORS, OTHER, rgb, series_legend


def test_each_series_after_a_square_in_its_colour_other_grey():
    legend = series_legend(["numpy", "other", "scipy"])
    assert legend.plain == "■ numpy  ■ other  ■ scipy  "
    squares = [str(span.style) for span in legend.spans]
    assert squares == [rgb(COLORS[0]), rgb(OTHER), rgb(COLORS[1])]
    assert rgb((1, 2, 3)) == "rgb(1,2,3)"
