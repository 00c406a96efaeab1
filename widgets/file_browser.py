"""A layer's files as a tree, largest first, with change marks, sizes and owning package."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static, Tree

from uvscope.analysis.image.model import EntryKind
from uvscope.analysis.output.text import size
from uvscope.analysis.untrusted import shown
from uvscope.analysis.views.browse import FileNode, filter_tree, parse_size

from .search_box import SearchBox

MARKS = {"added": ("+", "green"), "modified": ("~", "yellow"), "removed": ("-", "red"), "": (" ", "")}
AUTO_EXPAND = 4
"""Folders expanded when a tree is shown: the first levels, along the largest path."""
MAX_CHILDREN = 1_000
"""Entries of one folder put in the tree, largest first; the rest are summed in one line (filter to find them)."""


def files_label(count: int) -> str:
    """`1 file`, `1,856 files`: the count is a layer's `file_count` (entries that are not folders)."""
    return f"{count:,} file" + ("" if count == 1 else "s")


def node_label(node: FileNode) -> Text:
    """`+ name   12.3 MB  numpy` with the mark's colour."""
    symbol, style = MARKS.get(node.mark, (" ", ""))
    label = Text()
    label.append(f"{symbol} ", style=style or "dim")
    name = shown(node.name) + ("/" if node.children or node.kind is EntryKind.DIR else "")
    label.append(name, style=style)
    if node.kind is EntryKind.SYMLINK:
        label.append(f" -> {shown(node.link)}", style="dim")
    elif node.kind is EntryKind.HARDLINK:
        label.append(f" => {shown(node.link)}", style="dim")
    label.append(" │ ", style="dim")
    label.append(size(node.size), style="bold")
    if node.owner:
        label.append(" │ ", style="dim")
        label.append(shown(node.owner), style="italic")
    return label


class FileBrowser(Vertical):
    """Path and size filters above a lazily filled tree of one layer (or everything up to it)."""

    DEFAULT_CSS = """
    FileBrowser { height: 1fr; }
    FileBrowser #file-filters { height: 1; }
    FileBrowser #file-title { height: 1; padding: 0 1; text-style: bold; }
    FileBrowser #file-search { width: 1fr; margin-right: 1; }
    FileBrowser #file-min-size { width: 12; }
    FileBrowser Tree { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root_node: FileNode | None = None
        self.text = ""
        self.min_bytes = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="file-filters"):
            yield SearchBox(placeholder="filter paths (/)", id="file-search")
            yield SearchBox(placeholder="min size", id="file-min-size")
        yield Static(id="file-title")
        tree: Tree[FileNode] = Tree("/", id="file-tree")
        tree.show_root = False
        yield tree

    def show(self, root: FileNode | None, title: str = "/") -> None:
        """Show a new tree (another layer or mode)."""
        self.root_node = root
        self.query_one("#file-title", Static).update(
            f"{title}: {size(root.size)} in {files_label(root.file_count())}" if root is not None else title
        )
        self._rebuild()

    def _rebuild(self) -> None:
        tree = self.query_one(Tree)
        tree.clear()
        if self.root_node is None:
            return
        shown = filter_tree(self.root_node, self.text, self.min_bytes)
        if shown is None:
            return
        tree.root.data = shown
        self._fill(tree.root, shown)
        branch = tree.root
        filtering = bool(self.text or self.min_bytes)
        for _ in range(AUTO_EXPAND if not filtering else 64):
            children = [child for child in branch.children if child.allow_expand]
            if not children:
                break
            branch = children[0]
            if not branch.children and branch.data is not None:
                self._fill(branch, branch.data)
            branch.expand()

    def _fill(self, parent, node: FileNode) -> None:
        children = node.sorted_children()
        for child in children[:MAX_CHILDREN]:
            parent.add(node_label(child), data=child, allow_expand=bool(child.children))
        rest = children[MAX_CHILDREN:]
        if rest:
            label = f"… {len(rest):,} more, {size(sum(child.size for child in rest))} (type part of a name in the filter to find one)"
            parent.add_leaf(Text(label, style="dim italic"))

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded) -> None:
        event.stop()
        if not event.node.children and event.node.data is not None:
            self._fill(event.node, event.node.data)

    @on(SearchBox.Left)
    def _left_box(self, event: SearchBox.Left) -> None:
        event.stop()
        self.query_one(Tree).focus()

    @on(Input.Changed, "#file-search")
    def _search(self, event: Input.Changed) -> None:
        self.text = event.value
        self._rebuild()

    @on(Input.Changed, "#file-min-size")
    def _min_size(self, event: Input.Changed) -> None:
        try:
            self.min_bytes = parse_size(event.value) if event.value.strip() else 0
        except ValueError:
            event.input.add_class("-invalid")
            return
        event.input.remove_class("-invalid")
        self._rebuild()

    def highlighted_path(self) -> str | None:
        """The exact path (`/app/x`, as the image names it) of the highlighted file or folder, if any."""
        node = self.query_one(Tree).cursor_node
        if node is None or not isinstance(node.data, FileNode) or not node.data.path:
            return None
        return "/" + node.data.path

    def expand_all(self) -> None:
        """Expand every folder (fills the whole tree)."""
        tree = self.query_one(Tree)
        stack = list(tree.root.children)
        while stack:
            node = stack.pop()
            if node.allow_expand:
                node.expand()
                if not node.children and node.data is not None:
                    self._fill(node, node.data)
                stack.extend(node.children)

    def collapse_all(self) -> None:
        """Collapse every folder."""
        for node in self.query_one(Tree).root.children:
            node.collapse_all()
