"""Columns of layers-to-be with draggable package cards.

Each column is a dependency group that gets its own layer (bottom first),
the last one "the rest". Cards are direct dependencies with their closure
bytes. Drag a card with the mouse (escape cancels) or move it with the keys
of the screen that hosts the board; either way the board posts `Moved` and
the host applies the pure `Grouping.move`.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.dom import DOMNode
from textual.message import Message
from textual.widgets import Static

from uvscope.analysis.output.text import size
from uvscope.analysis.packages.uvlock import Item
from uvscope.analysis.plan.grouping import REST, Grouping, LayerPlan

from .text import plain


class PackageCard(Static, can_focus=True):
    """A direct dependency: name and closure bytes. Press and drag to move it.

    Cards and columns are told apart by their background, not by borders: box-drawing and block
    glyphs stop short of their cell in many fonts (and in every SVG screenshot), so each border
    showed a tick at every cell edge.
    """

    DEFAULT_CSS = """
    PackageCard { height: 3; padding: 1 1; margin: 0 0 1 0; background: $boost; }
    PackageCard:focus { background: $accent 45%; text-style: bold; }
    PackageCard.-dragging { background: $warning 60%; }
    """

    def __init__(self, item: Item) -> None:
        # No widget id from the name: names are data, and many are not valid ids (`zope.interface`).
        super().__init__(Text.assemble(plain(item.name), "  ", (size(item.closure_bytes), "bold")))
        self.item = item

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self.focus()
        self.capture_mouse()
        self.add_class("-dragging")
        self.post_message(GroupBoard.DragStarted(self))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self.has_class("-dragging"):
            self.post_message(GroupBoard.DragOver(self, event.screen_x, event.screen_y))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self.has_class("-dragging"):
            self.release_mouse()
            self.remove_class("-dragging")
            self.post_message(GroupBoard.Dropped(self, event.screen_x, event.screen_y))

    def cancel_drag(self) -> None:
        """Stop dragging without moving (escape)."""
        if self.has_class("-dragging"):
            self.release_mouse()
            self.remove_class("-dragging")


class GroupColumn(VerticalScroll):
    """One layer-to-be and the cards it holds."""

    DEFAULT_CSS = """
    GroupColumn { width: 1fr; height: 1fr; padding: 1 1 0 1; margin: 0 1 0 0; background: $panel-darken-1; }
    GroupColumn:last-of-type { margin: 0; }
    GroupColumn.-drop-target { background: $success 30%; }
    GroupColumn.-selected { background: $accent 15%; }
    GroupColumn > .column-title { height: 2; text-style: bold; }
    """

    def __init__(self, name: str, plan: LayerPlan | None, items: list[Item]) -> None:
        super().__init__()  # a group name the user typed is data, never a widget id (`ml.libs`, `1st`)
        self.group_name = name
        self.plan = plan
        self.items = items

    def compose(self) -> ComposeResult:
        count = len(self.plan.packages) if self.plan is not None else 0
        layer = f"{size(self.plan.bytes)} · {count} package{'' if count == 1 else 's'}" if self.plan is not None else ""
        title = "the rest (uv sync)" if self.group_name == REST else f"group {self.group_name}"
        yield Static(plain(title).append("\n" + layer), classes="column-title")
        for item in self.items:
            yield PackageCard(item)


class GroupBoard(Horizontal):
    """The columns, bottom layer on the left."""

    DEFAULT_CSS = "GroupBoard { height: 1fr; }"

    class DragStarted(Message):
        def __init__(self, card: PackageCard) -> None:
            super().__init__()
            self.card = card

    class DragOver(Message):
        def __init__(self, card: PackageCard, x: int, y: int) -> None:
            super().__init__()
            self.card, self.x, self.y = card, x, y

    class Dropped(Message):
        def __init__(self, card: PackageCard, x: int, y: int) -> None:
            super().__init__()
            self.card, self.x, self.y = card, x, y

    class Moved(Message):
        """The user dropped a card on another column."""

        def __init__(self, board: GroupBoard, package: str, target: str) -> None:
            super().__init__()
            self.board, self.package, self.target = board, package, target

        @property
        def control(self) -> GroupBoard:
            return self.board

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dragging: PackageCard | None = None

    async def show(self, grouping: Grouping, items: list[Item], plans: list[LayerPlan], focus: str | None = None) -> None:
        """Lay out the columns for `grouping` (re-creating them)."""
        by_group: dict[str, list[Item]] = {name: [] for name in [*grouping.names(), REST]}
        order = {name: index for group in grouping.groups for index, name in enumerate(group.packages)}
        for item in items:
            by_group[grouping.group_of(item.name)].append(item)
        plan_of = {plan.name: plan for plan in plans}
        await self.remove_children()
        columns = [
            GroupColumn(name, plan_of.get(name), sorted(group_items, key=lambda i: (order.get(i.name, 0), -i.closure_bytes)))
            for name, group_items in by_group.items()
        ]
        await self.mount_all(columns)
        if focus is not None and (card := self.card(focus)) is not None:
            card.focus()

    def column(self, name: str) -> GroupColumn | None:
        """The column of group `name` (or `REST`), if shown."""
        return next((column for column in self.query(GroupColumn) if column.group_name == name), None)

    def card(self, package: str) -> PackageCard | None:
        """The card of direct dependency `package`, if shown."""
        return next((card for card in self.query(PackageCard) if card.item.name == package), None)

    def column_at(self, x: int, y: int) -> GroupColumn | None:
        """The column under a screen position, if any."""
        try:
            widget, _ = self.screen.get_widget_at(x, y)
        except Exception:  # noqa: BLE001 - outside every widget
            return None
        node: DOMNode | None = widget
        while node is not None and not isinstance(node, GroupColumn):
            node = node.parent
        return node if isinstance(node, GroupColumn) else None

    def on_group_board_drag_started(self, message: DragStarted) -> None:
        self.dragging = message.card

    def on_group_board_drag_over(self, message: DragOver) -> None:
        target = self.column_at(message.x, message.y)
        for column in self.query(GroupColumn):
            column.set_class(column is target, "-drop-target")

    def on_group_board_dropped(self, message: Dropped) -> None:
        self.dragging = None
        target = self.column_at(message.x, message.y)
        for column in self.query(GroupColumn):
            column.remove_class("-drop-target")
        if target is not None and target.group_name != message.card.item.name:
            current = message.card.parent
            if not (isinstance(current, GroupColumn) and current.group_name == target.group_name):
                self.post_message(self.Moved(self, message.card.item.name, target.group_name))

    def cancel_drag(self) -> bool:
        """Cancel a drag in progress; True if there was one."""
        if self.dragging is None:
            return False
        self.dragging.cancel_drag()
        self.dragging = None
        for column in self.query(GroupColumn):
            column.remove_class("-drop-target")
        return True
