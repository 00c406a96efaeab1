"""The session views of `uvscope diff` and `uvscope history` on real tags."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from uvscope.analysis.read.engine import EngineImage
from uvscope.app.app import make_diff_app, make_history_app
from uvscope.app.screens.diff import DiffScreen
from uvscope.app.screens.history import HistoryScreen

pytestmark = pytest.mark.engine


async def test_diff_view_shows_layers_side_by_side_and_package_changes(tagged_images, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_diff_app(tagged_images["v1"], tagged_images["v2"])
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert screen.error is None and screen.document is not None
        assert screen.query_one("#layers-b", DataTable).row_count == len(screen.document["layers"])
        kinds = {(kind, name) for kind, name, *_ in screen.package_rows()}
        assert ("upgraded", "tags-app") in kinds and ("re-shipped", "six") in kinds and ("re-shipped", "idna") in kinds
        assert "pulling B when you have A costs" in str(screen.query_one("#diff-summary").render())


async def test_history_view_table_and_chart(tagged_images, engine):
    refs = [tagged_images[tag] for tag in ("v3", "v1", "v2")]
    app = make_history_app(lambda: [EngineImage(ref, engine).meta() for ref in refs])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert [entry.ref for entry in screen.entries] == [tagged_images[t] for t in ("v1", "v2", "v3")]
        assert screen.query_one(DataTable).row_count == 3


async def test_diff_view_shows_errors(tmp_path):
    app = make_diff_app(str(tmp_path / "missing-a.tar"), str(tmp_path / "missing-b.tar"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        assert "no such file" in app.screen.error
