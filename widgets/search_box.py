"""A one-line search or filter box that never traps the focus: escape leaves it, enter applies and leaves."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class SearchBox(Input):
    """An Input whose escape and enter hand the focus back (the host decides where, on `Left`)."""

    BINDINGS = [Binding("escape", "leave", "Leave", tooltip="leave the box (the text stays applied)")]

    class Left(Message):
        """The user left the box with escape or enter: focus whatever the box filters."""

        def __init__(self, box: SearchBox) -> None:
            super().__init__()
            self.box = box

        @property
        def control(self) -> SearchBox:
            return self.box

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id, compact=True)

    def action_leave(self) -> None:
        """Leave the box; what was typed stays applied."""
        self.post_message(self.Left(self))

    async def action_submit(self) -> None:
        await super().action_submit()
        self.post_message(self.Left(self))
