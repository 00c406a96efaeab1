"""The help dialog of the screen it was opened on, built from that screen's bindings.

Each screen's keys come from its own `BINDINGS` (and the app's), so the table
cannot drift from what the keys do. What no binding says (Tab, Esc in a search
box, sorting, the mouse) comes from the screen's `HELP_EXTRA`; what its views
show from its `HELP_TEXT`.
"""

from __future__ import annotations

from rich.markdown import Markdown
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def _describe(binding: Binding) -> str:
    return binding.tooltip or binding.description or binding.action


def help_rows(screen: Screen) -> list[tuple[str, str]]:
    """(keys, what they do) for `screen`: its bindings, the app's, then its `HELP_EXTRA`.

    Bindings of one action (or one `Binding.Group`) share a row.
    """
    rows: dict[str, tuple[list[str], list[str]]] = {}
    for node in (screen, screen.app):
        for _, binding in node._bindings:  # the node's BINDINGS merged with its bases', one entry per key
            if not (binding.description or binding.tooltip):
                continue  # internal (e.g. ctrl+c's "press ctrl+q to quit" hint)
            key = screen.app.get_key_display(binding)
            row = binding.group.description if binding.group is not None else binding.action
            keys, texts = rows.setdefault(row, ([], []))
            if key not in keys:
                keys.append(key)
            if binding.group is not None:  # a group's row names each member (`Layers, Packages, ...`)
                if binding.description not in texts:
                    texts.append(binding.description)
            elif not texts:  # one action says what it does once, whichever of its keys said it first
                texts.append(_describe(binding))
    table = [(" ".join(keys), ", ".join(texts)) for keys, texts in rows.values()]
    table.extend(getattr(screen, "HELP_EXTRA", ()))
    return table


def help_markdown(screen: Screen) -> str:
    """The dialog's text for `screen`: a title, the key table and what the screen shows."""
    title = getattr(screen, "HELP_TITLE", type(screen).__name__)
    lines = [f"# {title}", "", "| key | does |", "|---|---|"]
    lines += [f"| `{keys}` | {text} |" for keys, text in help_rows(screen)]
    text = getattr(screen, "HELP_TEXT", "")
    return "\n".join(lines) + ("\n\n" + text if text else "") + "\n"


class HelpScreen(ModalScreen[None]):
    """Keys and views of one screen, in a dialog; any of escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.markdown = help_markdown(screen)
        """The help of the screen this dialog was opened on."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            # Rich renders the Markdown synchronously: the dialog is complete on its first frame.
            yield Static(Markdown(self.markdown))
