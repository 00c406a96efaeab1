"""The session's main screen: layers, packages, files, waste and plots of one image.

The image is read in a thread worker; the layer list is painted from
metadata first, then everything fills in as layers are read. A read that
fails (`WorkerScreen`) keeps what was read usable and says why in the status
line.

The first paint waits for as little as possible: this module imports only
what the layer list needs (the readers, the analysis and the other tabs'
widgets are imported by the worker, or when a tab is first needed), an
engine image's metadata is peeked from the engine's storage before docker-py
is even imported, and the worker holds back its heavy imports until the
layer list is on screen (the GIL is shared).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Header, ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, get_current_worker

from uvscope.analysis.errors import ReadCancelled
from uvscope.analysis.output.text import count, image_title
from uvscope.analysis.untrusted import shown
from uvscope.widgets.key_footer import KeyFooter
from uvscope.widgets.layer_detail import LayerDetailPanel
from uvscope.widgets.layer_table import LayerTable
from uvscope.widgets.text import plain

if TYPE_CHECKING:
    from uvscope.analysis.image.model import Image, ImageMeta, LayerContents
    from uvscope.analysis.packages.python import PythonAnalysis
    from uvscope.analysis.read.sources import ImageSource

from .base import WorkerScreen

MAX_NOTIFIED = 5
"""Warnings shown as notifications when a read ends (an image may carry thousands: the report lists them)."""

PARTIAL_EVERY = 1.0
"""Seconds between partial analyses while layers are still being read."""

PAINT_WAIT = 1.0
"""At most this many seconds the worker waits for the layer list to be painted before it goes on."""

LAZY_TABS = ("packages", "files", "waste", "plots")
"""Tabs whose content is composed when first shown or when the first analysis arrives, not at start."""


@dataclass(frozen=True)
class ImageRequest:
    """What the user asked to open."""

    ref: str
    source: str = "auto"
    platform: str | None = None
    project: str | None = None
    cache_dir: str | None = None
    no_cache: bool = True
    stream: bool = False


class _Monitor:
    """Reports read progress to the screen (throttled) and stops the read when the worker is cancelled."""

    def __init__(self, screen: MainScreen, total: int | None) -> None:
        self.screen = screen
        self.worker = get_current_worker()
        self.total = total
        self.done = 0
        self._last = 0.0

    def advance(self, nbytes: int) -> None:
        self.done += nbytes
        now = time.monotonic()
        if now - self._last > 0.1:
            self._last = now
            self.screen.post_message(MainScreen.Progress(self.done, self.total))

    @property
    def cancelled(self) -> bool:
        return self.worker.is_cancelled


class MainScreen(WorkerScreen):
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

    class MetaLoaded(Message):
        """The image's metadata is known (first paint)."""

        def __init__(self, meta: ImageMeta, total: int | None) -> None:
            super().__init__()
            self.meta = meta
            self.total = total

    class Progress(Message):
        """More bytes of the image were read."""

        def __init__(self, done: int, total: int | None) -> None:
            super().__init__()
            self.done = done
            self.total = total

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, MainScreen.Progress)

    class Loaded(Message):
        """Layers were read and analysed (`partial` while more are coming)."""

        def __init__(self, image: Image, python: PythonAnalysis, partial: bool) -> None:
            super().__init__()
            self.image = image
            self.python = python
            self.partial = partial

    def __init__(self, request: ImageRequest, open_source=None) -> None:
        super().__init__()
        self.request = request
        self.open_source = open_source
        """How the image is opened: None for `open_source`, which also lets the first paint peek at the engine's storage."""
        self.meta: ImageMeta | None = None
        self.image: Image | None = None
        self.python: PythonAnalysis | None = None
        self.complete = False
        self._peek_only = False
        """The layer list shows metadata peeked from the engine's storage that the engine has not confirmed yet."""
        self._trees: dict[tuple[int, bool], object] = {}
        """File trees already built for (layer, cumulative): moving the cursor back is instant."""
        self._files_shown: tuple[int, bool] | None = None
        self._notes: tuple[str, ...] = ()
        self._focus_after_tab: str | None = None
        """What to focus when the tab being switched to is shown (else FOCUS_IN_TAB)."""
        self._source: ImageSource | None = None
        """The source being read (its `path_used` says whether the engine's export stream is awaited)."""
        self._read_started: float | None = None
        self._read_bytes = 0
        self._store: tuple[object, str | None] = (None, None)
        """Where the finished analysis is kept (the layer cache, its key): a second session reads it whole."""
        self._painted = threading.Event()
        """Set once the layer list from the metadata is on screen: the worker's heavy imports wait for it."""
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

    def _tick(self) -> None:
        """While nothing has arrived yet, say what is being waited for and for how long."""
        if self.complete or self.error is not None or self._read_started is None or self._read_bytes:
            return
        elapsed = time.monotonic() - self._read_started
        if getattr(self._source, "path_used", "") == "stream":
            self._status(f"the engine is preparing the image export… {elapsed:.0f} s (q quits at once)")
        elif elapsed >= 2 and self.meta is not None:
            self._status(f"{count(len(self.meta.diff_ids), 'layer')}; reading… {elapsed:.0f} s")

    # -- reading -----------------------------------------------------------------

    def _peek_meta(self) -> ImageMeta | None:
        """The engine image's metadata from the engine's own storage, before docker-py is imported (None if not)."""
        request = self.request
        from uvscope.analysis.read.kinds import names_engine_image

        if self.open_source is not None or not names_engine_image(request.ref, request.source):
            return None
        from uvscope.analysis.read.engine import peek_local_meta

        try:
            return peek_local_meta(request.ref)
        except Exception:  # noqa: BLE001 - a guess: the engine's API answers next anyway
            return None

    @work(thread=True, exclusive=True, exit_on_error=False, group="read", name="reading the image")
    def read_image(self, peeked: ImageMeta | None = None) -> None:
        """Open the source, then read and analyse every layer (a failure: `worker_failed`); `peeked`: the
        metadata already painted from the engine's storage (the engine's API confirms it here)."""
        request = self.request
        if peeked is not None:
            worker, waited = get_current_worker(), 0.0
            while not self._painted.wait(0.05) and waited < PAINT_WAIT:  # `q` meanwhile ends the wait at once
                if worker.is_cancelled:
                    return
                waited += 0.05
        from uvscope.analysis.read.sources import ImageSource, open_source

        opener = self.open_source or open_source
        if request.stream:
            source: ImageSource = opener(request.ref, request.source, platform=request.platform, stream=True)
        else:
            source = opener(request.ref, request.source, platform=request.platform)
        self._source = source
        try:
            meta = source.meta()
            self._peek_only = False
            self._read_started = self._read_started or time.monotonic()
            if meta != peeked:
                self.post_message(self.MetaLoaded(meta, source.total_bytes()))
            else:  # the peek was right: only the progress bar learns the total
                self.post_message(self.Progress(0, source.total_bytes()))
            monitor = _Monitor(self, source.total_bytes())
            contents: dict[int, LayerContents] = {}
            last = time.monotonic()
            from uvscope.analysis.packages.analysis_cache import analysis_key, get_analysis
            from uvscope.analysis.read.cache import LayerCache

            cache = None if request.no_cache else LayerCache(request.cache_dir)
            key = analysis_key(source, request.project, None) if cache is not None and isinstance(source, ImageSource) else None
            if key is not None:
                found = get_analysis(cache, key)  # type: ignore[arg-type]
                if found is not None:
                    self.post_message(self.Loaded(found[0], found[1], False))
                    return
            self._store = (cache, key)
            for index, layer in source.read_layers(monitor, cache):
                contents[index] = layer
                ready = 0
                while ready in contents:
                    ready += 1
                if ready < len(meta.diff_ids) and time.monotonic() - last > PARTIAL_EVERY and ready:
                    last = time.monotonic()
                    self._post_analysis(meta, contents, ready, request.project, partial=True)
            meta = source.meta()
            self._notes = tuple(getattr(source, "notes", ()))  # sources outside ImageSource (test doubles) have none
            self._post_analysis(meta, contents, len(meta.diff_ids), request.project, partial=False)
        except ReadCancelled:
            return
        finally:
            source.close()

    def _post_analysis(self, meta: ImageMeta, contents: dict, count: int, project: str | None, partial: bool) -> None:
        from uvscope.analysis.image.stack import build_image
        from uvscope.analysis.packages.analysis_cache import put_analysis
        from uvscope.analysis.packages.python import analyse_python

        prefix = replace(meta, diff_ids=meta.diff_ids[:count], created_by=meta.created_by[:count])
        image = build_image(prefix, [contents[index] for index in range(count)])
        if not partial and self._notes:
            image = replace(image, warnings=self._notes + image.warnings)
        python = analyse_python(image, project)
        cache, key = self._store
        if not partial and key is not None:
            put_analysis(cache, key, image, python)  # type: ignore[arg-type]
        self.post_message(self.Loaded(image, python, partial))

    @on(MetaLoaded)
    def _meta_loaded(self, message: MetaLoaded) -> None:
        self.meta = message.meta
        self.app.title, self.app.sub_title = header_titles(message.meta.ref, message.meta.repo_tags, message.meta.platform)
        # Start on the last layer: with "everything up to it", that is the whole image.
        self.query_one(LayerTable).show(message.meta, select=len(message.meta.diff_ids) - 1)
        self.query_one(ProgressBar).update(total=message.total)
        self._status(f"{count(len(message.meta.diff_ids), 'layer')}; reading…")
        self.call_after_refresh(self._painted.set)

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        if message.done and not self._read_bytes and self.meta is not None and not self.complete:
            self._status(f"{count(len(self.meta.diff_ids), 'layer')}; reading…")
        self._read_bytes = message.done
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)

    @on(Loaded)
    async def _loaded(self, message: Loaded) -> None:
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

    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(plain(text))
        status.set_class(error, "-error")

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
        tree = self._trees.get(wanted)
        if tree is None:
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
        self.app.push_screen(GroupingScreen(match, match.sizes, match.member, project))

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
    and where it was read from when that is not its name: an archive's path, home as `~`)."""
    title = image_title(ref, repo_tags)
    where = ref
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
