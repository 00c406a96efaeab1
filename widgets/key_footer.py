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
from textual.geometry import Size
from textual.layout import DockArrangeResult
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

    def arrange(self, size: Size, optimal: bool = False) -> DockArrangeResult:
        """Textual's arrangement of the entries, less those the footer's width would cut (`^l Layer onl`):
        each entry shown is whole (the help lists every key). Done in the layout itself, so no frame ever
        shows a cut entry, and a wider terminal brings them back."""
        arranged = super().arrange(size, optimal)
        kept = []
        for placement in arranged.placements:
            if placement.region.right > size.width:
                break
            kept.append(placement)
        if len(kept) == len(arranged.placements):
            return arranged
        return DockArrangeResult(kept, {placement.widget for placement in kept}, arranged.scroll_spacing)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
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
