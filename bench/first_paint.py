"""Time from starting `uvscope IMAGE` in tmux (120x40) to its layer list on screen, as a user launches it.

    uv run python bench/first_paint.py IMAGE [--marker TEXT] [--runs N] [--warm] [-- extra uvscope options]

Each run types the installed `uvscope` command (the console script next to
this Python) into a fresh shell in tmux, and the clock starts before tmux
does: process start, interpreter start-up and every import are inside the
figure. The analysis cache is cold: each run gets an empty XDG_CACHE_HOME of
its own, so the session reads the image while it paints (`--warm` keeps one
cache for all runs, filled by an untimed first run). Nothing is compiled
first: the environment is timed as `uv sync` installed it (pyproject's
`compile-bytecode` has it compile the dependencies, as pip does).

The layer list counts as painted when TEXT (default: `uv sync`, a command of
the torch image's history; `generate.py` for bench/build-synthetic-image.sh's
images) shows in the pane: commands and sizes come from the image's metadata,
before any layer is read. Bytecode is compiled first, untimed, as bench.py does. The pane is polled every
10 ms; each run starts a tmux server of its own and ends it afterwards.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

UVSCOPE = Path(sys.executable).parent / "uvscope"
"""The console script pip or uv installed beside this interpreter: what a user types."""


def first_paint(image: str, marker: str, extra: list[str], cache: Path, timeout: float = 30.0) -> float:
    """Seconds from the start of the command until `marker` is on the screen."""
    session = f"uvscope-first-paint-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", session]  # a server of its own: no other tmux user is touched
    command = f"XDG_CACHE_HOME={shlex.quote(str(cache))} " + " ".join(shlex.quote(part) for part in [str(UVSCOPE), image, *extra])
    start = time.perf_counter()
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], check=True)
    pane = ""
    try:
        while time.perf_counter() - start < timeout:
            pane = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if marker in pane:
                return time.perf_counter() - start
            time.sleep(0.01)
        raise SystemExit(f"{marker!r} did not show within {timeout} s; the pane:\n{pane}")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image")
    parser.add_argument("--marker", default="uv sync")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", action="store_true", help="one analysis cache for every run, filled first (default: cold)")
    parser.add_argument("extra", nargs="*", help="options for uvscope (after --)")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.extra = extra  # after `--`, wherever the options before it stand (argparse alone refuses `IMAGE --runs 5 -- ...`)
    if not UVSCOPE.exists():
        raise SystemExit(f"no uvscope command beside {sys.executable}: install the project first (uv sync)")
    scratch = Path(tempfile.mkdtemp(prefix="uvscope-first-paint-"))
    try:
        if args.warm:
            first_paint(args.image, args.marker, args.extra, scratch / "warm")
        caches = [scratch / ("warm" if args.warm else f"cold-{run}") for run in range(args.runs)]
        times = sorted(first_paint(args.image, args.marker, args.extra, cache) for cache in caches)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    state = "warm" if args.warm else "cold"
    print(
        f"first paint of {args.image} ({state} analysis cache): best {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s over {len(times)} runs"
    )


if __name__ == "__main__":
    main()
