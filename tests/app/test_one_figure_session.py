"""One figure per fact in the session (issue 14): what the screens show is what the report says.

The session is driven with Pilot on real engine images; the figures it shows
are compared with the JSON report of `uvscope report` for the same image and
with the layer tars of `docker save` (read with tarfile).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

import pytest
from harness import save_image
from pilot import loaded
from textual.widgets import Static

from uvscope.analysis.output.text import count, percent, size
from uvscope.analysis.plan.grouping import plan_layers
from uvscope.app.app import make_app
from uvscope.app.screens.grouping import GroupingScreen
from uvscope.app.screens.main import MainScreen
from uvscope.widgets.file_browser import FileBrowser
from uvscope.widgets.layer_table import LayerTable

pytestmark = pytest.mark.engine


def _report(ref: str, cwd: Path, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "uvscope.app.cli", "report", ref, *args], capture_output=True, text=True, cwd=cwd, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _files_per_layer(ref: str, folder: Path) -> list[int]:
    """Entries that are neither folders nor whiteouts, per layer, from `docker save`."""
    counts = []
    with tarfile.open(save_image(ref, folder / "image.tar")) as outer:
        for name in json.load(outer.extractfile("manifest.json"))[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(name)) as layer:
                counts.append(sum(1 for m in layer.getmembers() if not m.isdir() and not PurePosixPath(m.name).name.startswith(".wh.")))
    return counts


async def _loaded(app, pilot) -> MainScreen:
    screen = await loaded(app, pilot)
    assert screen.complete and screen.error is None, screen.error
    return screen


async def test_session_header_layers_and_files_show_the_reports_figures(layers_image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = _report(layers_image, tmp_path)
    files = _files_per_layer(layers_image, tmp_path)
    app = make_app(layers_image)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await _loaded(app, pilot)
        status = str(screen.query_one("#status", Static).render())
        image = report["image"]
        assert status.startswith(f"{size(image['size_bytes'])} in {count(len(report['layers']), 'layer')}, {count(len(report['packages']), 'package')}")
        assert f"efficiency {percent(image['efficiency'])}," in status and f"reclaimable {size(image['reclaimable_bytes'])}" in status
        table = screen.query_one(LayerTable)
        shown = [int(str(table.get_row_at(row)[3])) for row in range(table.row_count)]
        assert shown == [layer["file_count"] for layer in report["layers"]] == files
        await pilot.press("3", "ctrl+l")
        await pilot.pause()
        for index in (len(files) - 1, 0):
            screen.selected_layer = index
            await pilot.pause()
            title = str(screen.query_one(FileBrowser).query_one("#file-title", Static).render())
            layer = report["layers"][index]
            files = f"{layer['file_count']:,} file" + ("" if layer["file_count"] == 1 else "s")
            assert title == f"layer {index} only: {size(layer['size_bytes'])} in {files}"


async def test_grouping_editor_opens_on_the_reports_member_with_its_figures(workspace_image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = _report(workspace_image, tmp_path)
    app = make_app(workspace_image)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await _loaded(app, pilot)
        await pilot.press("g")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, GroupingScreen)
        assert editor.member == report["lock"]["project"] == screen.python.lock.member
        closures = {c["name"]: c for c in report["lock"]["closures"]}
        cards = {item.name: item.closure_bytes for item in editor.items}
        members = set(editor.match.lock.members)
        # a card is what a group can hold: the report's direct dependencies, a workspace member among them
        # (installed from its source) standing for its own dependencies, each with the report's figure
        assert {name: c["bytes"] for name, c in closures.items() if name not in members} == {
            name: cards[name] for name in closures if name not in members
        }
        for name in cards.keys() - closures.keys():
            holder = next(c for c in closures.values() if c["name"] in members and name in c["packages"])
            assert cards[name] < holder["bytes"]  # part of the member's closure, without the member's own files
        assert any(name in members for name in closures)  # the case this is for is in the image
        plans = plan_layers(editor.grouping, editor.match.lock, editor.sizes, editor.member)
        text = str(editor.query_one("#grouping-preview", Static).render())
        for plan in plans:
            assert f"{plan.name}: {size(plan.bytes)}" in text


async def test_session_without_a_project_lock_reads_the_image_and_warns(numpy_image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "no-lock"
    empty.mkdir()
    report = _report(numpy_image, tmp_path, "--project", str(empty))
    notes = []
    app = make_app(numpy_image, project=str(empty))
    hook = lambda message: notes.append(message.notification.message) if type(message).__name__ == "Notify" else None  # noqa: E731
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        screen = await _loaded(app, pilot)
        assert screen.python.lock is not None and screen.python.lock.lock.source == report["lock"]["source"]
        assert len(screen.python.attribution.distributions) == len(report["packages"]) > 0
        assert str(screen.query_one("#status", Static).render()).startswith(size(report["image"]["size_bytes"]))
        assert any(note.startswith(f"no uv.lock in {empty}") for note in notes), notes  # the user is told, once
        assert report["warnings"] and all(w in screen.python.warnings for w in report["warnings"])
