"""Driving a session under Textual's Pilot: what every app test waits for first."""

from __future__ import annotations

from uvscope.app.screens.main import MainScreen


async def loaded(app, pilot) -> MainScreen:
    """The main screen once its image is read and analysed (its workers done, the result posted)."""
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, MainScreen)
    await screen.workers.wait_for_complete()
    await pilot.pause()
    return screen
