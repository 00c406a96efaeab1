"""Regenerate the README's screenshots of the session from a real image.

    uv run python screenshots/generate.py [IMAGE] [--diff A B] [--history REPO] [--only VIEW...]

IMAGE defaults to the built-in demo image (a real `uv sync` of a small
project, built if missing). `--diff` and `--history` also shoot those views
(they need the images in the Docker Engine). Writes `screenshots/<view>.svg` and, when
Debian's `rsvg-convert` is installed (apt-get install librsvg2-bin), a PNG
beside each. Look at them before committing.

The grouping editor and the churn view are shot with the demo project in a
scratch git repository whose uv.lock history this script makes up (click
bumped often, requests twice, numpy once, ending at the demo's real lock), so
they show the history planner at work.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from uvscope.app.app import make_app, make_diff_app, make_history_app
from uvscope.app.demo import PROJECT, build_demo_image

HERE = Path(__file__).parent
SIZE = (120, 40)
VIEWS = [
    ("layers", []),
    ("packages", ["2"]),
    ("files", ["3"]),
    ("files-layer-only", ["3", "ctrl+l"]),
    ("waste", ["4"]),
    ("plots", ["5"]),
    ("help", ["question_mark"]),
    ("grouping-help", ["g", "question_mark"]),
]
HISTORY_VIEWS = [("grouping", ["g"]), ("churn", ["g", "c"])]
# (click, requests, numpy) per made-up lock commit, oldest first; the last is the demo's own lock
DEMO_HISTORY = [
    ("8.4.0", "2.33.0", "2.4.5"), ("8.4.1", "2.33.0", "2.4.5"), ("8.4.2", "2.33.0", "2.4.5"), ("8.4.2", "2.34.0", "2.4.5"),
    ("8.5.0", "2.34.0", "2.4.5"), ("8.5.0", "2.34.0", "2.4.6"), ("8.5.0", "2.34.2", "2.4.6"), ("8.5.1", "2.34.2", "2.4.6"),
]


def demo_history_project(folder: Path) -> Path:
    """The demo project in a git repository whose uv.lock history is made up, ending at the real lock."""
    shutil.copytree(PROJECT, folder)
    real = (folder / "uv.lock").read_text()
    git = ["git", "-C", str(folder), "-c", "user.email=demo@example.invalid", "-c", "user.name=demo"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    previous = DEMO_HISTORY[0]
    for week, (click, requests, numpy) in enumerate(DEMO_HISTORY):
        when = f"2026-{1 + week // 4:02d}-{1 + 7 * (week % 4):02d}T12:00:00Z"
        env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        changed = [f"{name} {new}" for name, old, new in zip(("click", "requests", "numpy"), previous, (click, requests, numpy)) if old != new]
        previous = (click, requests, numpy)
        text = real.replace('version = "8.5.1"', f'version = "{click}"').replace('version = "2.34.2"', f'version = "{requests}"')
        (folder / "uv.lock").write_text(text.replace('version = "2.4.6"', f'version = "{numpy}"'))
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "bump " + ", ".join(changed) if changed else "lock"], check=True, env=env)
    assert (folder / "uv.lock").read_text() == real
    return folder

SMALL = (80, 24)
SMALL_VIEWS = [
    ("packages-80x24", ["2"]),
    ("grouping-80x24", ["g"]),
]
"""The same session at 80x24: the footer keeps ? and q, the search box has room."""


async def shoot(ref: str, name: str, keys: list[str], app=None, size: tuple[int, int] = SIZE) -> Path:
    app = app or make_app(ref)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
            await app.workers.wait_for_complete()  # what the key started (the grouping editor reads uv.lock's history)
            await pilot.pause()
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(HERE)))


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("image", nargs="?")
    parser.add_argument("--diff", nargs=2, metavar=("A", "B"))
    parser.add_argument("--history", metavar="REPO")
    parser.add_argument("--only", nargs="+", metavar="VIEW", help="shoot only these views (names as in screenshots/)")
    args = parser.parse_args()
    ref = args.image or str(build_demo_image())
    shots = [(name, keys, None) for name, keys in VIEWS]
    scratch = tempfile.TemporaryDirectory()
    project = demo_history_project(Path(scratch.name) / "demo")
    shots += [(name, keys, make_app(ref, project=str(project))) for name, keys in HISTORY_VIEWS]
    shots += [(name, keys, "small") for name, keys in SMALL_VIEWS]
    if args.diff:
        shots.append(("diff", [], make_diff_app(*args.diff)))
    if args.history:
        from uvscope.analysis.read.engine import EngineImage, engine_client

        client = engine_client()
        tags = sorted({t for image in client.images.list(name=args.history) for t in image.tags if t.startswith(args.history + ":")})
        from uvscope.analysis.read.cache import LayerCache

        # Layers read before (the cache) give the exact sizes `report` shows; others are marked `~`.
        history_app = make_history_app(lambda: [EngineImage(tag, client).meta() for tag in tags], LayerCache().layer_size)
        shots.append(("history", [], history_app))
    converter = shutil.which("rsvg-convert")
    for name, keys, app in shots:
        if args.only and name not in args.only:
            continue
        if app == "small":
            svg = asyncio.run(shoot(ref, name, keys, None, SMALL))
        else:
            svg = asyncio.run(shoot(ref, name, keys, app))
        if converter:
            subprocess.run([converter, "-b", "#000000", str(svg), "-o", str(svg.with_suffix(".png"))], check=True)
        print(svg.with_suffix(".png" if converter else ".svg"))


if __name__ == "__main__":
    main()
