"""The grouping editor: drag with the mouse, keyboard moves, groups, live preview, write with a diff first."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pilot import clear_then_suggest, open_grouping, wait_for_plan
from sessionimage import LOCK

from uvscope.app.app import make_app
from uvscope.app.screens.dialogs import ConfirmDiff, NamePrompt
from uvscope.app.screens.grouping import GroupingScreen
from uvscope.widgets.group_board import GroupBoard, GroupColumn, PackageCard

PYPROJECT = """[project]
name = "svc"
version = "1.0.0"
dependencies = ["numpy>=2.1", "requests>=2.32"]  # runtime

[dependency-groups]
dev = ["pytest"]
"""
DOCKERFILE = """FROM python:3.12-slim
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /bin/
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev
"""


def _project(folder: Path) -> Path:
    folder.mkdir()
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "uv.lock").write_bytes(LOCK)
    (folder / "Dockerfile").write_text(DOCKERFILE)
    return folder


async def _press_write(app, pilot) -> None:
    """Press w and wait for the files to be planned (a thread worker): the diff is then on screen."""
    await pilot.press("w")
    await pilot.pause()
    await wait_for_plan(app)
    await pilot.pause()


def _board(screen: GroupingScreen) -> GroupBoard:
    return screen.query_one(GroupBoard)


def _columns(screen: GroupingScreen) -> dict[str, list[str]]:
    return {column.group_name: [card.item.name for card in column.query(PackageCard)] for column in screen.query(GroupColumn)}


async def test_starts_from_the_suggestion_and_drags_with_the_mouse(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        assert _columns(screen) == {"heavy": ["numpy"], "rest": ["requests"]}
        preview = str(screen.query_one("#grouping-preview").render())
        assert "heavy: 34.0 MB" in preview and "rest: 213.8 kB" in preview
        await pilot.mouse_down(_board(screen).card("requests"))
        await pilot.hover(_board(screen).column("heavy"), offset=(4, 6))
        assert _board(screen).column("heavy").has_class("-drop-target")
        await pilot.mouse_up(_board(screen).column("heavy"), offset=(4, 6))
        await pilot.pause()
        assert screen.grouping.group_of("requests") == "heavy"
        assert _columns(screen) == {"heavy": ["numpy", "requests"], "rest": []}
        assert "rest: 0 Bytes" in str(screen.query_one("#grouping-preview").render())


async def test_escape_cancels_a_drag(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        await pilot.mouse_down(_board(screen).card("numpy"))
        await pilot.hover(_board(screen).column("rest"), offset=(4, 6))
        await pilot.press("escape")
        await pilot.mouse_up(_board(screen).column("rest"), offset=(4, 6))
        await pilot.pause()
        assert screen.grouping.group_of("numpy") == "heavy"
        assert isinstance(app.screen, GroupingScreen)


async def test_keyboard_moves_new_rename_reorder_delete(session_tar):
    app = make_app(session_tar)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        _board(screen).card("requests").focus()
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert screen.grouping.group_of("requests") == "heavy"
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.grouping.group_of("requests") == "rest"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NamePrompt)
        await pilot.press(*"web", "enter")
        await pilot.pause()
        assert screen.grouping.names() == ["heavy", "web"]
        _board(screen).card("requests").focus()
        await pilot.press("left_square_bracket")  # rest -> web
        await pilot.pause()
        assert screen.grouping.group_of("requests") == "web"
        await pilot.press("less_than_sign")  # web one layer down, below heavy
        await pilot.pause()
        assert screen.grouping.names() == ["web", "heavy"]
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one("#name-input").value = ""
        await pilot.press(*"light", "enter")
        await pilot.pause()
        assert screen.grouping.names() == ["light", "heavy"]
        _board(screen).card("requests").focus()
        await pilot.press("d")
        await pilot.pause()
        assert screen.grouping.names() == ["heavy"] and screen.grouping.group_of("requests") == "rest"
        await clear_then_suggest(pilot, screen, ["heavy"])


async def test_write_shows_the_diff_first_and_writes_only_when_confirmed(session_tar, tmp_path, monkeypatch):
    project = _project(Path(tmp_path) / "project")
    fake_bin = Path(tmp_path) / "bin"
    fake_bin.mkdir()
    uv = fake_bin / "uv"
    uv.write_text("#!/bin/sh\nexit 0\n")  # `uv lock` that keeps the lock as it is
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")
    app = make_app(session_tar, project=str(project))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        await _press_write(app, pilot)
        assert isinstance(app.screen, ConfirmDiff)
        assert '+heavy = ["numpy>=2.1"]' in app.screen.diff and "uv export --frozen" in app.screen.diff
        await pilot.press("n")
        await pilot.pause()
        assert (project / "pyproject.toml").read_text() == PYPROJECT
        await _press_write(app, pilot)
        await pilot.press("y")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert screen.written, "nothing was written"
        assert 'heavy = ["numpy>=2.1"]' in (project / "pyproject.toml").read_text()
        dockerfile = (project / "Dockerfile").read_text()
        assert "COPY --from=uvscope-export" in dockerfile and "/uvscope/heavy.txt" in dockerfile


async def test_write_shows_busy_while_uv_lock_runs_and_a_second_w_does_nothing(session_tar, tmp_path, monkeypatch):
    project = _project(Path(tmp_path) / "project")
    fake_bin = Path(tmp_path) / "bin"
    fake_bin.mkdir()
    release = Path(tmp_path) / "release"
    started = Path(tmp_path) / "started"
    uv = fake_bin / "uv"
    # `uv lock` that waits until the test lets it finish (and keeps the lock as it is).
    uv.write_text(f"#!/bin/sh\ntouch {started}\nwhile [ ! -e {release} ]; do sleep 0.05; done\nexit 0\n")
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")
    app = make_app(session_tar, project=str(project))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        await _press_write(app, pilot)
        await pilot.press("y")
        for _ in range(200):
            await pilot.pause(0.05)
            if started.exists():
                break
        assert started.exists(), "uv lock never started"
        assert screen.busy and screen.has_class("-busy")
        assert screen.query_one("#grouping-busy").display
        await pilot.press("w")  # ignored while busy: no second diff, no second write
        await pilot.pause()
        assert app.screen is screen
        assert not screen.written
        release.touch()
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.busy and not screen.query_one("#grouping-busy").display
        assert screen.written and 'heavy = ["numpy>=2.1"]' in (project / "pyproject.toml").read_text()
        await _press_write(app, pilot)  # free again: the diff comes back
        assert isinstance(app.screen, ConfirmDiff)


async def test_the_preview_follows_the_projects_own_dockerfile(session_tar, tmp_path):
    """A source change re-creates only the project's files in the single-stage Dockerfile, but the whole
    environment copy where the runtime stage copies /app from a builder; the editor says which."""
    figures = {}
    for name, dockerfile in (("single", DOCKERFILE), ("multi", DOCKERFILE.replace("FROM python:3.12-slim\n", "FROM python:3.12-slim AS builder\n", 1) + "FROM python:3.12-slim\nCOPY --from=builder /app /app\n")):
        project = _project(Path(tmp_path) / name)
        (project / "Dockerfile").write_text(dockerfile)
        app = make_app(session_tar, project=str(project))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_grouping(app, pilot)
            text = str(screen.query_one("#grouping-preview").render())
            assert "in the final image, from the Dockerfile" in text
            source_line = next(line for line in text.splitlines() if "application source changed" in line)
            figures[name] = source_line.split("today")[1].split("with the groups")[0].strip()
    assert figures["single"] != figures["multi"]
    assert figures["multi"].endswith("MB")


async def test_opened_in_the_project_folder_the_editor_works_on_it(session_tar, tmp_path, monkeypatch):
    """Without --project the session compares the current folder's uv.lock; the editor then previews from
    that folder's Dockerfile and writes there, as `optimize` does (not the generic model)."""
    project = _project(tmp_path / "project")
    image = os.path.abspath(session_tar)
    monkeypatch.chdir(project)
    app = make_app(image)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grouping(app, pilot)
        assert screen.project_dir == str(project)
        assert screen.dockerfile is not None  # the folder's Dockerfile was read for the preview


async def test_a_dependency_group_the_sync_installs_has_cards_too(session_tar, tmp_path):
    """The Dockerfile's `uv sync` without `--no-dev` installs the `dev` group: its packages are in the image,
    so the editor shows them as cards a group may take (as `optimize --group` accepts them); with
    `--no-dev` they are not."""
    shown = {}
    for name, dockerfile in (("no-dev", DOCKERFILE), ("dev", DOCKERFILE.replace(" --no-dev", ""))):
        project = _project(Path(tmp_path) / name)
        (project / "Dockerfile").write_text(dockerfile)
        app = make_app(session_tar, project=str(project))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_grouping(app, pilot)
            shown[name] = {card for cards in _columns(screen).values() for card in cards}
    assert "pytest" not in shown["no-dev"] and {"numpy", "requests"} <= shown["no-dev"]
    assert shown["dev"] == shown["no-dev"] | {"pytest"}


async def test_with_a_target_the_editor_previews_and_writes_that_stage(session_tar, tmp_path):
    """`uvscope IMAGE --target runtime`: the image is the Dockerfile's `runtime` stage, not its last one (which
    ships only the source). Without the target the Dockerfile's last stage cannot be rewritten and the preview
    is the generic model; with it the preview is worked out from the file, and `w` splits the runtime's copy."""
    builder = DOCKERFILE.replace("FROM python:3.12-slim\n", "FROM python:3.12-slim AS builder\n", 1)
    dockerfile = builder + "FROM python:3.12-slim AS runtime\nCOPY --from=builder /app /app\n\nFROM python:3.12-slim AS source\nCOPY --from=builder /app/src /src\n"
    previews = {}
    for target in ("", "runtime"):
        project = _project(Path(tmp_path) / (target or "last"))
        (project / "Dockerfile").write_text(dockerfile)
        app = make_app(session_tar, project=str(project), target=target)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_grouping(app, pilot)
            assert screen.target == target
            previews[target] = str(screen.query_one("#grouping-preview").render())
            if target:
                await _press_write(app, pilot)
                assert isinstance(app.screen, ConfirmDiff)
                runtime = app.screen.diff.split("AS runtime", 1)[1].split("AS source", 1)[0]
                assert "COPY --from=uvscope-group-" in runtime
    assert "in the final image, from the Dockerfile" not in previews[""]
    assert "in the final image, from the Dockerfile" in previews["runtime"]
