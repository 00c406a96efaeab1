"""Time from typing `uvscope IMAGE` to its layer list on screen, as a user launches it.

    uv run python bench/first_paint.py IMAGE [--marker TEXT] [--runs N] [--warm] [-- extra uvscope options]

Each run starts the installed `uvscope` command (the console script next to
this Python) as a fresh process on a pseudo-terminal of 120x40, and the clock
starts just before the process is spawned: interpreter start-up, every import,
the engine's metadata and Textual's first frames are inside the figure. The run
ends when TEXT (default: `uv sync`, a command of the torch image's history;
`generate.py` for bench/build-synthetic-image.sh's images) has been written to
the terminal: commands and sizes come from the image's metadata, before any
layer is read. Then `q` is typed and the session must end.

The analysis cache is cold: each run gets an empty XDG_CACHE_HOME of its own,
so the session reads the image while it paints (`--warm` keeps one cache for
all runs, filled by an untimed first run). Bytecode is compiled first,
untimed, as `bench.py` does and as an installed package has it (pip and
`uv tool install` compile a wheel's modules; an editable `uv sync` leaves
uvscope's own uncompiled, and where PYTHONDONTWRITEBYTECODE is set each launch
would compile them again); `--no-compile` times the environment as it is.

In the same run, and in the same way (a fresh process, best of the runs), the
script times `python -c "import textual.app"`: the floor of any Textual app on
this machine at this moment. The ratio to it is what to compare between
machines and loads; the seconds swing with the machine's load.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

UVSCOPE = Path(sys.executable).parent / "uvscope"
"""The console script pip or uv installed beside this interpreter: what a user types."""
SIZE = (120, 40)
ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78cDEHMNOPZ\\])")
"""Terminal control sequences (CSI, OSC, charset and single-character escapes): stripped before looking for the marker."""


def _spawn(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """`argv` on a new pseudo-terminal of `SIZE`; returns the process and the terminal's master end."""
    master, slave = os.openpty()
    columns, rows = SIZE
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    return process, master


def first_paint(image: str, marker: str, extra: list[str], cache: Path, timeout: float = 60.0) -> float:
    """Seconds from spawning `uvscope IMAGE` until `marker` was written to its terminal; the session is then quit."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "TERM": "xterm-256color", "COLUMNS": str(SIZE[0]), "LINES": str(SIZE[1])}
    wanted = marker.encode()
    start = time.perf_counter()
    process, master = _spawn([str(UVSCOPE), image, *extra], env)
    written = b""
    try:
        while True:
            left = timeout - (time.perf_counter() - start)
            if left <= 0:
                raise SystemExit(f"{marker!r} did not show within {timeout} s; the terminal got:\n{ESCAPES.sub(b'', written)[-2000:]!r}")
            ready, _, _ = select.select([master], [], [], min(left, 0.5))
            if not ready:
                if process.poll() is not None:
                    raise SystemExit(
                        f"uvscope ended ({process.returncode}) before {marker!r} showed:\n{ESCAPES.sub(b'', written)[-2000:]!r}"
                    )
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the terminal closed: the process ended
                chunk = b""
            if not chunk:
                raise SystemExit(f"uvscope closed its terminal before {marker!r} showed")
            written += chunk
            if wanted in ESCAPES.sub(b"", written[-(1 << 18) :]):
                painted = time.perf_counter() - start
                break
        os.write(master, b"q")
        _drain(master, process, 15.0)
        if process.returncode is None:
            raise SystemExit("uvscope did not end within 15 s of q")
        return painted
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def _drain(master: int, process: subprocess.Popen, timeout: float) -> None:
    """Read the terminal (so the session is never blocked writing) until the process ends or `timeout` passes."""
    end = time.perf_counter() + timeout
    while process.poll() is None and time.perf_counter() < end:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 1 << 16)
            except OSError:
                break
    try:
        process.wait(max(0.0, end - time.perf_counter()))
    except subprocess.TimeoutExpired:
        pass


def import_textual() -> float:
    """Seconds a fresh interpreter takes to `import textual.app` (and exit)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import textual.app"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image")
    parser.add_argument("--marker", default="uv sync")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", action="store_true", help="one analysis cache for every run, filled first (default: cold)")
    parser.add_argument("--no-compile", action="store_true", help="time the environment as it is (default: bytecode compiled first)")
    parser.add_argument("extra", nargs="*", help="options for uvscope (after --)")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.extra = extra  # after `--`, wherever the options before it stand (argparse alone refuses `IMAGE --runs 5 -- ...`)
    if not UVSCOPE.exists():
        raise SystemExit(f"no uvscope command beside {sys.executable}: install the project first (uv sync)")
    if not args.no_compile:
        from bench import compile_bytecode  # bench.py beside this script

        compile_bytecode()
    scratch = Path(tempfile.mkdtemp(prefix="uvscope-first-paint-"))
    try:
        if args.warm:
            first_paint(args.image, args.marker, args.extra, scratch / "warm")
        times, floors = [], []
        for run in range(args.runs):  # alternated: both see the same load
            floors.append(import_textual())
            times.append(first_paint(args.image, args.marker, args.extra, scratch / ("warm" if args.warm else f"cold-{run}")))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    state = "warm" if args.warm else "cold"
    load = os.getloadavg()[0]
    compiled = "as it is" if args.no_compile else "bytecode compiled"
    print(f"first paint of {args.image} ({state} analysis cache, {compiled}, {args.runs} runs, load {load:.1f}):")
    print("  runs: " + ", ".join(f"{t:.2f} s" for t in times) + "; `import textual.app`: " + ", ".join(f"{t:.2f} s" for t in floors))
    best, floor = min(times), min(floors)
    print(
        f"  best {best:.2f} s, median {sorted(times)[len(times) // 2]:.2f} s; {best / floor:.2f}x a fresh `import textual.app` ({floor:.2f} s)"
    )


if __name__ == "__main__":
    main()
