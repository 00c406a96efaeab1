"""Run inside the image build: write FILES files as fake installed distributions of a uv venv.

    python3 generate.py FILES [ROOT]

Each distribution has 100 files (modules of 200-6,000 bytes, deterministic)
and a dist-info folder whose RECORD lists them, so uvscope attributes every
byte as it does for real packages. Used by bench/build-synthetic-image.sh.
"""

import os
import sys

files = int(sys.argv[1])
root = sys.argv[2] if len(sys.argv) > 2 else "/app/.venv"
site = os.path.join(root, "lib", "python3.11", "site-packages")
os.makedirs(site, exist_ok=True)
if not os.path.exists(os.path.join(root, "pyvenv.cfg")):
    with open(os.path.join(root, "pyvenv.cfg"), "w") as handle:
        handle.write("home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11\n")
per_package = 100
seed = 12345
written = 0
package = 0
while written < files:
    name = f"synthetic_pkg_{package:05d}"
    dist = os.path.join(site, f"{name}-1.0.{package}.dist-info")
    os.makedirs(os.path.join(site, name), exist_ok=True)
    os.makedirs(dist, exist_ok=True)
    rows = []
    count = min(per_package - 4, files - written - 4) if files - written > 4 else 1
    for index in range(max(count, 1)):
        seed = (seed * 1103515245 + 12345) % (1 << 31)
        size = 200 + seed % 5800
        relative = f"{name}/module_{index:03d}.py"
        with open(os.path.join(site, relative), "wb") as handle:
            handle.write((b"# synthetic module\n" + b"x = 1\n" * (size // 6))[:size])
        rows.append(f"{relative},sha256=,{size}")
    with open(os.path.join(dist, "METADATA"), "w") as handle:
        handle.write(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 1.0.{package}\n")
    with open(os.path.join(dist, "INSTALLER"), "w") as handle:
        handle.write("uv\n")
    rows += [f"{os.path.basename(dist)}/{item}," + ",".join(["", ""]) for item in ("METADATA", "INSTALLER", "RECORD")]
    with open(os.path.join(dist, "RECORD"), "w") as handle:
        handle.write("\n".join(rows) + "\n")
    written += len(rows)
    package += 1
print(f"wrote {written} files in {package} distributions under {site}")
