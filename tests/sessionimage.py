"""A small synthetic uv image for session tests and snapshots: a venv with three
distributions (RECORDs, bytecode), a uv.lock, a later layer that overwrites and deletes."""

from __future__ import annotations

from tarbuilder import docker_save_legacy, layer_tar

SITE = "app/.venv/lib/python3.11/site-packages"

LOCK = b"""version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "svc"
version = "1.0.0"
source = { editable = "." }
dependencies = [{ name = "numpy" }, { name = "requests" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "numpy"
version = "2.1.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "requests"
version = "2.32.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna" }]

[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.3.0"
source = { registry = "https://pypi.org/simple" }
"""


def _dist(name: str, version: str, files: dict[str, int]) -> list[tuple]:
    info = f"{name}-{version}.dist-info"
    rows = "".join(f"{path},sha256=x,{size}\n" for path, size in files.items()) + f"{info}/METADATA,,\n{info}/RECORD,,\n"
    items = [("file", f"{SITE}/{path}", b"\0" * size) for path, size in files.items()]
    items += [
        ("file", f"{SITE}/{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()),
        ("file", f"{SITE}/{info}/INSTALLER", b"uv\n"),
        ("file", f"{SITE}/{info}/RECORD", rows.encode()),
    ]
    for path in files:
        if path.endswith(".py"):
            folder, _, stem = path.rpartition("/")
            items.append(("file", f"{SITE}/{folder}/__pycache__/{stem[:-3]}.cpython-311.pyc", b"\0" * 100))
    return items


def session_archive() -> bytes:
    """The archive bytes (deterministic: the same bytes on every run)."""
    base = layer_tar(("dir", "usr"), ("file", "usr/bin/python3", b"\0" * 4_000_000), ("file", "etc/os-release", b"debian\n"))
    deps = layer_tar(
        ("file", "app/uv.lock", LOCK),
        ("file", "app/.venv/pyvenv.cfg", b"home = /usr/bin\n"),
        *_dist("numpy", "2.1.0", {"numpy/__init__.py": 20_000, "numpy/core/_multiarray.so": 9_000_000, "numpy.libs/libopenblas.so": 25_000_000}),
        *_dist("requests", "2.32.0", {"requests/__init__.py": 5_000, "requests/api.py": 7_000}),
        *_dist("idna", "3.10", {"idna/__init__.py": 1_000, "idna/uts46data.py": 200_000}),
        *_dist("pytest", "8.3.0", {"pytest/__init__.py": 3_000}),
        ("file", "root/.cache/uv/wheels/junk.whl", b"\0" * 700_000),
    )
    app = layer_tar(
        *_dist("svc", "1.0.0", {"svc/__init__.py": 900}),
        ("file", "app/big-log.txt", b"\0" * 300_000),
    )
    cleanup = layer_tar(("whiteout", "app/big-log.txt"), ("file", "etc/os-release", b"debian 12\n"))
    return docker_save_legacy([base, deps, app, cleanup], tag="svc:1.0")
