"""Local stand-ins under the base-image names the real Dockerfiles of `tests/realworld/` use
(no registry is reachable here): built from the harness's own bases, never invented."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from harness import DEFAULT, Engine, docker, python_slim_image, uv_binary, uv_binary_image

STANDINS = (
    "python:3.12-slim-bookworm",
    "python:3.12-slim-bullseye",
    "ghcr.io/astral-sh/uv:python3.12-bookworm-slim",
    "ghcr.io/astral-sh/uv:latest",
)


def ensure_standins(engine: Engine | None = None) -> None:
    """`ghcr.io/astral-sh/uv:python3.12-bookworm-slim` (the python:slim-like base + uv) and
    `python:3.12-slim-bookworm` and `python:3.12-slim-bullseye` (the python:slim-like base, bookworm;
    its CPython is this machine's 3.11), `ghcr.io/astral-sh/uv:latest` (only `/uv`),
    on the default engine and, when given, copied to `engine`."""
    slim = python_slim_image()
    docker("tag", slim, "python:3.12-slim-bookworm")
    docker("tag", slim, "python:3.12-slim-bullseye")
    docker("tag", uv_binary_image(), "ghcr.io/astral-sh/uv:latest")
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        shutil.copy(uv_binary(), Path(context) / "uv")
        (Path(context) / "Dockerfile").write_text(f"FROM {slim}\nCOPY uv /usr/local/bin/uv\n")
        docker("build", "--network", "host", "-t", "ghcr.io/astral-sh/uv:python3.12-bookworm-slim", context)
    if engine is not None and engine is not DEFAULT:
        for name in STANDINS:
            engine.copy_from_default(name)
