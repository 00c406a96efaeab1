"""The one place a failed worker is reported: every session screen that runs workers derives from it.

A worker started by the screen (`@work(..., exit_on_error=False)`) lets its
exception go; Textual then posts `Worker.StateChanged` with `WorkerState.ERROR`
to the screen, and `WorkerScreen` turns it into one line the user sees: a
`UvscopeError`'s own message, anything else `internal error: Type: message`.
It hides the screen's loading indicators, so a failure never leaves a spinner
up, and calls `worker_failed` so the screen can clear its own busy state and
show the line where it shows its status.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import LoadingIndicator
from textual.worker import Worker, WorkerState

from uvscope.analysis.errors import UvscopeError


def error_line(error: BaseException | None) -> str:
    """The one line a failure shows: a UvscopeError's message (meant for users), else what the bug was."""
    if isinstance(error, UvscopeError):
        return str(error)
    if error is None:
        return "internal error: the task failed without saying why"
    return f"internal error: {type(error).__name__}: {error}"


class WorkerScreen(Screen):
    """A screen whose workers' failures are shown (and end its busy state), never lost."""

    def __init__(self) -> None:
        super().__init__()
        self.error: str | None = None
        """The last failure shown (None while nothing failed)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Report a worker of this screen that failed; other state changes are the workers' own business."""
        if event.state is not WorkerState.ERROR:
            return
        message = error_line(event.worker.error)
        self.error = message
        for indicator in self.query(LoadingIndicator):
            indicator.display = False
        for widget in self.query(Widget):
            if widget.loading:
                widget.loading = False
        self.worker_failed(event.worker, message)

    def worker_failed(self, worker: Worker, message: str) -> None:
        """Show `message` (the failure of `worker`); screens override it to clear their busy state and
        to put the line where they show their status, and call this for the notification."""
        what = worker.name or "a task"
        self.notify(message, title=f"uvscope: {what} failed", severity="error", timeout=15, markup=False)
