"""Pictures of the session at fixed terminal sizes (pytest-textual-snapshot).

Each test says what its picture must show. Regenerate after a deliberate UI
change with `uv run pytest tests/app/test_snapshots.py --snapshot-update`, and
look at the new pictures before committing them.
"""

from __future__ import annotations

from uvscope.app.app import make_app


async def _wait(pilot) -> None:
    await pilot.pause()
    await pilot.app.screen.workers.wait_for_complete()
    await pilot.pause()


def _run_before(*keys: str):
    async def run_before(pilot) -> None:
        pilot.app.animation_level = "none"  # no fades: the same picture on a busy machine
        await _wait(pilot)
        for key in keys:
            await pilot.press(key)
            await _wait(pilot)  # what the key started (the grouping editor reads uv.lock's history)

    return run_before


def test_layers_view(snap_compare, session_tar):
    """Four layers with size bars, commands and top packages; the last layer highlighted; status line totals."""
    assert snap_compare(make_app(session_tar), terminal_size=(120, 40), run_before=_run_before())


def test_packages_view(snap_compare, session_tar):
    """Five packages largest first (numpy on top), lock status `match`, closures, filters row above."""
    assert snap_compare(make_app(session_tar), terminal_size=(120, 40), run_before=_run_before("2"))


def test_files_view_layer_only(snap_compare, session_tar):
    """Layer 3 only: etc/os-release marked modified (~), app/big-log.txt marked removed (-)."""
    assert snap_compare(make_app(session_tar), terminal_size=(120, 40), run_before=_run_before("3", "ctrl+l"))


def test_waste_view(snap_compare, session_tar):
    """Efficiency and reclaimable bytes, caused by layer 3, by path, the uv cache folder, pytest as a dev package."""
    assert snap_compare(make_app(session_tar), terminal_size=(120, 40), run_before=_run_before("4"))


def test_plots_view_small_terminal(snap_compare, session_tar):
    """Both charts readable at 80x24: layer sizes stacked by package, largest packages."""
    assert snap_compare(make_app(session_tar), terminal_size=(80, 24), run_before=_run_before("5"))


def test_help_dialog(snap_compare, session_tar):
    """The help dialog over the layers view, listing keys and what each view shows."""
    assert snap_compare(make_app(session_tar), terminal_size=(100, 36), run_before=_run_before("question_mark"))


def test_grouping_editor(snap_compare, session_tar):
    """The grouping editor: numpy suggested into `heavy` (34.0 MB), requests in the rest, and the live cost preview."""
    assert snap_compare(make_app(session_tar), terminal_size=(120, 40), run_before=_run_before("g"))


def test_grouping_editor_with_lock_history(snap_compare, session_tar, tmp_path):
    """The grouping editor on a project whose uv.lock has a git history (idna bumped every time, requests twice,
    numpy once): the planner puts numpy in `heavy`, and the preview's last line says what the last 5 lock changes
    pushed today and with these groups."""
    from test_churn_screen import _history_project

    app = make_app(session_tar, project=str(_history_project(tmp_path / "project")))
    assert snap_compare(app, terminal_size=(120, 40), run_before=_run_before("g"))


def test_churn_view(snap_compare, session_tar, tmp_path):
    """The churn view (`c` in the grouping editor) on the same history: the totals, the legend, MB pushed per lock
    change stacked by layer against today's single layer (dotted line), and one table row per change."""
    from test_churn_screen import _history_project

    app = make_app(session_tar, project=str(_history_project(tmp_path / "project")))
    assert snap_compare(app, terminal_size=(120, 40), run_before=_run_before("g", "c"))
