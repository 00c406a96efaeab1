"""The interactive session driven with Pilot: first paint, views, filters, keys, errors, quitting."""

from __future__ import annotations

import threading

import pytest
from pilot import loaded
from textual.widgets import Input, TabbedContent, Tree

from uvscope.analysis.errors import LayerError, ReadCancelled, UvscopeError
from uvscope.analysis.read.sources import open_source
from uvscope.app.app import UvscopeApp, make_app
from uvscope.app.screens.help import HelpScreen
from uvscope.app.screens.image_reading import ImageRequest
from uvscope.widgets.file_browser import FileBrowser
from uvscope.widgets.layer_table import LayerTable
from uvscope.widgets.package_table import PackageView


async def test_views_fill_in_and_messages_flow(session_tar):
    seen = []
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40), message_hook=lambda m: seen.append(type(m).__name__)) as pilot:
        screen = await loaded(app, pilot)
        assert screen.complete and screen.error is None
        assert {"MetaLoaded", "Loaded", "LayerSelected"} <= set(seen)
        layers = screen.query_one(LayerTable)
        assert layers.row_count == 4
        assert screen.selected_layer == 3  # the last layer: with "up to it", the whole image
        view = screen.query_one(PackageView)
        assert [row.name for row in view.shown_rows] == ["numpy", "idna", "requests", "pytest", "svc"]
        assert {row.name: row.lock_status for row in view.shown_rows}["numpy"] == "match"
        numpy = view.shown_rows[0]
        assert numpy.closure_bytes == numpy.exclusive_bytes == numpy.bytes


async def test_selecting_a_layer_drives_packages_and_files(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("up", "up")  # layer 1, the dependency layer
        await pilot.pause()
        assert screen.selected_layer == 1
        names = [row.name for row in screen.query_one(PackageView).shown_rows]
        assert "svc" not in names and "numpy" in names  # svc is installed in layer 2
        await pilot.press("ctrl+l", "3")
        await pilot.pause()
        assert screen.cumulative is False
        browser = screen.query_one(FileBrowser)
        assert browser.root_node is not None and set(browser.root_node.children) == {"app", "root"}
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert "usr" in screen.query_one(FileBrowser).root_node.children
        await pilot.press("1", "down")  # back in Layers: the files view follows when shown again
        await pilot.press("3")
        await pilot.pause()
        assert screen.query_one("#file-title").render().plain.startswith("everything up to layer 2")


async def test_sort_by_header_click_search_and_filters(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        view = screen.query_one(PackageView)
        await pilot.click("#package-table", offset=(1, 0))  # the "name" header
        await pilot.pause()
        assert view.sort_column == "name"
        assert [row.name for row in view.shown_rows] == sorted(row.name for row in view.shown_rows)
        await pilot.press("slash")
        assert isinstance(app.focused, Input) and app.focused.id == "package-search"
        await pilot.press("i", "d")
        await pilot.pause()
        assert [row.name for row in view.shown_rows] == ["idna"]
        app.focused.value = ""
        screen.query_one("#package-min-size", Input).value = "1MB"
        await pilot.pause()
        assert [row.name for row in view.shown_rows] == ["numpy"]
        screen.query_one("#package-min-size", Input).value = "lots"
        await pilot.pause()
        assert screen.query_one("#package-min-size", Input).has_class("-invalid")


async def test_files_view_marks_sizes_owners_and_filters(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("3", "ctrl+l")
        await pilot.pause()
        root = screen.query_one(FileBrowser).root_node
        assert root.children["app"].children["big-log.txt"].mark == "removed"
        assert root.children["etc"].children["os-release"].mark == "modified"
        await pilot.press("ctrl+a")
        await pilot.pause()
        root = screen.query_one(FileBrowser).root_node
        site = root.children["app"].children[".venv"].children["lib"].children["python3.11"].children["site-packages"]
        assert site.sorted_children()[0].name == "numpy.libs"
        assert site.children["numpy"].children["__pycache__"].children["__init__.cpython-311.pyc"].owner == "numpy"
        screen.query_one("#file-search", Input).value = "uts46"
        await pilot.pause()
        tree = screen.query_one(Tree)
        labels = []
        stack = list(tree.root.children)
        while stack:
            node = stack.pop()
            labels.append(node.label.plain)
            stack.extend(node.children)
        assert any("uts46data.py" in label and "idna" in label for label in labels)
        screen.query_one("#file-search", Input).value = ""
        screen.query_one("#file-min-size", Input).value = "20MB"
        await pilot.pause()
        assert [node.label.plain.split()[0] for node in tree.root.children] == ["app/"]
        assert "25.0 MB" in tree.root.children[0].label.plain  # only numpy.libs/libopenblas.so is that large


async def test_tabs_help_palette_and_themes(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        for key, tab in (("2", "packages"), ("4", "waste"), ("5", "plots"), ("1", "layers")):
            await pilot.press(key)
            assert screen.query_one(TabbedContent).active == tab
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is screen
        titles = [command.title for command in app.get_system_commands(screen)]
        assert {"Show packages", "Everything up to the layer", "This layer only", "Help"} <= set(titles)
        table = screen.query_one(LayerTable)
        dark_background = table.styles.background
        app.theme = "textual-light"
        await pilot.pause()
        assert table.styles.background != dark_background  # the screen was restyled, not just the attribute set


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_every_view_renders_at_small_and_large_sizes(session_tar, size):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        screen = await loaded(app, pilot)
        for key in "12345":
            await pilot.press(key)
            await pilot.pause()
        assert screen.complete and app.return_code is None


class _BlockingSource:
    """Wraps a real source; its layer read waits for `release` (or for cancellation)."""

    def __init__(self, inner, release: threading.Event, fail_after: int | None = None) -> None:
        self.inner = inner
        self.release = release
        self.fail_after = fail_after

    def meta(self):
        return self.inner.meta()

    def total_bytes(self):
        return self.inner.total_bytes()

    def close(self):
        self.inner.close()

    def read_layers(self, monitor=None, cache=None):
        for count, item in enumerate(self.inner.read_layers(monitor, cache)):
            if self.fail_after is not None and count >= self.fail_after:
                raise LayerError("layer 1: not a readable layer tar: unexpected end of data")
            yield item
            while not self.release.wait(0.01):
                if monitor is not None and monitor.cancelled:
                    raise ReadCancelled()


async def test_first_paint_comes_from_metadata_before_layers_are_read(session_tar):
    release = threading.Event()
    opener = lambda ref, kind, platform=None: _BlockingSource(open_source(ref, kind), release)  # noqa: E731
    app = UvscopeApp(ImageRequest(session_tar), source_opener=opener)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        for _ in range(200):  # wait on the screen's own state, not on the clock
            if screen.query_one(LayerTable).row_count:
                break
            await pilot.pause()
        assert screen.query_one(LayerTable).row_count == 4
        assert screen.image is None and not screen.complete
        assert "reading" in str(screen.query_one("#status").render())
        release.set()
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert screen.complete


async def test_quit_while_reading_cancels_the_read(session_tar):
    release = threading.Event()
    opener = lambda ref, kind, platform=None: _BlockingSource(open_source(ref, kind), release)  # noqa: E731
    app = UvscopeApp(ImageRequest(session_tar), source_opener=opener)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            if any(worker.is_running for worker in app.screen.workers):
                break
            await pilot.pause()
        workers = list(app.screen.workers)
        assert any(worker.is_running for worker in workers)
        await pilot.press("q")
    assert workers and all(worker.is_cancelled for worker in workers)


async def test_error_mid_read_keeps_what_was_read(session_tar):
    release = threading.Event()
    release.set()
    opener = lambda ref, kind, platform=None: _BlockingSource(open_source(ref, kind), release, fail_after=1)  # noqa: E731
    app = UvscopeApp(ImageRequest(session_tar), source_opener=opener)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        assert screen.error is not None and "not a readable layer tar" in screen.error
        assert screen.query_one(LayerTable).row_count == 4
        status = screen.query_one("#status")
        assert status.has_class("-error")


async def test_error_opening_the_source_is_shown_not_raised(session_tar):
    def opener(ref, kind, platform=None):
        raise UvscopeError("cannot reach the Docker Engine at unix:///nope: is dockerd running?")

    app = UvscopeApp(ImageRequest("some:image"), source_opener=opener)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        assert screen.error.startswith("cannot reach the Docker Engine")
        assert app.return_code is None
