"""The built-in demo image: a real uv project synced with real wheels, packed as an OCI layout tar.

No Docker Engine is needed: the layers are made the way a builder makes them
(each step's changes to `/app` become one layer tar), from the project in
`demo_project/` and `uv sync`, then cached under the user's cache folder.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.files import write_file
from uvscope.analysis.read.cache import default_cache_dir
from uvscope.analysis.read.layout import REF_NAME
from uvscope.analysis.read.oci_writer import image_config, layout_tar, oci_layout

PROJECT = Path(__file__).parent / "demo_project"
IMAGE_NAME = "uvscope-demo.oci.tar"
TAG = "uvscope-demo:latest"
"""The demo image's name (its index's `org.opencontainers.image.ref.name`): what the header calls it."""


def cache_folder() -> Path:
    """`$XDG_CACHE_HOME/uvscope` (or `~/.cache/uvscope`), where the layer cache lives too."""
    return Path(default_cache_dir())


def _snapshot(root: Path) -> dict[str, tuple]:
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            stat = path.lstat()
            state[str(path.relative_to(root))] = (
                stat.st_mode,
                stat.st_size,
                stat.st_mtime_ns,
                os.readlink(path) if path.is_symlink() else "",
            )
    return state


def _layer(root: Path, before: dict, after: dict) -> bytes:
    """A layer tar of what changed under `root` between two snapshots (whiteouts for removals)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(after):
            if before.get(name) != after[name]:
                info = archive.gettarinfo(str(root / name), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                if info.isreg():
                    with open(root / name, "rb") as handle:
                        archive.addfile(info, handle)
                else:
                    archive.addfile(info)
        for name in sorted(set(before) - set(after)):
            head, _, leaf = name.rpartition("/")
            info = tarfile.TarInfo(f"{head}/.wh.{leaf}" if head else f".wh.{leaf}")
            archive.addfile(info, io.BytesIO())
    return buffer.getvalue()


def _uv(*args: str, cwd: Path, env: dict) -> None:
    uv = shutil.which("uv")
    if uv is None:
        raise UvscopeError("building the demo image needs uv on PATH (pip install uv)")
    result = subprocess.run([uv, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise UvscopeError(f"uv {' '.join(args)} failed while building the demo image: {last}")


def _oci_tar(layers: list[tuple[bytes, str]]) -> bytes:
    blobs = [layer for layer, _ in layers]
    config = image_config(
        blobs,
        [{"created_by": command} for _, command in layers],
        runtime={"WorkingDir": "/app", "Cmd": ["/app/.venv/bin/demo-service"]},
    )
    return layout_tar(oci_layout(config, blobs, annotations={REF_NAME: TAG}))


def build_demo_image(target: Path | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """Build the demo image archive if it is missing; return its path.

    `progress(text)` hears each step as it starts (the first build takes seconds: the user is told why).
    """
    target = target or cache_folder() / IMAGE_NAME
    if target.exists():
        return target
    say = progress or (lambda text: None)
    say(f"building the demo image (first use; kept in {target.parent})")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="uvscope-demo-") as scratch:
        root = Path(scratch) / "rootfs"
        app = root / "app"
        app.mkdir(parents=True)
        env = {
            **os.environ,
            "UV_PROJECT_ENVIRONMENT": str(app / ".venv"),
            "UV_COMPILE_BYTECODE": "1",
            "UV_LINK_MODE": "copy",
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_PROGRESS": "1",
        }
        env.pop("VIRTUAL_ENV", None)
        steps: list[tuple[bytes, str]] = []
        state = _snapshot(root)

        def commit(command: str) -> None:
            nonlocal state
            after = _snapshot(root)
            steps.append((_layer(root, state, after), command))
            state = after

        say("  COPY pyproject.toml uv.lock /app/")
        for name in ("pyproject.toml", "uv.lock"):
            shutil.copy(PROJECT / name, app / name)
        commit("COPY pyproject.toml uv.lock /app/")
        say("  RUN uv sync --frozen --no-dev --no-install-project (real wheels: numpy, requests, ...)")
        _uv("sync", "--frozen", "--no-dev", "--no-install-project", cwd=app, env=env)
        commit("RUN uv sync --frozen --no-dev --no-install-project")
        say("  COPY src /app/src")
        shutil.copytree(PROJECT / "src", app / "src")
        commit("COPY src /app/src")
        say("  RUN uv sync --frozen --no-dev")
        _uv("sync", "--frozen", "--no-dev", cwd=app, env=env)
        commit("RUN uv sync --frozen --no-dev")
        say("  packing the layers as an OCI image")
        write_file(str(target), _oci_tar(steps))
    return target
