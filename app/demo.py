"""The built-in demo image: a real uv project synced with real wheels, packed as an OCI layout tar.

No Docker Engine is needed: the layers are made the way a builder makes them
(each step's changes to `/app` become one layer tar), from the project in
`demo_project/` and `uv sync`, then cached under the user's cache folder.
"""

from __future__ import annotations

import hashlib
import io
import json
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

PROJECT = Path(__file__).parent / "demo_project"
IMAGE_NAME = "demo-image.oci.tar"


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
    def digest(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": {"WorkingDir": "/app", "Cmd": ["/app/.venv/bin/demo-service"]},
            "rootfs": {"type": "layers", "diff_ids": [digest(layer) for layer, _ in layers]},
            "history": [{"created_by": command} for _, command in layers],
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)} for layer, _ in layers
            ],
        }
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest(manifest),
                    "size": len(manifest),
                    "annotations": {"org.opencontainers.image.ref.name": "demo"},
                }
            ],
        }
    ).encode()
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    for blob in [config, manifest, *(layer for layer, _ in layers)]:
        files["blobs/sha256/" + digest(blob).split(":")[1]] = blob
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


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
