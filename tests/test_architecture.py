"""The layering the code relies on, checked on every run (as harlequin's import-hygiene test does).

`uvscope.analysis` is the product's brain and runs with no UI: the report
mode, the CI gate and the tests call it directly. Its families depend one
way, so a newcomer can read them bottom up:

    core (errors, files, journal)  <-  image  <-  read  <-  packages  <-  plan, output  <-  views

`image` is the model (layers, stacking, dive's figures); `read` turns engines,
archives, layouts and registries into that model; `packages` maps bytes to
Python distributions and uv.lock; `plan` groups and rewrites; `output`
reports; `views` holds the session's view models. Widgets never import
screens, and the core never imports the UI.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
ANALYSIS = ROOT / "analysis"
RANK = {"": 0, "image": 1, "read": 2, "packages": 3, "plan": 4, "output": 4, "views": 5}
"""A family may import its own and lower ranks; plan and output share a rank (output reports plans)."""
UI = ("textual", "rich", "textual_plotext", "plotext", "uvscope.app", "uvscope.widgets")


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["uvscope", *parts])


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _family(module: str) -> str | None:
    """`read` for uvscope.analysis.read.sources, "" for the core, None outside analysis."""
    parts = module.split(".")
    if parts[:2] != ["uvscope", "analysis"] or len(parts) < 3:
        return None
    return parts[2] if parts[2] in RANK else ""


ANALYSIS_FILES = sorted(ANALYSIS.rglob("*.py"))


def test_every_analysis_module_sits_in_a_known_family():
    folders = {path.parent.name for path in ANALYSIS_FILES if path.parent != ANALYSIS}
    assert folders <= set(RANK), folders - set(RANK)
    assert {"image", "read", "packages", "plan", "output"} <= folders


@pytest.mark.parametrize("path", ANALYSIS_FILES, ids=[str(p.relative_to(ROOT)) for p in ANALYSIS_FILES])
def test_analysis_imports_no_ui_and_depends_one_way(path):
    own = path.parent.name if path.parent != ANALYSIS else ""
    for line, module in _imports(path):
        assert not module.startswith(UI), f"{path.relative_to(ROOT)}:{line} imports {module}"
        family = _family(module)
        if family is None or module in ("uvscope.analysis",):
            continue
        assert RANK[family] <= RANK[own], f"{path.relative_to(ROOT)}:{line} ({own or 'core'}) imports {module} ({family or 'core'})"


PLAN_FILES = sorted((ANALYSIS / "plan").rglob("*.py"))


@pytest.mark.parametrize("path", PLAN_FILES, ids=[p.name for p in PLAN_FILES])
def test_plan_never_imports_output(path):
    """plan and output share a rank, but only output depends on plan (a report says what a plan costs);
    what both need, such as writing a size, lives in the core (`analysis/units.py`)."""
    for line, module in _imports(path):
        assert not module.startswith("uvscope.analysis.output"), f"{path.relative_to(ROOT)}:{line} imports {module}"


WIDGET_FILES = sorted((ROOT / "widgets").rglob("*.py"))


@pytest.mark.parametrize("path", WIDGET_FILES, ids=[p.name for p in WIDGET_FILES])
def test_widgets_never_import_screens_or_the_app(path):
    for line, module in _imports(path):
        assert not module.startswith("uvscope.app"), f"{path.relative_to(ROOT)}:{line} imports {module}"


def test_importing_all_of_analysis_loads_no_ui_module():
    """The static check above cannot see imports made by third-party modules; this one runs them."""
    names = [_module_name(path) for path in ANALYSIS_FILES]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'textual_plotext', 'plotext')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


STARTUP_DEFERRED = (
    "docker",  # the engine's API: the first paint peeks at the engine's storage, the worker imports it after
    "requests",
    "plotext",  # the Plots tab, imported when first shown
    "textual_plotext",
    "importlib.metadata",  # `--version` only
    "uvscope.analysis.read.sources",  # the readers: the worker imports them once the layer list is painted
    "uvscope.analysis.packages",
    "uvscope.analysis.plan",
    "uvscope.analysis.views",
    "uvscope.widgets.package_table",  # the other tabs' content, composed when first needed
    "uvscope.widgets.file_browser",
    "uvscope.widgets.waste_panel",
    "uvscope.widgets.plots",
    "uvscope.app.screens.grouping",
    "uvscope.app.screens.diff",
    "uvscope.app.screens.history",
)


def test_starting_a_session_imports_only_what_the_first_screen_needs():
    """`uvscope IMAGE` must show its layer list within a second: every module imported before the first
    paint delays it (the GIL is shared with the reading worker). Not timed here (bench/first_paint.py
    measures the time); this only keeps the heavy modules out of the start-up path."""
    code = (
        "import sys\nimport uvscope.app.cli, uvscope.app.app\n"
        "from uvscope.app.screens.main import MainScreen\n"
        f"print(sorted(m for m in sys.modules if m in {STARTUP_DEFERRED!r} or m.startswith({STARTUP_DEFERRED!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_architecture_md_names_the_families_in_their_order():
    """ARCHITECTURE.md is the map a newcomer reads: its family list is the one this test enforces."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    marker = next(line for line in text.splitlines() if line.startswith("<!-- families:"))
    listed = [name.strip() for name in marker.removeprefix("<!-- families:").removesuffix("-->").split(",")]
    by_rank = sorted(RANK, key=lambda family: (RANK[family], list(RANK).index(family)))
    assert listed == ["core" if family == "" else family for family in by_rank]
    core = {path.stem for path in ANALYSIS.glob("*.py") if path.stem != "__init__"}
    row = next(line for line in text.splitlines() if line.startswith("| core ("))
    assert core == set(re.findall(r"`(\w+)`", row.split("|")[1])), "the core modules ARCHITECTURE.md lists"


MAX_LINES = 400
SOURCE_FILES = sorted(path for top in ("app", "widgets", "analysis") for path in (ROOT / top).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCE_FILES, ids=[str(p.relative_to(ROOT)) for p in SOURCE_FILES])
def test_no_module_over_400_lines(path):
    """Small modules a newcomer reads in one sitting (STYLE.md 7): a module that grows past the limit is split
    along a real seam, named by what it is, not given a higher limit."""
    name = path.relative_to(ROOT).as_posix()
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} is {lines} lines (at most {MAX_LINES}): split it along a seam"


