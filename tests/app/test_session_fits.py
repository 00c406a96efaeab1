"""The session as people look at it, second pass (issue 26): spaces survive in screenshots, the header
names the image (the demo's too), the tables fit 120 columns with no horizontal scrollbar, and no
progress bar is left once the read is done."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import plotext
from pilot import loaded, open_grouping
from rich.text import Text
from sessionimage import Venv
from tarbuilder import docker_save_legacy, layer_tar
from textual.widgets import DataTable, ProgressBar

from uvscope.app import demo
from uvscope.app.app import make_app
from uvscope.app.screens.help import help_rows
from uvscope.widgets.columns import fit_widths
from uvscope.widgets.group_board import GroupBoard, GroupColumn, PackageCard
from uvscope.widgets.key_footer import KeyFooter
from uvscope.widgets.layer_table import LayerTable
from uvscope.widgets.plots import TopPackagesPlot, draw_stacked_bars

NBSP = "\xa0"
LONG_NAME = "a-distribution-whose-name-goes-on-and-on-for-a-while"


async def test_a_screenshot_keeps_the_spaces_that_start_a_run_of_text(session_tar):
    """Textual writes each run of one style as its own `<text>`: `q` then ` Quit`. librsvg drops the spaces a
    `<text>` starts with unless told to preserve them, which made the README's pictures read "layersheavy:"."""
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        root = ET.fromstring(app.export_screenshot())
    assert root.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    texts = [element.text or "" for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any(text.startswith(NBSP) and text.strip(NBSP) for text in texts)  # the case it is for is in the picture


async def test_the_header_names_the_image_and_says_where_it_was_read(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        assert app.title == "svc:1.0"  # the archive's tag, not its file
        assert app.sub_title == "linux/amd64 · svc.tar"


async def test_the_demo_is_called_by_its_name(tmp_path):
    """The demo image is read from the cache; the header says `uvscope-demo:latest`, not the cache's file name."""
    archive = tmp_path / demo.IMAGE_NAME
    archive.write_bytes(demo._oci_tar([(layer_tar(("file", "app/a.txt", b"a")), "COPY a.txt /app/")]))
    app = make_app(str(archive))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        assert app.title == demo.TAG == "uvscope-demo:latest"
        assert str(tmp_path) in app.sub_title


async def test_the_demo_from_uvscopes_own_cache_does_not_show_the_cache_path(tmp_path, monkeypatch):
    """`uvscope demo` reads its image from uvscope's cache folder: a path the user never typed, so not in the header."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = demo.cache_folder()
    folder.mkdir(parents=True)
    archive = folder / demo.IMAGE_NAME
    archive.write_bytes(demo._oci_tar([(layer_tar(("file", "app/a.txt", b"a")), "COPY a.txt /app/")]))
    app = make_app(str(archive))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        assert app.title == "uvscope-demo:latest"
        assert app.sub_title == "linux/amd64"


def long_names_archive() -> bytes:
    """The session image with a distribution whose name and version are long, in two environments."""
    venv, other = Venv(), Venv(python="3.12")
    deps = layer_tar(
        *venv.synced(
            ("numpy", "2.1.0", {"numpy/core/_multiarray.so": 9_000_000}), (LONG_NAME, "2024.12.31.post1", {"x/__init__.py": 5_000})
        ),
        *other.dist("requests", "2.32.0", {"requests/__init__.py": 5_000}),
    )
    long_command = "RUN " + " && ".join(f"echo step-{n} > /tmp/step-{n}.txt" for n in range(12))
    return docker_save_legacy([deps, layer_tar(("file", "tmp/x", b"x"))], tag="wide:1", commands=["RUN uv sync", long_command])


async def test_the_tables_fit_120_columns_and_the_progress_bar_is_gone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("wide.tar").write_bytes(long_names_archive())
    app = make_app("wide.tar")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        layers = screen.query_one(LayerTable)
        assert layers.virtual_size.width <= layers.scrollable_content_region.width
        assert any(str(cell).endswith("…") for cell in layers.get_column("command")), list(layers.get_column("command"))
        await pilot.press("2")
        await pilot.pause()
        table = screen.query_one("#package-table", DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width, (table.virtual_size, table.size)
        assert not table.scrollbars_enabled[1]  # no horizontal scrollbar at the bottom
        names = [row[0] for row in (table.get_row_at(i) for i in range(table.row_count))]
        shown = str(table.render_line(1 + next(i for i, n in enumerate(names) if n.plain == LONG_NAME)).text)
        assert LONG_NAME[:11] + "…" in shown and LONG_NAME not in shown
        assert "2024.12.31.post1" in shown  # versions are not cut
        bar = screen.query_one(ProgressBar)
        assert not bar.display or bar.region.height == 0
        assert "environment" in [column.label.plain for column in table.columns.values()]  # two venvs: the column says which


def test_fitting_cuts_the_widest_text_column_first_and_never_below_its_minimum():
    assert fit_widths([20, 10, 30], [4, 4, 4], 100, [0, 2]) == [20, 10, 30]
    assert fit_widths([20, 10, 30], [4, 4, 4], 50, [0, 2]) == [17, 10, 17]
    assert fit_widths([20, 10, 30], [15, 4, 15], 20, [0, 2]) == [15, 10, 15]  # cannot fit: the minimums (the table scrolls)
    assert fit_widths([20, 10, 30], [4, 4, 4], 0, [0, 2]) == [20, 10, 30]  # not laid out yet


def _bottom_row_colours(series, colours, height=12):
    """The bar colours on the plot's bottom row (the row of zero), left to right, one per bar."""
    plotext.clear_figure()
    plotext.clear_data()
    draw_stacked_bars(plotext, [str(n) for n in range(len(series[0]))], series, colours)
    plotext.ylim(0, 100)
    plotext.plotsize(60, height)
    line = Text.from_ansi(plotext.build()).split("\n")[height - 3]
    runs = [(span.start, span.end, span.style.color.triplet) for span in line.spans if span.style.color and span.style.color.triplet]
    return [tuple(colour) for _, _, colour in runs if tuple(colour) in colours], [end - start for start, end, _ in runs]


def test_a_light_bar_above_an_empty_series_keeps_its_row_and_colour():
    """plotext's stacked_bar painted an empty bottom piece blank over the row of zero: the churn chart's light
    changes (1 MB beside 75 MB) showed no bar, or one floating a row up, in the wrong colour."""
    heavy, mid, rest = (78, 121, 167), (242, 142, 43), (225, 87, 89)
    colours, widths = _bottom_row_colours([[0, 0, 70.0, 0], [0, 3.2, 3.2, 0], [1.0, 1.0, 1.0, 1.0]], [heavy, mid, rest])
    assert colours == [rest, mid, heavy, rest]  # each bar's lowest piece with bytes, each bar drawn
    assert len(set(widths)) <= 2 and max(widths) - min(widths) <= 1  # the same width, whichever series a bar has


async def test_the_package_plot_counts_in_round_steps(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        await pilot.press("5")
        await pilot.pause()
        plot = app.screen.query_one(TopPackagesPlot)
        lines = plot.render().plain.split("\n")
        axis = next(i for i in range(len(lines) - 1, 0, -1) if "┬" in lines[i] or "└" in lines[i])
        labels = [float(value) for value in lines[axis + 1].split()]
        assert len(labels) >= 3 and labels[0] == 0
        steps = {round(b - a, 9) for a, b in zip(labels, labels[1:])}
        assert len(steps) == 1 and re.fullmatch(r"(1|2|2\.5|5)(0*)|0\.(0*)(1|2|25|5)", f"{steps.pop():g}"), labels


async def test_the_grouping_board_draws_no_border_glyphs_and_still_shows_focus_and_drop(session_tar):
    """Box-drawing and block glyphs stop short of their cell in many fonts and in every screenshot: the columns'
    `tall` borders (▊ ▎) and the cards' round ones showed a tick at each cell edge. Backgrounds tell them apart."""
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        board = screen.query_one(GroupBoard)
        widgets = [*board.query(GroupColumn), *board.query(PackageCard)]
        assert len(widgets) >= 4
        for widget in widgets:
            assert {edge for edge, _ in (widget.styles.border_top, widget.styles.border_left, widget.styles.border_right)} <= {"", "none"}
            assert "▊" not in "".join(strip.text for strip in widget.render_lines(widget.region.reset_offset))
        focused, other = board.card("numpy"), board.card("requests")
        focused.focus()
        await pilot.pause()
        assert focused.styles.background != other.styles.background  # the focused card stands out
        heavy, rest = board.column("heavy"), board.column("rest")
        await pilot.mouse_down(other)
        await pilot.hover(heavy, offset=(4, 6))
        assert heavy.has_class("-drop-target") and heavy.styles.background != rest.styles.background
        await pilot.press("escape")


async def test_the_help_says_what_each_key_does_once(session_tar):
    """ctrl+q (Textual's, with a tooltip) and q (the app's) both quit: the row read "Quit the app and return
    to the command prompt., Quit"."""
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        rows = dict(help_rows(screen))
        quit_row = next(text for keys, text in rows.items() if "q" in keys.split())
        assert quit_row.count("uit") == 1 and "., " not in quit_row, quit_row
        assert all("., " not in text for text in rows.values()), rows
        assert rows["1 2 3 4 5"] == "Layers, Packages, Files, Waste, Plots"


async def test_the_waste_view_of_a_clean_image_says_none_without_empty_tables(tmp_path):
    archive = tmp_path / "clean.tar"
    archive.write_bytes(demo._oci_tar([(layer_tar(("file", "app/a.txt", b"a")), "COPY a.txt /app/")]))
    app = make_app(str(archive))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("4")
        await pilot.pause()
        for section, title in (("#waste-layers", "Caused by layer"), ("#waste-paths", "By path"), ("#waste-dev", "Dev-group")):
            drawn = "\n".join(strip.text for strip in screen.query_one(section).render_lines(screen.query_one(section).region.reset_offset))
            assert drawn.split("\n")[0].startswith(title) and drawn.split("\n")[1].strip() == "none", drawn
            assert not set(drawn) & set("│┃━─"), drawn  # no rules of an empty table


async def test_an_image_name_in_the_header_is_text_not_markup(tmp_path):
    """An archive's `ref.name` is the image's text: markup and control characters in it are shown as they are."""
    from uvscope.analysis.read.layout import REF_NAME
    from uvscope.analysis.read.oci_writer import image_config, layout_tar, oci_layout

    blob = layer_tar(("file", "app/a.txt", b"a"))
    name = "[link=https://example.invalid]x[/link]\x1b[2J:1"
    archive = tmp_path / "named.tar"
    archive.write_bytes(
        layout_tar(oci_layout(image_config([blob], [{"created_by": "COPY a /app/"}]), [blob], annotations={REF_NAME: name}))
    )
    app = make_app(str(archive))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        header = "".join(
            strip.text for strip in screen.query_one("HeaderTitle").render_lines(screen.query_one("HeaderTitle").region.reset_offset)
        )
        assert "[link=https://example.invalid]x[/link]" in header and "\x1b" not in header and "\\x1b" in header


async def test_the_footer_shows_whole_entries_at_80_columns(session_tar):
    """At 80 columns the footer cut its last entry mid-word (`^l Layer onl`): entries that do not fit are left out
    (the help lists every key), and they come back when the terminal is wide again."""
    app = make_app(session_tar)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, pilot)
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        shown = [child for child in footer.children if child.region.width]
        assert shown and all(child.region.right <= footer.content_region.right for child in shown)
        assert len(shown) < len(footer.children)  # something had to go at this width
        keys = [child.key for child in footer.query("FooterKey") if child.region.width]
        assert "q" in keys and "question_mark" in keys
        await pilot.resize_terminal(160, 24)
        await pilot.pause()
        assert all(child.region.width for child in footer.children)
