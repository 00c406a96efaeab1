"""A small synthetic uv image for session tests and snapshots: a venv with three
distributions (RECORDs, bytecode), a uv.lock, a later layer that overwrites and deletes."""

from __future__ import annotations

from dataclasses import dataclass

from tarbuilder import docker_save_legacy, layer_tar

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


@dataclass(frozen=True)
class Venv:
    """The project's venv at /app/.venv as uv leaves it, for one Python version: layer items to build an image from."""

    python: str = "3.11"
    installer_in_record: bool = False
    """Whether each RECORD lists the INSTALLER file too (uv's and pip's own do)."""

    @property
    def lock(self) -> bytes:
        """`LOCK`, requiring this venv's Python."""
        return LOCK.replace(b'requires-python = ">=3.11"', f'requires-python = ">={self.python}"'.encode())

    def dist(self, name: str, version: str, files: dict[str, int]) -> list[tuple]:
        """A distribution's files of the given sizes, its dist-info (METADATA, INSTALLER, RECORD) and bytecode for each module."""
        site = f"app/.venv/lib/python{self.python}/site-packages"
        info = f"{name}-{version}.dist-info"
        listed = ("METADATA", "INSTALLER", "RECORD") if self.installer_in_record else ("METADATA", "RECORD")
        rows = "".join(f"{path},sha256=x,{size}\n" for path, size in files.items()) + "".join(f"{info}/{part},,\n" for part in listed)
        items = [("file", f"{site}/{path}", b"\0" * size) for path, size in files.items()]
        items += [
            ("file", f"{site}/{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()),
            ("file", f"{site}/{info}/INSTALLER", b"uv\n"),
            ("file", f"{site}/{info}/RECORD", rows.encode()),
        ]
        tag = self.python.replace(".", "")
        for path in files:
            if path.endswith(".py"):
                folder, _, stem = path.rpartition("/")
                items.append(("file", f"{site}/{folder}/__pycache__/{stem[:-3]}.cpython-{tag}.pyc", b"\0" * 100))
        return items

    def synced(self, *dists: tuple[str, str, dict[str, int]]) -> list[tuple]:
        """What `uv sync` leaves in /app: uv.lock (`lock`), pyvenv.cfg and each (name, version, files) distribution."""
        items: list[tuple] = [("file", "app/uv.lock", self.lock), ("file", "app/.venv/pyvenv.cfg", b"home = /usr/bin\n")]
        for name, version, files in dists:
            items += self.dist(name, version, files)
        return items


def session_archive() -> bytes:
    """The archive bytes (deterministic: the same bytes on every run)."""
    base = layer_tar(("dir", "usr"), ("file", "usr/bin/python3", b"\0" * 4_000_000), ("file", "etc/os-release", b"debian\n"))
    venv = Venv()
    deps = layer_tar(
        *venv.synced(
            ("numpy", "2.1.0", {"numpy/__init__.py": 20_000, "numpy/core/_multiarray.so": 9_000_000, "numpy.libs/libopenblas.so": 25_000_000}),
            ("requests", "2.32.0", {"requests/__init__.py": 5_000, "requests/api.py": 7_000}),
            ("idna", "3.10", {"idna/__init__.py": 1_000, "idna/uts46data.py": 200_000}),
            ("pytest", "8.3.0", {"pytest/__init__.py": 3_000}),
        ),
        ("file", "root/.cache/uv/wheels/junk.whl", b"\0" * 700_000),
    )
    app = layer_tar(
        *venv.dist("svc", "1.0.0", {"svc/__init__.py": 900}),
        ("file", "app/big-log.txt", b"\0" * 300_000),
    )
    cleanup = layer_tar(("whiteout", "app/big-log.txt"), ("file", "etc/os-release", b"debian 12\n"))
    return docker_save_legacy([base, deps, app, cleanup], tag="svc:1.0")
