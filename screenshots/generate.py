"""Regenerate the README's screenshots of the session from a real image.

    uv run python screenshots/generate.py [IMAGE] [--diff A B] [--history REPO]

IMAGE defaults to the built-in demo image (a real `uv sync` of a small
project, built if missing). `--diff` and `--history` also shoot those views
(they need the images in the Docker Engine). Writes `screenshots/<view>.svg` and, when
Debian's `rsvg-convert` is installed (apt-get install librsvg2-bin), a PNG
beside each. Look at them before committing.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

from uvscope.app.app import make_app, make_diff_app, make_history_app
from uvscope.app.demo import build_demo_image

HERE = Path(__file__).parent
SIZE = (120, 40)
VIEWS = [
    ("layers", []),
    ("packages", ["2"]),
    ("files", ["3"]),
    ("files-layer-only", ["3", "ctrl+l"]),
    ("waste", ["4"]),
    ("plots", ["5"]),
    ("grouping", ["g"]),
    ("help", ["question_mark"]),
    ("grouping-help", ["g", "question_mark"]),
]
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
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(HERE)))


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("image", nargs="?")
    parser.add_argument("--diff", nargs=2, metavar=("A", "B"))
    parser.add_argument("--history", metavar="REPO")
    args = parser.parse_args()
    ref = args.image or str(build_demo_image())
    shots = [(name, keys, None) for name, keys in VIEWS]
    shots += [(name, keys, "small") for name, keys in SMALL_VIEWS]
    if args.diff:
        shots.append(("diff", [], make_diff_app(*args.diff)))
    if args.history:
        from uvscope.analysis.engine import EngineImage, engine_client

        client = engine_client()
        tags = sorted({t for image in client.images.list(name=args.history) for t in image.tags if t.startswith(args.history + ":")})
        from uvscope.analysis.cache import LayerCache

        # Layers read before (the cache) give the exact sizes `report` shows; others are marked `~`.
        history_app = make_history_app(lambda: [EngineImage(tag, client).meta() for tag in tags], LayerCache().layer_size)
        shots.append(("history", [], history_app))
    converter = shutil.which("rsvg-convert")
    for name, keys, app in shots:
        if app == "small":
            svg = asyncio.run(shoot(ref, name, keys, None, SMALL))
        else:
            svg = asyncio.run(shoot(ref, name, keys, app))
        if converter:
            subprocess.run([converter, "-b", "#000000", str(svg), "-o", str(svg.with_suffix(".png"))], check=True)
        print(svg.with_suffix(".png" if converter else ".svg"))


if __name__ == "__main__":
    main()
