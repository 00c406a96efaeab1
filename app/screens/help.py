"""The help dialog: what each view shows and the keys that drive it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from rich.markdown import Markdown
from textual.widgets import Static

HELP = """\
# uvscope

Where every byte of this image comes from.

| key | does |
|---|---|
| `1`-`5` | Layers, Packages, Files, Waste, Plots |
| `↑` `↓` | move; in Layers, the highlighted layer drives Packages and Files |
| `ctrl+a` | show everything up to the selected layer (like dive) |
| `ctrl+l` | show the selected layer only |
| `/` | search packages (or paths, in Files) |
| `e` / `c` | expand / collapse all folders in Files |
| `g` | grouping editor: drag packages into groups that get their own cached layer |
| click a column header | sort Packages by it (again: reverse) |
| `ctrl+p` | command palette (every action, themes) |
| `q` | quit (stops reading at once) |

**Files** marks: `+` added, `~` modified, `-` removed by the selected layer.
**Packages**: `closure` is the bytes a direct dependency pulls in through
`uv.lock`; `excl/shared` splits it into bytes only it pulls in and bytes
other dependencies of the image's member need too. `re-shipped`: bytes a
later layer wrote again.
**Waste**: dive's efficiency (same formula), and uvscope's reclaimable bytes:
copies hidden or deleted by a later layer, by layer, path and package.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and views, in a dialog; any of escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            # Rich renders the Markdown synchronously: the dialog is complete on its first frame.
            yield Static(Markdown(HELP))
