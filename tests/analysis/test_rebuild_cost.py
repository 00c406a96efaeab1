"""`recreated_in_final_image`: the one walk entry point, for the named changes and for past lock changes alike."""

from __future__ import annotations

from pathlib import Path

from uvscope.analysis.packages.uvlock import parse_lock
from uvscope.analysis.plan.dockerfile import parse_dockerfile
from uvscope.analysis.plan.rebuild_cost import CHANGES, recreated_in_final_image

LOCK_PATH = Path(__file__).parent.parent / "shapes" / "project" / "uv.lock"
LOCK = parse_lock(LOCK_PATH.read_text(), str(LOCK_PATH))
SIZES = {"numpy": 30_000, "pandas": 50_000, "python-dateutil": 700, "tzdata": 2_000, "attrs": 200, "shapes-app": 10}
ONE_LAYER_TEXT = """\
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-install-project --no-dev
COPY . .
RUN uv sync --frozen --no-dev --no-editable
"""
ONE_LAYER = parse_dockerfile(ONE_LAYER_TEXT)


def test_named_changes_and_lock_changes_in_one_call():
    lock_changes = [frozenset(), frozenset({"attrs"}), frozenset({"numpy", "attrs"})]
    figures = recreated_in_final_image(ONE_LAYER, [*CHANGES, *lock_changes], LOCK, "shapes-app", SIZES, 1_000)
    everything = sum(SIZES[name] for name in SIZES if name != "shapes-app") * 2  # uv's cache stays in the layer
    project = 2 * 1_000  # the sources' COPY and the non-editable install of the project
    # a bump or a new dependency re-runs both syncs; a source change only the project's steps
    assert figures[:3] == [everything + project, everything + project, project]
    # no touched package: nothing re-created; any lock change rewrites uv.lock, which the first COPY copies
    assert figures[3:] == [0, everything + project, everything + project]
    one_by_one = [recreated_in_final_image(ONE_LAYER, [change], LOCK, "shapes-app", SIZES, 1_000)[0] for change in CHANGES]
    assert figures[:3] == one_by_one
