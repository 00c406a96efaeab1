"""The grouping editor's work on the project folder, each job in a thread worker that posts what it found.

Reading: the project's Dockerfile (posted first: the preview uses it at once),
then uv.lock's git history (a `git show` per commit) and the grouping the
history planner suggests from it. Writing (`w`): the files are planned for
the grouping on screen, their diff is shown, and after confirmation they are
written (re-locking) through the same all-or-nothing writer as
`uvscope optimize --write`; `w` is disabled meanwhile and a busy line says
what runs. `GroupingScreen` derives from `GroupingProjectScreen` and shows
what these jobs post.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from textual import on, work
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from uvscope.analysis.errors import ReadCancelled, UvscopeError
from uvscope.analysis.packages.lockhistory import LockCommit, churn, is_git_checkout, lock_history
from uvscope.analysis.packages.lockmatch import LockMatch
from uvscope.analysis.plan.grouping import Grouping, suggest
from uvscope.analysis.plan.layer_plan import Step
from uvscope.analysis.plan.optimize import (
    OptimizePlan,
    ProjectBuild,
    apply_plan,
    history_suggestion,
    plan_optimization,
    read_project_build,
    sized_lock_steps,
)

from .base import WorkerScreen
from .dialogs import ConfirmDiff


def _project_history(project_dir: str | None, cancelled: Callable[[], bool] | None = None) -> list[LockCommit]:
    """The git history of the project's uv.lock, when there is one (else nothing); `ReadCancelled`
    when `cancelled()` says the screen is gone."""
    if project_dir is None or not is_git_checkout(project_dir):
        return []
    try:
        return lock_history(project_dir, cancelled=cancelled)
    except UvscopeError:
        return []


class GroupingProjectScreen(WorkerScreen):
    """The grouping editor's jobs on the project folder: read its Dockerfile and uv.lock history, plan and write
    its files for the grouping on screen (`grouping`, which the screen deriving from it edits)."""

    # the messages keep the names they had when they were `GroupingScreen`'s own (`on_grouping_screen_written`, ...)
    class DockerfileRead(Message, namespace="grouping_screen"):
        """The project's Dockerfile and member folders were read (None: none uvscope can use)."""

        def __init__(self, dockerfile: ProjectBuild | None) -> None:
            super().__init__()
            self.dockerfile = dockerfile

    class HistoryRead(Message, namespace="grouping_screen"):
        """uv.lock's git history was read: the lock changes to replay and the grouping it suggests."""

        def __init__(self, steps: list[Step], suggestion: Grouping) -> None:
            super().__init__()
            self.steps = steps
            self.suggestion = suggestion

    class Planned(Message, namespace="grouping_screen"):
        """The files to write were planned for the grouping on screen (not written yet)."""

        def __init__(self, project: str, plan: OptimizePlan) -> None:
            super().__init__()
            self.project = project
            self.plan = plan

    class Written(Message, namespace="grouping_screen"):
        """The files were written (`paths`: those that changed)."""

        def __init__(self, paths: list[str]) -> None:
            super().__init__()
            self.paths = paths

    reading_history: reactive[bool] = reactive(False)
    """True while the project's Dockerfile and uv.lock's git history are read."""
    planning: reactive[bool] = reactive(False)
    """True while the files are planned (`w`: lock, pyproject.toml and Dockerfile parsed and rewritten)."""
    busy: reactive[bool] = reactive(False)
    """True while the files are being written and `uv lock` runs."""

    grouping: Grouping
    """The grouping on screen (what `w` writes)."""
    _edited: bool
    """Whether the user changed the grouping (then the history's suggestion does not replace it)."""

    def __init__(self, match: LockMatch, sizes: dict[str, int], member: str, project_dir: str | None, target: str = "") -> None:
        super().__init__()
        self.match = match
        self.sizes = sizes
        self.member = member
        self.project_dir = project_dir
        self.target = target
        """The Dockerfile stage the image is built from (`--target`; empty: the last): previews and the write follow it."""
        self.written: list[str] = []
        self._confirming = False
        self._jobs: dict[str, Worker] = {}
        """The last worker started for each job (project, plan, write): a failure ends that job's busy state."""

    # -- reading the project -----------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="project", name="reading uv.lock history")
    def _read_project(self, project_dir: str) -> None:
        """Read the Dockerfile (posted first: the preview uses it at once), then uv.lock's git history
        and what the history planner suggests from it."""
        worker = get_current_worker()
        lock, sizes, member = self.match.lock, self.sizes, self.member
        dockerfile = read_project_build(project_dir, lock, member, self.target)
        self.post_message(self.DockerfileRead(dockerfile))
        try:
            commits = _project_history(project_dir, cancelled=lambda: worker.is_cancelled)
        except ReadCancelled:
            return
        steps = sized_lock_steps(commits, lock, sizes, os.path.join(project_dir, "uv.lock"))
        if steps:
            suggestion = history_suggestion(dockerfile, lock, sizes, member, steps).grouping
        else:
            also = dockerfile.group_roots if dockerfile is not None else ()
            suggestion = suggest(lock, sizes, member, churn(commits) if commits else None, also=also)
        if not worker.is_cancelled:
            self.post_message(self.HistoryRead(steps, suggestion))

    # -- writing ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`w` is disabled (shown dimmed) while the files are planned or written."""
        if action == "write" and (self.planning or self.busy):
            return None
        return True

    def action_write(self) -> None:
        """Plan the files for the grouping on screen in a worker; the diff is shown when it is ready."""
        if self.planning or self.busy or self._confirming:
            return
        self._edited = True  # what is being written stays on screen
        self.planning = True
        self._jobs["plan"] = self._plan(self.project_dir or os.getcwd(), self.grouping)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan", name="planning the files")
    def _plan(self, project: str, grouping: Grouping) -> None:
        plan = plan_optimization(project, grouping=grouping, sizes=self.sizes, package=self.member, target=self.target)
        self.post_message(self.Planned(project, plan))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        self._confirming = True
        self.planning = False
        self._confirm(message.project, message.plan)

    @work(exit_on_error=False, group="confirm", name="confirming the write")
    async def _confirm(self, project: str, plan: OptimizePlan) -> None:
        """Show the diff of every file, then write them if confirmed."""
        try:
            diff = plan.pyproject.diff() + ("\n" + plan.dockerfile.diff() if plan.dockerfile is not None else "")
            confirmed = await self.app.push_screen_wait(ConfirmDiff(f"write {project}?", diff))
        finally:
            self._confirming = False
        if confirmed and not self.busy:
            self.busy = True
            self._jobs["write"] = self._apply(plan)

    @work(thread=True, exclusive=True, exit_on_error=False, group="write", name="writing the files")
    def _apply(self, plan: OptimizePlan) -> None:
        self.post_message(self.Written(apply_plan(plan)))

    def watch_planning(self) -> None:
        self._show_busy()

    def watch_busy(self) -> None:
        self._show_busy()

    def _show_busy(self) -> None:
        if self.planning:
            self.query_one("#grouping-busy", Static).update("planning the files: reading uv.lock, pyproject.toml and the Dockerfile…")
        elif self.busy:
            self.query_one("#grouping-busy", Static).update("writing the files and re-locking: uv lock is running…")
        self.set_class(self.planning or self.busy, "-busy")
        self.refresh_bindings()  # `w` dimmed in the footer while planning or writing

    @on(Written)
    def _written(self, message: Written) -> None:
        self.busy = False
        self.written = message.paths
        self.notify(
            "wrote " + ", ".join(message.paths) if message.paths else "nothing to write: the files already hold these groups",
            title="groups written",
        )
