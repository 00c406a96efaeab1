"""The grouping editor: drag heavy packages into dependency groups that get their own layer.

Columns are layers-to-be, bottom first, then "the rest". The preview under
the board says, live, how large each layer would be and what a version bump,
a new light dependency or a source change would rebuild today and with the
groups; with a git history of uv.lock, also what the last lock changes
pushed today and would have pushed with the groups on screen (`c` charts it
per change). It starts from the history planner's grouping when there is a
history, else from the heavy closures. `w` shows the diff of pyproject.toml
and the Dockerfile and writes them (re-locking) after confirmation.

Nothing slow runs on the event loop: reading the project (its Dockerfile and
uv.lock's git history), planning the files and writing them run in thread
workers (`GroupingProjectScreen`, in `grouping_project.py`, which this screen
derives from) while the board stays usable; the history planner's grouping
replaces the first suggestion if no card was moved yet. The Dockerfile is
read once per screen and rewritten once per grouping (`ProjectBuild`): a card
move only recomputes the numbers.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, Static
from textual.worker import Worker

from uvscope.analysis.packages.lockmatch import LockMatch
from uvscope.analysis.plan.grouping import REST, Grouping, GroupingError, items_for, plan_layers, preview, suggest
from uvscope.analysis.plan.layer_plan import Replay, Step
from uvscope.analysis.plan.optimize import ProjectBuild, history_replays, project_preview
from uvscope.widgets.group_board import GroupBoard, GroupColumn, PackageCard
from uvscope.widgets.grouping_preview import GroupingPreview
from uvscope.widgets.key_footer import KeyFooter

from .dialogs import NamePrompt
from .grouping_project import GroupingProjectScreen


class GroupingScreen(GroupingProjectScreen):
    """Edit which direct dependencies get a cached layer of their own."""

    MOVE = Binding.Group("move", compact=True)
    REORDER = Binding.Group("group ↓↑", compact=True)
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="cancel a drag, else back to the image"),
        Binding(
            "left_square_bracket",
            "move_card(-1)",
            "Move left",
            key_display="[",
            group=MOVE,
            tooltip="move the focused package one column left (a lower layer)",
        ),
        Binding(
            "right_square_bracket",
            "move_card(1)",
            "Move right",
            key_display="]",
            group=MOVE,
            tooltip="move the focused package one column right",
        ),
        Binding("w", "write", "Write", tooltip="show the diff of pyproject.toml and the Dockerfile, write after y"),
        Binding("n", "new_group", "New", tooltip="new group (its own layer), on top of the others"),
        Binding("x", "scratch", "Scratch", tooltip="start from scratch: no groups"),
        Binding("s", "suggest", "Suggest", tooltip="start from uvscope's suggestion"),
        Binding("c", "churn", "Churn", tooltip="what each past lock change pushed, per layer of this grouping"),
        Binding("r", "rename_group", "Rename", tooltip="rename the focused package's group"),
        Binding("d", "delete_group", "Delete", tooltip="delete the focused package's group (its packages go to the rest)"),
        Binding(
            "less_than_sign",
            "reorder(-1)",
            "Group down",
            key_display="<",
            group=REORDER,
            tooltip="move the focused package's group one layer down",
        ),
        Binding(
            "greater_than_sign",
            "reorder(1)",
            "Group up",
            key_display=">",
            group=REORDER,
            tooltip="move the focused package's group one layer up",
        ),
        Binding("left", "focus_column(-1)", "Column left", show=False, tooltip="focus the column on the left"),
        Binding("right", "focus_column(1)", "Column right", show=False, tooltip="focus the column on the right"),
        Binding("up", "focus_card(-1)", "Up", show=False, tooltip="focus the previous package"),
        Binding("down", "focus_card(1)", "Down", show=False, tooltip="focus the next package"),
    ]

    HELP_TITLE = "uvscope: grouping editor"
    HELP_EXTRA = (
        ("drag a card", "move a package to another column with the mouse (esc cancels the drag)"),
        ("click a card", "focus it"),
    )
    HELP_TEXT = """\
Columns are layers-to-be: dependency groups, bottom layer on the left, then
"the rest" that `uv sync` installs. The preview under the board says how large
each layer is and what a version bump, a new light dependency or a source
change rebuilds, today and with the groups. Sizes are the bytes of each
package's `uv.lock` closure.
"""

    def __init__(self, match: LockMatch, sizes: dict[str, int], member: str, project_dir: str | None, target: str = "") -> None:
        super().__init__(match, sizes, member, project_dir, target)
        self.items = items_for(match.lock, sizes, member)
        self.steps: list[Step] = []
        """The lock changes the preview replays, each sized as it locked its packages (empty without a git
        history of uv.lock, or until it is read)."""
        self.dockerfile: ProjectBuild | None = None
        """The project's Dockerfile, read once (None: none, or not read yet): every preview is worked out from it."""
        self.suggestion = suggest(match.lock, sizes, member, None)
        """uvscope's suggestion (`s`): from the heavy closures, then from uv.lock's history once it is read."""
        self.grouping = self.suggestion
        self._edited = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            f"[b]{self.member}[/b]: drag packages between layers (bottom layer on the left), or use [ ] to move the "
            f"focused one; n new group, c churn per lock change, w write pyproject.toml and Dockerfile",
            id="grouping-help",
        )
        yield GroupBoard(id="board")
        yield Static("writing the files and re-locking: uv lock is running...", id="grouping-busy")
        yield GroupingPreview(id="grouping-preview")
        yield KeyFooter()

    async def on_mount(self) -> None:
        if self.project_dir is not None:
            self.reading_history = True
            self._jobs["project"] = self._read_project(self.project_dir)
        await self.refresh_board()
        first = next(iter(self.query(PackageCard)), None)
        if first is not None:  # `[` and `]` work at once, no Tab first
            first.focus()

    @on(GroupingProjectScreen.DockerfileRead)
    async def _dockerfile_read(self, message: GroupingProjectScreen.DockerfileRead) -> None:
        self.dockerfile = message.dockerfile
        roots = message.dockerfile.group_roots if message.dockerfile is not None else ()
        if not roots:
            self.refresh_preview()
            return
        # the sync installs dependency groups (`dev` by default): their packages are cards too
        lock, sizes, member = self.match.lock, self.sizes, self.member
        self.items = items_for(lock, sizes, member, also=roots)
        self.suggestion = suggest(lock, sizes, member, None, also=roots)
        if not self._edited:
            self.grouping = self.suggestion
        await self.refresh_board(focus=self._focused_name())

    @on(GroupingProjectScreen.HistoryRead)
    async def _history_read(self, message: GroupingProjectScreen.HistoryRead) -> None:
        self.steps = message.steps
        self.suggestion = message.suggestion
        self.reading_history = False
        if not self._edited and message.suggestion != self.grouping:
            self.grouping = message.suggestion
            await self.refresh_board(focus=self._focused_name())
        else:
            self.refresh_preview()

    def _focused_name(self) -> str | None:
        card = self._focused_card()
        return card.item.name if card is not None else None

    async def refresh_board(self, focus: str | None = None) -> None:
        """Redraw the columns and the live preview for the current grouping."""
        plans = plan_layers(self.grouping, self.match.lock, self.sizes, self.member)
        await self.query_one(GroupBoard).show(self.grouping, self.items, plans, focus)
        self.refresh_preview()

    def refresh_preview(self) -> None:
        """Work out the preview's numbers for the current grouping (from the Dockerfile read once)."""
        from_dockerfile = project_preview(self.dockerfile, self.grouping, self.match.lock, self.sizes, self.member)
        shown = from_dockerfile or preview(self.grouping, self.match.lock, self.sizes, self.member, self.sizes.get(self.member, 0))
        replayed = self.replays() if self.steps and not self.reading_history else None
        self.query_one(GroupingPreview).show(shown, from_dockerfile is not None, self.reading_history, replayed, len(self.steps))

    def replays(self) -> tuple[Replay, Replay]:
        """Today's single layer and the grouping on screen, replayed over the lock history
        (from the project's Dockerfile and its revision when there is one)."""
        plan = history_replays(self.dockerfile, self.grouping, self.match.lock, self.sizes, self.member, self.steps)
        return plan.today, plan.planned

    def action_churn(self) -> None:
        """Chart what each lock change pushed, per layer of the grouping on screen."""
        from .churn import ChurnScreen

        if self.reading_history:
            self.notify("still reading uv.lock's git history: c works once the preview shows it")
            return
        if not self.steps:
            self.notify("no git history of uv.lock: open the session with --project DIR in a git checkout")
            return
        self.app.push_screen(ChurnScreen(*self.replays()))

    # -- moving --------------------------------------------------------------------

    def _columns(self) -> list[str]:
        return [*self.grouping.names(), REST]

    def _focused_card(self) -> PackageCard | None:
        return self.focused if isinstance(self.focused, PackageCard) else None

    def _focused_column(self) -> str | None:
        card = self._focused_card()
        if card is not None and isinstance(card.parent, GroupColumn):
            return card.parent.group_name
        return None

    async def _move(self, package: str, target: str) -> None:
        try:
            self.grouping = self.grouping.move(package, target)
            self._edited = True
        except GroupingError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        await self.refresh_board(focus=package)

    @on(GroupBoard.Moved)
    async def _dropped(self, message: GroupBoard.Moved) -> None:
        await self._move(message.package, message.target)

    async def action_move_card(self, delta: int) -> None:
        """Move the focused card to the column on its left (-1) or right (+1)."""
        card, column = self._focused_card(), self._focused_column()
        if card is None or column is None:
            return
        columns = self._columns()
        target = columns[max(0, min(len(columns) - 1, columns.index(column) + delta))]
        if target != column:
            await self._move(card.item.name, target)

    def action_focus_column(self, delta: int) -> None:
        """Focus the first card of the neighbouring column."""
        columns = list(self.query(GroupColumn))
        current = self._focused_column()
        index = next((i for i, c in enumerate(columns) if c.group_name == current), -1)
        for step in range(1, len(columns) + 1):
            column = columns[(index + delta * step) % len(columns)]
            cards = list(column.query(PackageCard))
            if cards:
                cards[0].focus()
                return

    def action_focus_card(self, delta: int) -> None:
        """Focus the previous or next card."""
        if delta < 0:
            self.focus_previous(PackageCard)
        else:
            self.focus_next(PackageCard)

    # -- groups ----------------------------------------------------------------------

    @work(exit_on_error=False, name="naming the new group")
    async def action_new_group(self) -> None:
        """Ask for a name and add an empty group on top of the others."""
        name = await self.app.push_screen_wait(NamePrompt("Name of the new dependency group (its own layer):"))
        if name:
            await self._change(lambda: self.grouping.add_group(name))

    @work(exit_on_error=False, name="renaming the group")
    async def action_rename_group(self) -> None:
        """Rename the focused card's group."""
        column = self._focused_column()
        if column in (None, REST):
            self.notify("focus a card in a group to rename that group")
            return
        name = await self.app.push_screen_wait(NamePrompt(f"Rename group {column!r} to:", column))
        if name and name != column:
            await self._change(lambda: self.grouping.rename_group(column, name))

    async def action_delete_group(self) -> None:
        """Delete the focused card's group; its packages go back to the rest."""
        column = self._focused_column()
        if column not in (None, REST):
            await self._change(lambda: self.grouping.delete_group(column))

    async def action_reorder(self, delta: int) -> None:
        """Move the focused card's group one layer down (-1) or up (+1)."""
        column = self._focused_column()
        if column not in (None, REST):
            card = self._focused_card()
            await self._change(lambda: self.grouping.reorder(column, delta), focus=card.item.name if card else None)

    async def action_suggest(self) -> None:
        """Start from uvscope's suggestion."""
        await self._change(lambda: self.suggestion)

    async def action_scratch(self) -> None:
        """Start from scratch: no groups."""
        await self._change(lambda: Grouping())

    async def _change(self, make, focus: str | None = None) -> None:
        try:
            self.grouping = make()
            self._edited = True
        except GroupingError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        await self.refresh_board(focus=focus)

    def worker_failed(self, worker: Worker, message: str) -> None:
        """Whatever failed (reading the history, planning, writing), the screen is no longer busy with it."""
        if worker is self._jobs.get("project"):
            self.reading_history = False
            self.refresh_preview()
        if worker is self._jobs.get("plan"):
            self.planning = False
        if worker is self._jobs.get("write"):
            self.busy = False
        super().worker_failed(worker, message)

    def action_back(self) -> None:
        """Cancel a drag, or go back to the image."""
        if not self.query_one(GroupBoard).cancel_drag():
            self.app.pop_screen()
