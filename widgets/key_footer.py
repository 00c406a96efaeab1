"""A footer that keeps the keys that matter on screen, however narrow the terminal.

Textual's Footer lists the focused widget's keys, then the screen's, then the
app's, so on a narrow terminal `?` and `q` are the first to be cut. This one
shows the app's keys (help, quit) first, then the screen's, then the focused
widget's, and joins a `Binding.Group` into one entry (`1-5 views`).
"""

from __future__ import annotations

from itertools import groupby

from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup


def footer_order(active_bindings: dict[str, ActiveBinding], app: object) -> list[ActiveBinding]:
    """The shown bindings of `active_bindings` (Screen.active_bindings), app's first, one per action, in a stable order."""
    entries = [entry for entry in active_bindings.values() if entry.binding.show]
    entries.sort(key=lambda entry: 0 if entry.node is app else 1)  # stable: each node keeps its own order
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry.binding.action not in seen:
            seen.add(entry.binding.action)
            unique.append(entry)
    return unique


class KeyFooter(Footer):
    """Footer with help and quit first and grouped bindings joined (see the module docstring)."""

    DEFAULT_CSS = """
    KeyFooter FooterKey.-compact .footer-key--description { padding: 0 1 0 1; }
    KeyFooter FooterKey.-grouped { padding: 0; }
    KeyFooter FooterLabel { padding: 0 1 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, compact=True, show_command_palette=False)

    def on_resize(self) -> None:
        for child in self.children:  # laid out again at the new width, then fitted
            child.display = True
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """Hide the entries that the footer's width would cut (`^l Layer onl`): each shown entry is whole."""
        right = self.content_region.right
        cut = False
        for child in self.children:
            cut = cut or child.region.right > right
            if cut:
                child.display = False

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self.call_after_refresh(self._fit)
        entries = footer_order(self.screen.active_bindings, self.app)
        self.styles.grid_size_columns = len(entries)
        for group, grouped in groupby(entries, lambda entry: entry.binding.group):
            members = list(grouped)
            if group is not None and len(members) > 1:
                with KeyGroup(classes="-compact" if group.compact else ""):
                    for entry in members:
                        yield FooterKey(
                            entry.binding.key,
                            self.app.get_key_display(entry.binding),
                            "",
                            entry.binding.action,
                            disabled=not entry.enabled,
                            tooltip=entry.tooltip or entry.binding.description,
                            classes="-grouped",
                        ).data_bind(compact=Footer.compact)
                yield FooterLabel(group.description)
                continue
            for entry in members:
                yield FooterKey(
                    entry.binding.key,
                    self.app.get_key_display(entry.binding),
                    entry.binding.description,
                    entry.binding.action,
                    disabled=not entry.enabled,
                    tooltip=entry.tooltip,
                ).data_bind(compact=Footer.compact)
