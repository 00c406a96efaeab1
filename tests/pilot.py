"""Driving a session under Textual's Pilot: what every app test waits for first, and the grouping editor's steps
that several test files take (open it, wait for its plan, clear the board and bring the suggestion back)."""

from __future__ import annotations

from uvscope.app.screens.grouping import GroupingScreen
from uvscope.app.screens.main import MainScreen


async def loaded(app, pilot) -> MainScreen:
    """The main screen once its image is read and analysed (its workers done, the result posted)."""
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, MainScreen)
    await screen.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def open_grouping(app, pilot, *, settle: bool = True) -> GroupingScreen:
    """Read the image and press g: the grouping editor; with `settle`, once its own workers (the project's
    Dockerfile and uv.lock history) are done too, else while they may still run."""
    await loaded(app, pilot)
    await pilot.press("g")
    await pilot.pause()
    assert isinstance(app.screen, GroupingScreen)
    if settle:
        await app.workers.wait_for_complete()
        await pilot.pause()
    return app.screen


async def wait_for_plan(app) -> None:
    """Wait for the grouping editor's plan worker, not for the others: the diff dialog's waits for an answer."""
    planning = [worker for worker in app.workers if worker.group == "plan"]
    if planning:  # wait_for_complete([]) would wait for every worker
        await app.workers.wait_for_complete(planning)


async def clear_then_suggest(pilot, screen: GroupingScreen, suggestion: list[str]) -> None:
    """x empties the grouping board, s brings back the suggested groups (`suggestion`, by name)."""
    await pilot.press("x")
    await pilot.pause()
    assert screen.grouping.names() == []
    await pilot.press("s")
    await pilot.pause()
    assert screen.grouping.names() == suggestion
