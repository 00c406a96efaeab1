"""Regenerate the README's screenshots of the session from a real image.

    uv run python screenshots/generate.py [IMAGE]

IMAGE defaults to the built-in demo image (a real `uv sync` of a small
project, built if missing). Writes `screenshots/<view>.svg` and, when
Debian's `rsvg-convert` is installed (apt-get install librsvg2-bin), a PNG
beside each. Look at them before committing.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from uvscope.app.app import make_app
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
]


async def shoot(ref: str, name: str, keys: list[str]) -> Path:
    app = make_app(ref)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(HERE)))


def main() -> None:
    ref = sys.argv[1] if len(sys.argv) > 1 else str(build_demo_image())
    converter = shutil.which("rsvg-convert")
    for name, keys in VIEWS:
        svg = asyncio.run(shoot(ref, name, keys))
        if converter:
            subprocess.run([converter, "-b", "#000000", str(svg), "-o", str(svg.with_suffix(".png"))], check=True)
        print(svg.with_suffix(".png" if converter else ".svg"))


if __name__ == "__main__":
    main()
