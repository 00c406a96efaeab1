"""Charts of an image (plotext through textual-plotext)."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from uvscope.analysis.browse import stacked_layer_series
from uvscope.analysis.model import Image
from uvscope.analysis.python import PythonAnalysis

MB = 1_000_000


class LayerSizePlot(PlotextPlot):
    """Per-layer size in MB, stacked by the image's largest packages."""

    DEFAULT_CSS = "LayerSizePlot { height: 1fr; }"

    def show(self, image: Image, python: PythonAnalysis | None) -> None:
        labels, series = stacked_layer_series(image, python, top=5)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("layer sizes (MB), by package")
        names = [name for name, values in series.items() if any(values)]
        plt.stacked_bar(labels, [[value / MB for value in series[name]] for name in names], labels=names)
        plt.xlabel("layer")
        self.refresh()


class TopPackagesPlot(PlotextPlot):
    """The largest packages by bytes."""

    DEFAULT_CSS = "TopPackagesPlot { height: 1fr; }"

    def show(self, python: PythonAnalysis | None, count: int = 10) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("largest packages (MB)")
        dists = list(python.attribution.distributions[:count]) if python is not None else []
        if dists:
            plt.bar([d.name[:18] for d in reversed(dists)], [d.bytes / MB for d in reversed(dists)], orientation="horizontal")
        self.refresh()
