"""The interactive session on docker 26 with the containerd image store (tests/setup-engine.sh starts it)."""

from __future__ import annotations

import pytest
from pilot import loaded

from uvscope.analysis.read.sources import open_source
from uvscope.app.app import make_app
from uvscope.widgets.layer_table import LayerTable
from uvscope.widgets.package_table import PackageView

pytestmark = pytest.mark.engine


async def test_the_session_on_a_docker26_image(docker26, layers_image26, monkeypatch, tmp_path):
    """The interactive session on docker 26: the layer list and the packages fill in from the fast path."""
    monkeypatch.setenv("DOCKER_HOST", docker26.host)
    monkeypatch.chdir(tmp_path)
    app = make_app(layers_image26)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(app, pilot)
        assert screen.complete and screen.error is None
        assert screen.query_one(LayerTable).row_count == len(open_source(layers_image26).meta().diff_ids)
        names = [row.name for row in screen.query_one(PackageView).shown_rows]
        assert "demo-app" in names or "demo_app" in names, names
