"""Local stand-ins under the base-image names the real Dockerfiles of `tests/realworld/` use
(no registry is reachable here): built from the harness's own bases, never invented."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from harness import docker, python_slim_image, uv_binary, uv_binary_image

def ensure_standins() -> None:
    """`ghcr.io/astral-sh/uv:python3.12-bookworm-slim` (the python:slim-like base + uv),
    `python:3.12-slim-bookworm` (the python:slim-like base; its CPython is this machine's 3.11),
    `python:3.12-slim-bullseye` (the same) and `ghcr.io/astral-sh/uv:latest` (only `/uv`, as the real image)."""
    slim = python_slim_image()
    docker("tag", slim, "python:3.12-slim-bookworm")
    docker("tag", slim, "python:3.12-slim-bullseye")
    docker("tag", uv_binary_image(), "ghcr.io/astral-sh/uv:latest")
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        shutil.copy(uv_binary(), Path(context) / "uv")
        (Path(context) / "Dockerfile").write_text(f"FROM {slim}\nCOPY uv /usr/local/bin/uv\n")
        docker("build", "--network", "host", "-t", "ghcr.io/astral-sh/uv:python3.12-bookworm-slim", context)
