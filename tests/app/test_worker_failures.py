"""Work off the event loop, and no error that vanishes (`WorkerScreen`).

A worker that fails for any reason says so on its screen in one line (a
UvscopeError's own message, anything else `internal error: Type: message`),
and no loading indicator or busy line stays up. The grouping editor reads
uv.lock's history and plans the files in thread workers while the board stays
usable. The slow functions here block on a `threading.Event` the test sets:
nothing sleeps, the tests wait on the app's own state.
"""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pilot import clear_then_suggest, open_grouping, wait_for_plan
from test_churn_screen import VERSIONS, _history_line, _history_project
from test_grouping_screen import _project
from textual.widgets import LoadingIndicator, Static

from uvscope.analysis.errors import UvscopeError
from uvscope.app.app import UvscopeApp, make_app, make_history_app
from uvscope.app.screens import grouping_project as grouping_module
from uvscope.app.screens.dialogs import ConfirmDiff
from uvscope.app.screens.diff import DiffScreen
from uvscope.app.screens.grouping import GroupingScreen
from uvscope.app.screens.history import HistoryScreen
from uvscope.app.screens.image_reading import ImageRequest
from uvscope.app.screens.main import MainScreen

FAILURES = [
    (RuntimeError("boom in the worker"), "internal error: RuntimeError: boom in the worker"),
    (UvscopeError("cannot reach the Docker Engine at unix:///nope"), "cannot reach the Docker Engine at unix:///nope"),
]
"""(what the worker raises, the one line the user must see)."""

BLOCKED = 30
"""Seconds a blocked function waits at most: a test that fails before releasing it ends, it does not hang."""


def _notes(seen: list[str]):
    """A message hook that keeps the text of every notification."""
    return lambda message: seen.append(message.notification.message) if type(message).__name__ == "Notify" else None


def _raising(error: BaseException):
    def opener(*args, **kwargs):
        raise error

    return opener


def _spinners(screen) -> list[LoadingIndicator]:
    """Loading indicators still shown on `screen`."""
    return [indicator for indicator in screen.query(LoadingIndicator) if indicator.display]


async def _settled(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize(("error", "line"), FAILURES)
async def test_a_failed_diff_worker_is_shown_and_its_spinner_goes(error, line):
    notes: list[str] = []
    app = UvscopeApp(first_screen=lambda: DiffScreen("a.tar", "b.tar", _raising(error)))
    async with app.run_test(size=(120, 40), message_hook=_notes(notes)) as pilot:
        await _settled(app, pilot)
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        assert screen.error == line
        assert str(screen.query_one("#diff-summary", Static).render()) == f"error: {line}"
        assert _spinners(screen) == []
        assert line in notes
        assert app.return_code is None  # the session goes on


@pytest.mark.parametrize(("error", "line"), FAILURES)
async def test_a_failed_history_worker_is_shown_and_its_spinner_goes(error, line):
    notes: list[str] = []
    app = make_history_app(_raising(error))
    async with app.run_test(size=(120, 40), message_hook=_notes(notes)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await _settled(app, pilot)
        assert screen.error == line
        assert str(screen.query_one("#history-summary", Static).render()) == f"error: {line}"
        assert _spinners(screen) == []
        assert line in notes
        assert app.return_code is None


async def test_history_spinner_shows_while_loading_and_goes_when_loaded():
    release = threading.Event()

    def load_metas():
        release.wait(BLOCKED)
        return []

    app = make_history_app(load_metas)
    async with app.run_test(size=(120, 40)) as pilot:
        try:
            await pilot.pause()
            assert _spinners(app.screen), "no loading indicator while the metadata is read"
        finally:
            release.set()
        await _settled(app, pilot)
        assert app.screen.error is None and _spinners(app.screen) == []


async def test_a_bug_in_the_main_read_is_shown_in_the_status_line():
    app = UvscopeApp(ImageRequest("some:image"), source_opener=_raising(RuntimeError("boom in the read")))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settled(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.error == "internal error: RuntimeError: boom in the read"
        status = screen.query_one("#status", Static)
        assert str(status.render()) == f"error: {screen.error}" and status.has_class("-error")
        assert not screen.query_one("#progress").display
        assert app.return_code is None


async def test_layers_peeked_from_the_engines_storage_go_when_the_engine_cannot_confirm_them(monkeypatch):
    from textual.widgets import DataTable

    from uvscope.analysis.image.model import ImageMeta
    from uvscope.analysis.read import engine, sources

    peeked = ImageMeta(
        ref="app:1", id="sha256:" + "c" * 64, diff_ids=("sha256:" + "1" * 64,), created_by=("RUN uv sync",), config={},
        created="", platform="linux/amd64", repo_tags=("app:1",), layer_sizes=(1000,),
    )
    monkeypatch.setattr(engine, "peek_local_meta", lambda ref: peeked)
    monkeypatch.setattr(sources, "open_source", _raising(UvscopeError("no image 'app:1' in the Docker Engine")))
    app = UvscopeApp(ImageRequest("app:1"))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settled(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.error == "no image 'app:1' in the Docker Engine"
        assert screen.meta is None and screen.query_one("#layer-table", DataTable).row_count == 0


@asynccontextmanager
async def _grouping_while_blocked(session_tar, project: Path, monkeypatch, name: str):
    """A session on `project` whose grouping editor is open while its `name` (a function the editor runs in a
    worker) waits for an event: yields the app, the pilot, the editor, that event (set it to let the function
    run) and the threads it was called in. The event is set on the way out whatever happens: a test that fails
    while the function waits ends, it does not hang."""
    release = threading.Event()
    threads: list[threading.Thread] = []
    real = getattr(grouping_module, name)

    def slow(*args, **kwargs):
        threads.append(threading.current_thread())
        release.wait(BLOCKED)
        return real(*args, **kwargs)

    monkeypatch.setattr(grouping_module, name, slow)
    app = make_app(session_tar, project=str(project))
    async with app.run_test(size=(120, 40)) as pilot:
        try:
            yield app, pilot, await open_grouping(app, pilot, settle=False), release, threads
        finally:
            release.set()


def _preview(screen: GroupingScreen) -> str:
    return str(screen.query_one("#grouping-preview", Static).render())


async def test_grouping_reads_the_lock_history_in_a_worker_while_the_board_works(session_tar, tmp_path, monkeypatch):
    project = _history_project(Path(tmp_path) / "project")
    async with _grouping_while_blocked(session_tar, project, monkeypatch, "_project_history") as (app, pilot, screen, release, threads):
        assert screen.reading_history and screen.steps == []
        assert "reading uv.lock history…" in _preview(screen) and "over the last" not in _preview(screen)
        # the board answers keys while the history is read: start from scratch, then back to the suggestion
        await clear_then_suggest(pilot, screen, ["heavy"])
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert threads and all(thread is not threading.main_thread() for thread in threads)
        assert not screen.reading_history and len(screen.steps) == len(VERSIONS) - 1
        assert "reading uv.lock history…" not in _preview(screen)
        assert _history_line(screen).startswith(f"over the last {len(VERSIONS) - 1} lock changes:")


async def test_grouping_write_is_disabled_while_planning(session_tar, tmp_path, monkeypatch):
    project = _project(Path(tmp_path) / "project")
    async with _grouping_while_blocked(session_tar, project, monkeypatch, "plan_optimization") as (app, pilot, screen, release, calls):
        await app.workers.wait_for_complete()  # the project read: only the plan is blocked below
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        assert screen.planning and screen.has_class("-busy")
        busy = screen.query_one("#grouping-busy", Static)
        assert busy.display and str(busy.render()).startswith("planning the files")
        assert screen.check_action("write", ()) is None  # dimmed in the footer, the key does nothing
        await pilot.press("w")
        await pilot.pause()
        assert app.screen is screen and len(calls) == 1
        await pilot.press("right_square_bracket")  # the board still answers: numpy to the rest
        await pilot.pause()
        assert screen.grouping.group_of("numpy") == "rest"
        release.set()
        await wait_for_plan(app)
        await pilot.pause()
        assert len(calls) == 1 and calls[0] is not threading.main_thread()
        assert isinstance(app.screen, ConfirmDiff) and '+heavy = ["numpy>=2.1"]' in app.screen.diff
        await pilot.press("n")
        await pilot.pause()
        assert not screen.planning and not screen.has_class("-busy") and screen.check_action("write", ()) is True
        assert (project / "pyproject.toml").read_text().count("heavy") == 0


@pytest.mark.parametrize(("error", "line"), FAILURES)
async def test_a_failed_plan_ends_the_busy_state_and_says_why(session_tar, tmp_path, monkeypatch, error, line):
    project = _project(Path(tmp_path) / "project")
    monkeypatch.setattr(grouping_module, "plan_optimization", _raising(error))
    notes: list[str] = []
    app = make_app(session_tar, project=str(project))
    async with app.run_test(size=(120, 40), message_hook=_notes(notes)) as pilot:
        screen = await open_grouping(app, pilot, settle=False)
        await pilot.press("w")
        await _settled(app, pilot)
        assert app.screen is screen and screen.error == line and line in notes
        assert not screen.planning and not screen.has_class("-busy")
        assert not screen.query_one("#grouping-busy").display
        assert screen.check_action("write", ()) is True
        assert app.return_code is None


async def test_a_failed_history_read_ends_the_reading_line(session_tar, tmp_path, monkeypatch):
    project = _history_project(Path(tmp_path) / "project")
    monkeypatch.setattr(grouping_module, "_project_history", _raising(RuntimeError("boom in git")))
    app = make_app(session_tar, project=str(project))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot, settle=False)
        await _settled(app, pilot)
        assert screen.error == "internal error: RuntimeError: boom in git"
        assert not screen.reading_history and "reading uv.lock history…" not in _preview(screen)
        assert screen.grouping.names() == ["heavy"]  # the board is still there, from the heavy closures
