"""The uvscope Textual application: global keys, the main screen, the help dialog."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from uvscope.analysis.untrusted import shown, shown_lines

from .screens.image_reading import ImageRequest
from .screens.main import MainScreen


class UvscopeApp(App[None]):
    """Open one image and explore where its bytes come from."""

    CSS_PATH = "uvscope.tcss"
    TITLE = "uvscope"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, request: ImageRequest | None = None, *, source_opener=None, first_screen=None) -> None:
        super().__init__()
        self.request = request
        self.source_opener = source_opener
        """How images are opened (None: `open_source`; tests pass doubles)."""
        self.first_screen = first_screen
        self.crash: BaseException | None = None
        """The unhandled error that ended the session, if any (`run_session` reports it in one line)."""

    def _fatal_error(self) -> None:
        # Textual would print a full traceback with locals; the session ends with one line instead
        # (`run_session`), the traceback only on request (UVSCOPE_DEBUG=1).
        self.crash = self._exception
        self.bell()
        self._close_messages_no_wait()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification (the screens' and widgets' go through here): never markup, and an image's
        text in it (a warning naming a file, an error quoting a layer) with its control characters shown."""
        super().notify(shown_lines(message), title=shown(title), severity=severity, timeout=timeout, markup=False)

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """Textual's SVG screenshot, with its spaces kept by every SVG renderer.

        Textual writes each run of one style as its own `<text>`; librsvg (rsvg-convert, GNOME's
        viewers) drops the spaces that start one, so "**layers** heavy" would read "layersheavy".
        `xml:space="preserve"` on the root keeps them (browsers keep them either way).
        """
        svg = super().export_screenshot(title=title, simplify=simplify)
        return svg.replace("<svg ", '<svg xml:space="preserve" ', 1)

    def on_mount(self) -> None:
        if self.first_screen is not None:
            self.push_screen(self.first_screen())
        elif self.request is not None:
            self.push_screen(MainScreen(self.request, self.source_opener))

    def action_help(self) -> None:
        """Show the keys and what each view shows."""
        from .screens.help import HelpScreen  # rich's Markdown: imported when asked for, not at start-up

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            for tab in ("layers", "packages", "files", "waste", "plots"):
                yield SystemCommand(f"Show {tab}", f"Switch to the {tab} view", lambda tab=tab: screen.action_show_tab(tab))
            yield SystemCommand("Everything up to the layer", "Aggregate layers (ctrl+a)", lambda: screen.action_aggregate(True))
            yield SystemCommand("This layer only", "Only the selected layer's changes (ctrl+l)", lambda: screen.action_aggregate(False))
            yield SystemCommand("Grouping editor", "Give heavy packages their own cached layer (g)", screen.action_grouping)
            yield SystemCommand("Help", "Keys and views", self.action_help)


def run_session(app: UvscopeApp, *, headless: bool = False) -> int:
    """Run a session to its end; an unhandled error restores the terminal, prints one line and returns 3."""
    app.run(headless=headless)
    if app.crash is None:
        return app.return_code or 0
    if os.environ.get("UVSCOPE_DEBUG"):
        traceback.print_exception(app.crash)
    crash = app.crash
    print(f"uvscope: internal error: {type(crash).__name__}: {crash} (set UVSCOPE_DEBUG=1 for details)", file=sys.stderr)
    return 3


def make_app(
    ref: str,
    source: str = "auto",
    platform: str | None = None,
    project: str | None = None,
    *,
    cache_dir: str | None = None,
    no_cache: bool = True,
    stream: bool = False,
    target: str = "",
) -> UvscopeApp:
    """The one factory the CLI and the tests use to build the session (tests read without the cache)."""
    return UvscopeApp(ImageRequest(ref, source, platform, project, cache_dir, no_cache, stream, target))


def make_diff_app(
    ref_a: str,
    ref_b: str,
    source: str = "auto",
    project: str | None = None,
    cache=None,
    *,
    platform: str | None = None,
    stream: bool = False,
) -> UvscopeApp:
    """The session on `uvscope diff A B`, both images read as `report` reads one (`--source`, `--platform`,
    `--stream`); `cache`: the `LayerCache` of layers and finished analyses, None for none."""
    from uvscope.analysis.read.sources import open_source

    from .screens.diff import DiffScreen

    return UvscopeApp(first_screen=lambda: DiffScreen(ref_a, ref_b, open_source, source, project, cache, platform=platform, stream=stream))


def make_history_app(load_metas, layer_size=None, notes: list[str] | None = None) -> UvscopeApp:
    """The session on `uvscope history`: `load_metas()` returns the images' metadata, `layer_size(diff_id)`
    exact sizes of layers read before; `notes` gets what the loading could not do (shown on screen)."""
    from .screens.history import HistoryScreen

    return UvscopeApp(first_screen=lambda: HistoryScreen(load_metas, layer_size, notes))
