"""Text from an image, as widgets show it.

A `str` given to a DataTable cell, a Tree label, a Static or a notification is read
as Textual markup: `[link=…]` or `[@click=…]` in a package's version would become a
hyperlink or an action. So widgets never pass an image's text as a `str`: they pass
`plain(value)`, a Rich `Text` (never parsed as markup) whose control characters are
shown (`untrusted.shown`), so no ESC sequence reaches the terminal either.
"""

from __future__ import annotations

from rich.style import StyleType
from rich.text import Text

from uvscope.analysis.untrusted import shown


def plain(value: str, style: StyleType = "", **options) -> Text:
    """`value` as a `Text` for a widget: never markup, every control character visible (`\\x1b`)."""
    return Text(shown(value), style=style, **options)
