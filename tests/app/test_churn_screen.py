"""The grouping editor with a git history of uv.lock: the planner's grouping, the live
"over the last N lock changes" line, and the churn view (`c`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pilot import open_grouping
from sessionimage import LOCK
from test_grouping_screen import _columns, _project

from uvscope.analysis.output.text import size
from uvscope.analysis.plan.optimize import project_preview
from uvscope.app.app import make_app
from uvscope.app.screens.churn import ChurnScreen
from uvscope.widgets.churn_plot import ChurnPlot

# (numpy, requests, idna) per commit, the last one being the session image's own lock:
# idna (light) changes often, requests sometimes, numpy once
VERSIONS = [
    ("2.0.0", "2.31.0", "3.5"),
    ("2.0.0", "2.31.0", "3.6"),
    ("2.0.0", "2.32.0", "3.7"),
    ("2.0.0", "2.32.0", "3.8"),
    ("2.1.0", "2.32.0", "3.9"),
    ("2.1.0", "2.32.0", "3.10"),
]


def _history_project(folder: Path) -> Path:
    project = _project(folder)
    git = ["git", "-C", str(project), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    text = LOCK.decode()
    for day, (numpy, requests, idna) in enumerate(VERSIONS, start=1):
        # fixed dates: the same commits (and hashes) every run, for the snapshot
        env = {**os.environ, "GIT_AUTHOR_DATE": f"2026-03-{day:02d}T12:00:00Z", "GIT_COMMITTER_DATE": f"2026-03-{day:02d}T12:00:00Z"}
        lock = text.replace('"2.1.0"', f'"{numpy}"').replace('"2.32.0"', f'"{requests}"').replace('"3.10"', f'"{idna}"')
        (project / "uv.lock").write_text(lock)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", f"numpy {numpy} requests {requests} idna {idna}"], check=True, env=env)
    assert (project / "uv.lock").read_bytes() == LOCK
    return project


def _history_line(screen) -> str:
    preview = str(screen.query_one("#grouping-preview").render())
    return next(line for line in preview.splitlines() if line.startswith("over the last"))


async def test_history_line_follows_the_cards_and_the_churn_view(session_tar, tmp_path):
    project = _history_project(Path(tmp_path) / "project")
    app = make_app(session_tar, project=str(project))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        steps = len(VERSIONS) - 1
        assert len(screen.steps) == steps
        # the planner's grouping: numpy (changed once) in its own layer; requests (idna changes every time) in the rest
        assert _columns(screen) == {"heavy": ["numpy"], "rest": ["requests"]}
        today, planned = screen.replays()
        line = _history_line(screen)
        assert line.startswith(f"over the last {steps} lock changes: {size(today.total)} pushed today, {size(planned.total)} with")
        # worked out from the project's Dockerfile: each past lock change costs what the preview says a version bump
        # costs today; with the groups, a change that leaves numpy alone costs what the preview says a bump costs
        # with them, and the one numpy change rebuilds everything
        costs = project_preview(str(project), screen.grouping, screen.match.lock, screen.sizes, "svc").costs[0]
        assert [step.bytes for step in today.steps] == [costs.today] * steps
        assert [step.bytes for step in planned.steps] == [
            costs.today if "numpy" in step.step.touched else costs.proposed for step in planned.steps
        ]
        assert planned.total < today.total
        # moving numpy back to the rest changes the line at once: the groups now save nothing
        await pilot.press("x")
        await pilot.pause()
        assert f"{size(today.total)} pushed today, {size(today.total)} with these groups" in _history_line(screen)
        await pilot.press("s")
        await pilot.pause()
        assert _history_line(screen) == line
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ChurnScreen)
        churn = app.screen
        assert churn.query_one("#churn-table").row_count == steps
        assert churn.planned.total == planned.total and churn.today.total == today.total
        series = churn.query_one(ChurnPlot).series()
        assert set(series) == {"heavy", "rest"} and sum(1 for value in series["heavy"] if value) == 1
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_churn_without_history_says_why(session_tar, tmp_path):
    app = make_app(session_tar, project=str(_project(Path(tmp_path) / "project")))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        assert not screen.steps
        assert "over the last" not in str(screen.query_one("#grouping-preview").render())
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is screen


async def test_a_card_move_rewrites_the_dockerfile_once(session_tar, tmp_path, monkeypatch):
    """The preview's numbers and the history line both come from the Dockerfile rewritten for the grouping on
    screen: a card move rewrites it once (not once per figure), and a grouping seen before is not rewritten again."""
    from uvscope.analysis.plan import project_build

    rewrites = []
    rewrite = project_build.rewrite_dockerfile

    def counted(*args, **kwargs):
        rewrites.append(args[1])
        return rewrite(*args, **kwargs)

    monkeypatch.setattr(project_build, "rewrite_dockerfile", counted)
    project = _history_project(Path(tmp_path) / "project")
    app = make_app(session_tar, project=str(project))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        assert screen.steps and _columns(screen) == {"heavy": ["numpy"], "rest": ["requests"]}
        assert "over the last" in str(screen.query_one("#grouping-preview").render())
        before = len(rewrites)
        await pilot.press("]")  # numpy to the rest: a grouping not seen yet
        await pilot.pause()
        assert _columns(screen) == {"heavy": [], "rest": ["numpy", "requests"]}
        assert rewrites[before:] == [screen.grouping]
        await pilot.press("[")  # back to the planner's grouping, rewritten when the editor opened
        await pilot.pause()
        assert _columns(screen) == {"heavy": ["numpy"], "rest": ["requests"]}
        assert rewrites[before + 1 :] == []
