"""The session's main screen: layers, packages, files, waste and plots of one image.

The image is read by `ImageReadingScreen` (`image_reading.py`), which this
screen derives from; the layer list is painted from metadata first, then
everything fills in as layers are read. A read that fails (`WorkerScreen`)
keeps what was read usable and says why in the status line.

The first paint waits for as little as possible: this module imports only
what the layer list needs (the other tabs' widgets and the analysis they
import are imported when a tab is first needed or the first analysis arrives).
"""

from __future__ import annotations

import os
import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Header, ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker

from uvscope.analysis.output.text import count, image_title
from uvscope.analysis.untrusted import shown
from uvscope.widgets.key_footer import KeyFooter
from uvscope.widgets.layer_detail import LayerDetailPanel
from uvscope.widgets.layer_table import LayerTable

from .image_reading import ImageReadingScreen, ImageRequest

MAX_NOTIFIED = 5
"""Warnings shown as notifications when a read ends (an image may carry thousands: the report lists them)."""

LAZY_TABS = ("packages", "files", "waste", "plots")
"""Tabs whose content is composed when first shown or when the first analysis arrives, not at start."""


class MainScreen(ImageReadingScreen):
    """Tabs over one image; the highlighted layer drives packages and files."""

    VIEWS = Binding.Group("views", compact=True)
    BINDINGS = [
        Binding("1", "show_tab('layers')", "Layers", group=VIEWS, tooltip="Layers view"),
        Binding("2", "show_tab('packages')", "Packages", group=VIEWS, tooltip="Packages view"),
        Binding("3", "show_tab('files')", "Files", group=VIEWS, tooltip="Files view"),
        Binding("4", "show_tab('waste')", "Waste", group=VIEWS, tooltip="Waste view"),
        Binding("5", "show_tab('plots')", "Plots", group=VIEWS, tooltip="Plots view"),
        Binding("slash", "search", "Search", key_display="/", tooltip="search packages (paths, in Files); esc leaves, enter applies"),
        Binding("g", "grouping", "Grouping", tooltip="grouping editor: heavy packages into cached layers of their own"),
        Binding("ctrl+a", "aggregate(True)", "Up to layer", tooltip="show everything up to the selected layer (like dive)"),
        Binding("ctrl+l", "aggregate(False)", "Layer only", tooltip="show the selected layer's changes only"),
        Binding("s", "sort_next", "Sort", show=False, tooltip="Packages: sort by the next column (S: reverse)"),
        Binding("S", "sort_reverse", "Reverse sort", show=False, tooltip="Packages: reverse the sort order"),
        Binding("e", "expand_all", "Expand", show=False, tooltip="Files: expand every folder"),
        Binding("c", "collapse_all", "Collapse", show=False, tooltip="Files: collapse every folder"),
        Binding("y", "copy_path", "Copy path", show=False, tooltip="Files: copy the highlighted path, exactly as the image names it"),
    ]

    HELP_TITLE = "uvscope: one image"
    HELP_EXTRA = (
        ("↑ ↓ pgup pgdn", "move; in Layers the highlighted layer drives Packages and Files"),
        ("esc", "leave a search box (enter applies the search and leaves too)"),
        ("click a column header", "sort Packages by it (again: reverse); the sorted column shows ▼ or ▲"),
        ("click a tab, a row, a folder", "switch view, select, expand"),
        ("ctrl+p", "command palette (every action, themes)"),
    )
    HELP_TEXT = """\
**Files** marks: `+` added, `~` modified, `-` removed by the selected layer.
**Packages**: `closure` is the bytes a direct dependency pulls in through
`uv.lock`; `excl/shared` splits it into bytes only it pulls in and bytes
other dependencies of the image's member need too. `re-shipped`: bytes a
later layer wrote again.
**Waste**: dive's efficiency (same formula), and uvscope's reclaimable bytes:
copies hidden or deleted by a later layer, by layer, path and package.
"""

    selected_layer: reactive[int] = reactive(-1, init=False)
    cumulative: reactive[bool] = reactive(True, init=False)

    def __init__(self, request: ImageRequest, open_source=None) -> None:
        super().__init__(request, open_source)
        self._trees: dict[tuple[int, bool], object] = {}
        """File trees already built for (layer, cumulative): moving the cursor back is instant."""
        self._files_shown: tuple[int, bool] | None = None
        self._focus_after_tab: str | None = None
        """What to focus when the tab being switched to is shown (else FOCUS_IN_TAB)."""
        self._tabs_filled = None
        """The mounting of the lazy tabs' content, once started (awaited by whoever needs those widgets)."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"opening {self.request.ref}…", id="status")
        yield ProgressBar(id="progress", show_eta=False)
        with TabbedContent(initial="layers"):
            with TabPane("Layers", id="layers"):
                yield LayerTable(id="layer-table")
                yield LayerDetailPanel(id="layer-detail")
            for tab in LAZY_TABS:  # filled by `_fill_tabs`
                yield TabPane(tab.capitalize(), id=tab)
        yield KeyFooter()

    def _fill_tabs(self):
        """Compose the content of the tabs other than Layers (once); await the result before querying it.

        Their widgets (and the analysis they import) are not needed for the first paint.
        """
        if self._tabs_filled is None:
            from uvscope.widgets.file_browser import FileBrowser
            from uvscope.widgets.package_table import PackageView
            from uvscope.widgets.waste_panel import WastePanel

            self._tabs_filled = [
                self.query_one("#packages", TabPane).mount(PackageView(id="package-view")),
                self.query_one("#files", TabPane).mount(FileBrowser(id="file-browser")),
                self.query_one("#waste", TabPane).mount(WastePanel(id="waste-panel")),
                # the plots themselves are mounted when the tab is first shown (`_show_plots`)
                self.query_one("#plots", TabPane).mount(Static(id="layer-legend"), Vertical(id="plot-area")),
            ]
        return _AwaitAll(self._tabs_filled)

    FOCUS_IN_TAB = {"layers": "#layer-table", "packages": "#package-table", "files": "#file-tree", "waste": "#waste-panel"}

    def on_mount(self) -> None:
        self.query_one(LayerTable).focus()
        # An engine image's layers are peeked here, before the first frame, so that frame already lists
        # them: peeked in the worker, they came after a first frame of an empty table and cost another.
        peeked = self._peek_meta()
        if peeked is not None:
            self._peek_only = True
            self._read_started = time.monotonic()
            self._meta_loaded(self.MetaLoaded(peeked, None))
        self.read_image(peeked)
        self.set_interval(1.0, self._tick)

    @on(ImageReadingScreen.MetaLoaded)
    def _meta_loaded(self, message: ImageReadingScreen.MetaLoaded) -> None:
        self.meta = message.meta
        self.app.title, self.app.sub_title = header_titles(message.meta.ref, message.meta.repo_tags, message.meta.platform)
        # Start on the last layer: with "everything up to it", that is the whole image.
        self.query_one(LayerTable).show(message.meta, select=len(message.meta.diff_ids) - 1)
        self.query_one(ProgressBar).update(total=message.total)
        self._status(f"{count(len(message.meta.diff_ids), 'layer')}; reading…")
        self.call_after_refresh(self._painted.set)

    @on(ImageReadingScreen.Loaded)
    async def _loaded(self, message: ImageReadingScreen.Loaded) -> None:
        from uvscope.analysis.views.browse import layer_top_packages, package_rows, status_line
        from uvscope.widgets.package_table import PackageView
        from uvscope.widgets.waste_panel import WastePanel

        await self._fill_tabs()
        self.image, self.python, self.complete = message.image, message.python, not message.partial
        self._trees.clear()
        self._files_shown = None
        meta = self.meta if self.meta is not None and message.partial else message.image.meta
        self.meta = meta
        self.query_one(LayerTable).show(meta, message.image, layer_top_packages(message.python))
        self.query_one(PackageView).set_rows(package_rows(message.image, message.python))
        self.query_one(WastePanel).show(message.image, message.python)
        self._show_plots()
        if self.complete:
            self.query_one(ProgressBar).display = False
            self._status(status_line(message.image, message.python))
            warnings = [*self._notes, *message.image.warnings, *message.python.warnings]
            for warning in warnings[:MAX_NOTIFIED]:
                self.notify(warning, title="uvscope", severity="warning", timeout=10)
            if len(warnings) > MAX_NOTIFIED:
                more = len(warnings) - MAX_NOTIFIED
                self.notify(f"{more} more warnings: `uvscope report` lists them all", title="uvscope", severity="warning", timeout=10)
        else:
            self._status(f"read {len(message.image.layers)} of {len(meta.diff_ids)} layers…")
        self._refresh_layer_views()

    def worker_failed(self, worker: Worker, message: str) -> None:
        """The read stopped: what was read stays usable, the status line says why."""
        self.query_one(ProgressBar).display = False
        if self._peek_only:  # the layers painted from the engine's storage were never confirmed: not shown as if read
            self.meta = None
            self.query_one(LayerTable).clear()
        self._status(f"error: {message}", error=True)
        self.notify(message, title="uvscope could not finish reading", severity="error", timeout=10, markup=False)

    # -- layer selection -----------------------------------------------------------

    @on(LayerTable.LayerSelected)
    def _layer_selected(self, message: LayerTable.LayerSelected) -> None:
        self.selected_layer = message.index

    def watch_selected_layer(self) -> None:
        self._refresh_layer_views()

    def watch_cumulative(self) -> None:
        self._refresh_layer_views()

    def _refresh_layer_views(self) -> None:
        index = self.selected_layer
        self._show_layer_detail(index)
        if self.image is None or not 0 <= index < len(self.image.layers):
            return
        from uvscope.widgets.package_table import PackageView  # not before the first paint: it imports the analysis

        self.query_one(PackageView).set_layer(index, self.cumulative)
        if self.query_one(TabbedContent).active == "files":
            self._show_files()

    def _show_layer_detail(self, index: int) -> None:
        """The panel under the layer table: the highlighted layer's whole command, changes and packages."""
        meta = self.meta
        if meta is None or not 0 <= index < len(meta.created_by):
            return
        panel = self.query_one(LayerDetailPanel)
        if self.image is None or not any(layer.index == index for layer in self.image.layers):
            panel.show_command(index, meta.created_by[index])
            return
        from uvscope.analysis.views.browse import layer_detail

        panel.show(layer_detail(meta.created_by, index, self.image, self.python))

    def _show_plots(self) -> None:
        """Draw the plots of the current analysis, only while the Plots tab is shown.

        plotext is imported (and the plots mounted) the first time: it costs a
        tenth of a second that the first paint should not wait for.
        """
        if self.image is None or self.python is None or self.query_one(TabbedContent).active != "plots":
            return
        from uvscope.widgets.plots import LayerSizePlot, TopPackagesPlot

        area = self.query_one("#plot-area", Vertical)
        if not area.children:
            area.mount(LayerSizePlot(id="layer-plot"), TopPackagesPlot(id="package-plot"))
        layer_plot = area.query_one(LayerSizePlot)
        layer_plot.show(self.image, self.python)
        self.query_one("#layer-legend", Static).update(layer_plot.legend())
        area.query_one(TopPackagesPlot).show(self.python)

    def _show_files(self) -> None:
        """Build (or reuse) the files tree of the selected layer; only while the Files tab is shown."""
        from uvscope.analysis.views.browse import layer_tree
        from uvscope.widgets.file_browser import FileBrowser

        if self.image is None or not 0 <= self.selected_layer < len(self.image.layers):
            return
        wanted = (self.selected_layer, self.cumulative)
        if wanted == self._files_shown:
            return
        tree = self._trees.pop(wanted, None)
        if tree is not None:
            self._trees[wanted] = tree  # the least recently shown goes first
        else:
            if len(self._trees) >= 8:
                self._trees.pop(next(iter(self._trees)))
            tree = self._trees[wanted] = layer_tree(self.image, self.python, *wanted)
        title = f"everything up to layer {wanted[0]}" if wanted[1] else f"layer {wanted[0]} only"
        self.query_one(FileBrowser).show(tree, title)
        self._files_shown = wanted

    # -- actions ---------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        """Switch to a tab."""
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id in LAZY_TABS:
            await self._fill_tabs()
        if event.pane.id == "files":
            self._show_files()
        if event.pane.id == "plots":
            self._show_plots()
        target = self._focus_after_tab or self.FOCUS_IN_TAB.get(event.pane.id or "")
        self._focus_after_tab = None
        if target is not None:
            self.query_one(target).focus()

    def action_aggregate(self, cumulative: bool) -> None:
        """Show everything up to the selected layer (ctrl+a) or that layer alone (ctrl+l)."""
        self.cumulative = cumulative

    async def action_search(self) -> None:
        """Focus the search box of the current tab."""
        await self._fill_tabs()
        tab = self.query_one(TabbedContent).active
        if tab == "files":
            self.query_one("#file-search").focus()
        elif tab == "packages":
            self.query_one("#package-search").focus()
        else:  # the tab switch focuses its table when it lands: focus the box then instead
            self._focus_after_tab = "#package-search"
            self.action_show_tab("packages")

    def action_grouping(self) -> None:
        """Open the grouping editor for the member the image was built for (`member.choose_member`)."""
        from .grouping import GroupingScreen

        if self.python is None or self.python.lock is None or not self.complete:
            self.notify("the grouping editor needs the image read and a uv.lock (--project DIR or one in the image)")
            return
        match = self.python.lock
        if match.member is None:
            self.notify("uv.lock has no installable project, or nothing tells which member the image is for")
            return
        # without --project, the folder whose uv.lock was compared (the current one) is the project the editor writes
        project = self.request.project or match.lock.folder
        self.app.push_screen(GroupingScreen(match, match.sizes, match.member, project, self.request.target))

    async def action_sort_next(self) -> None:
        """Sort Packages by the next column."""
        from uvscope.widgets.package_table import PackageView

        self.action_show_tab("packages")
        await self._fill_tabs()
        self.query_one(PackageView).sort_next()

    async def action_sort_reverse(self) -> None:
        """Reverse the order of Packages."""
        from uvscope.widgets.package_table import PackageView

        self.action_show_tab("packages")
        await self._fill_tabs()
        view = self.query_one(PackageView)
        view.sort_by(view.sort_column)

    async def action_expand_all(self) -> None:
        """Expand every folder of the files view."""
        from uvscope.widgets.file_browser import FileBrowser

        await self._fill_tabs()
        self.query_one(FileBrowser).expand_all()

    async def action_collapse_all(self) -> None:
        """Collapse every folder of the files view."""
        from uvscope.widgets.file_browser import FileBrowser

        await self._fill_tabs()
        self.query_one(FileBrowser).collapse_all()

    async def action_copy_path(self) -> None:
        """Copy the Files view's highlighted path as the image names it (the view shows its controls as escapes)."""
        from uvscope.widgets.file_browser import FileBrowser

        await self._fill_tabs()
        path = self.query_one(FileBrowser).highlighted_path()
        if path is None:
            self.notify("highlight a file or folder in the Files view (3) to copy its path")
            return
        exact = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # a clipboard holds text
        self.app.copy_to_clipboard(exact)
        note = "" if exact == path else " (bytes that are not UTF-8 as U+FFFD)"
        self.notify(f"copied {exact}{note}", title="path copied")


def header_titles(ref: str, repo_tags: tuple[str, ...], platform: str) -> tuple[str, str]:
    """The header's title (the image's name: its tag, else its file's name) and subtitle (its platform,
    and where it was read from when that is not its name: an archive's path, home as `~`; not a file
    of uvscope's own cache folder, such as the built-in demo's, which the user never named)."""
    from uvscope.analysis.read.cache import default_cache_dir

    title = image_title(ref, repo_tags)
    where = ref
    own = os.path.join(os.path.abspath(default_cache_dir()), "")
    if os.path.isabs(where) and os.path.abspath(where).startswith(own):
        return shown(title), shown(platform)
    home = os.path.expanduser("~")
    if home not in ("", "/") and where.startswith(home + "/"):
        where = "~" + where[len(home) :]
    subtitle = platform if where == title else f"{platform} · {where}"
    return shown(title), shown(subtitle)


class _AwaitAll:
    """Awaits several `AwaitMount`s (each may be awaited again: later callers wait for the same mounting)."""

    def __init__(self, mounts) -> None:
        self.mounts = mounts

    def __await__(self):
        for mount in self.mounts:
            yield from mount.__await__()
