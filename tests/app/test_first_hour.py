"""A new user's first hour in the session (issue 15), at 80x24 and 120x40.

Group names are data (never widget ids), an unhandled error ends the session
with one line and a non-zero code, the footer keeps the keys that matter
visible, `?` is the help of the screen it is pressed on, search boxes never
trap the focus, filtering never collapses columns, sorting has a key and an
indicator, and the grouping editor opens with a card focused.
"""

from __future__ import annotations

import pytest
from pilot import loaded
from rich.cells import cell_len
from textual.screen import Screen
from textual.widgets import DataTable
from textual.widgets._footer import FooterKey

from uvscope.app.app import UvscopeApp, make_app, run_session
from uvscope.app.screens.grouping import GroupingScreen
from uvscope.app.screens.help import HelpScreen
from uvscope.app.screens.main import MainScreen
from uvscope.widgets.group_board import GroupBoard, GroupColumn, PackageCard
from uvscope.widgets.package_table import PackageView

SIZES = [(80, 24), (120, 40)]


async def _grouping(app, pilot) -> GroupingScreen:
    await loaded(app, pilot)
    await pilot.press("g")
    await pilot.pause()
    assert isinstance(app.screen, GroupingScreen)
    await app.workers.wait_for_complete()  # the project's Dockerfile and uv.lock history
    await pilot.pause()
    return app.screen


def _visible_keys(screen: Screen) -> set[str]:
    """Footer keys drawn entirely inside the terminal."""
    width = screen.app.size.width
    return {
        key.key
        for key in screen.query(FooterKey)
        if key.region.width > 0 and key.region.x >= 0 and key.region.right <= width
    }


# -- 1: a group name is data -----------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["ml.libs", "1st", "a_b-c.d"])
async def test_any_valid_group_name_becomes_a_group(session_tar, size, name):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        screen = await _grouping(app, pilot)
        await pilot.press("n", *name, "enter")
        await pilot.pause()
        assert app.screen is screen and app.return_code is None
        assert screen.grouping.names() == ["heavy", name]
        titles = [column.group_name for column in screen.query(GroupColumn)]
        assert titles == ["heavy", name, "rest"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["my group!", "[b]x", "-x", "dev"])
async def test_an_invalid_group_name_is_refused_with_a_message(session_tar, size, name):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        screen = await _grouping(app, pilot)
        await pilot.press("n", *name, "enter")
        await pilot.pause()
        assert app.screen is screen and app.return_code is None
        assert screen.grouping.names() == ["heavy"]
        messages = [notification.message for notification in app._notifications]
        assert any(name in message and "group" in message for message in messages), messages


class _Exploding(Screen):
    def on_mount(self) -> None:
        raise RuntimeError("boom in the session")


def test_an_unhandled_error_ends_the_session_with_one_line_and_exit_3(capsys):
    app = UvscopeApp(first_screen=_Exploding)
    assert run_session(app, headless=True) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["uvscope: internal error: RuntimeError: boom in the session (set UVSCOPE_DEBUG=1 for details)"]


# -- 3: the footer ------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_footer_keeps_help_quit_and_the_main_keys_visible(session_tar, size):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        screen = await loaded(app, pilot)
        visible = _visible_keys(screen)
        assert {"question_mark", "q", "slash", "g"} <= visible, visible
        screen = await _grouping(app, pilot)
        await pilot.pause()
        visible = _visible_keys(screen)
        assert {"question_mark", "q", "escape", "w", "x", "n", "left_square_bracket"} <= visible, visible


# -- 4: help per screen, from its bindings --------------------------------------------------


def _described(binding) -> str:
    return binding.tooltip or binding.description


@pytest.mark.parametrize("size", SIZES)
async def test_help_is_the_help_of_the_screen_it_is_opened_on(session_tar, size):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        main = await loaded(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.markdown
        for binding in MainScreen.BINDINGS:
            assert (binding.description if binding.group else _described(binding)) in text
        assert "tab" in text and "esc" in text and "column header" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is main
        grouping = await _grouping(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = app.screen.markdown
        for binding in GroupingScreen.BINDINGS:
            assert (binding.description if binding.group else _described(binding)) in text
        assert "drag a card" in text
        assert "Files: expand" not in text  # not the main screen's help
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is grouping


# -- 5: search boxes -----------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_escape_and_enter_leave_the_search_box(session_tar, size):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        screen = await loaded(app, pilot)
        view = screen.query_one(PackageView)
        await pilot.press("slash")
        assert app.focused is screen.query_one("#package-search")
        assert app.focused.region.width >= 16  # room to type in, at 80 columns too
        await pilot.press(*"num", "escape")
        await pilot.pause()
        assert isinstance(app.focused, DataTable)
        assert [row.name for row in view.shown_rows] == [row.name for row in view.rows if "num" in row.name]
        await pilot.press("slash", "backspace", "backspace", "backspace", *"idna", "enter")
        await pilot.pause()
        assert isinstance(app.focused, DataTable)
        assert [row.name for row in view.shown_rows] == ["idna"]
        await pilot.press("g")  # a key again, not a letter in the box
        await pilot.pause()
        assert isinstance(app.screen, GroupingScreen)


@pytest.mark.parametrize("size", SIZES)
async def test_escape_leaves_the_files_filter(session_tar, size):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("3", "slash")
        assert app.focused is screen.query_one("#file-search")
        await pilot.press("x", "escape")
        assert app.focused is screen.query_one("#file-tree")


# -- 6: columns keep their width ------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_filtering_never_shrinks_the_package_columns(session_tar, size):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("2")
        view = screen.query_one(PackageView)
        table = view.query_one(DataTable)
        before = {key.value: column.get_render_width(table) for key, column in table.columns.items()}
        longest_name = max(cell_len(row.name) for row in view.rows)
        longest_version = max(cell_len(row.version) for row in view.rows)
        def room(key: str) -> int:
            return table.columns[key].get_render_width(table) - 2 * table.cell_padding

        assert room("name") >= longest_name
        await pilot.press("slash", *"idna", "enter")
        await pilot.pause()
        assert [row.name for row in view.shown_rows] == ["idna"]
        after = {key.value: column.get_render_width(table) for key, column in table.columns.items()}
        assert after == before
        assert room("name") >= longest_name and room("version") >= longest_version


# -- 7: sorting and the grouping editor's focus ----------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_sort_has_a_key_and_an_indicator(session_tar, size):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        screen = await loaded(app, pilot)
        view = screen.query_one(PackageView)
        table = view.query_one(DataTable)
        assert str(table.columns["bytes"].label) == "size ▼"
        sizes = [row.bytes for row in view.shown_rows]
        assert sizes == sorted(sizes, reverse=True)
        await pilot.press("s")  # next column: share
        await pilot.pause()
        assert view.sort_column == "share" and str(table.columns["share"].label).endswith("▼")
        assert str(table.columns["bytes"].label) == "size"
        await pilot.press("S")
        await pilot.pause()
        shares = [row.share for row in view.shown_rows]
        assert shares == sorted(shares) and str(table.columns["share"].label).endswith("▲")
        await pilot.click("#package-table", offset=(2, 0))  # the "name" header
        await pilot.pause()
        names = [row.name for row in view.shown_rows]
        assert view.sort_column == "name" and names == sorted(names)
        assert str(table.columns["name"].label) == "name ▲"


@pytest.mark.parametrize("size", SIZES)
async def test_grouping_editor_opens_with_a_card_focused_and_brackets_work_at_once(session_tar, size):
    app = make_app(session_tar)
    async with app.run_test(size=size) as pilot:
        screen = await _grouping(app, pilot)
        focused = app.focused
        assert isinstance(focused, PackageCard)
        package = focused.item.name
        column = screen.grouping.group_of(package)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.grouping.group_of(package) != column
        assert screen.query_one(GroupBoard).card(package) is app.focused


@pytest.mark.parametrize("size", SIZES)
async def test_diff_and_history_have_their_own_help(tmp_path, size):
    from uvscope.app.app import make_diff_app, make_history_app
    from uvscope.app.screens.diff import DiffScreen
    from uvscope.app.screens.history import HistoryScreen

    for app, kind in (
        (make_diff_app(str(tmp_path / "a.tar"), str(tmp_path / "b.tar")), DiffScreen),
        (make_history_app(lambda: []), HistoryScreen),
    ):
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await app.screen.workers.wait_for_complete()
            screen = app.screen
            assert isinstance(screen, kind)
            assert {"question_mark", "q"} <= _visible_keys(screen)
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            assert app.screen.markdown.startswith(f"# {kind.HELP_TITLE}")
            for keys, text in kind.HELP_EXTRA:
                assert f"| `{keys}` | {text} |" in app.screen.markdown
