"""Local stand-ins under the base-image names the real Dockerfiles of `tests/realworld/` use
(no registry is reachable here): built from the harness's own bases, never invented."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from harness import BASE_IMAGE, DEFAULT, Engine, docker, ensure_base_image, python_slim_image, uv_binary, uv_binary_image

STANDINS = (
    "python:3.12-slim",
    "python:3.12-slim-bookworm",
    "python:3.12-slim-bullseye",
    "ghcr.io/astral-sh/uv:python3.12-bookworm-slim",
    "ghcr.io/astral-sh/uv:latest",
    "python:3.14",
    "ghcr.io/astral-sh/uv:0.9.26",
    "oven/bun:1",
)

FAKE_BUN = """#!/bin/sh
# stand-in for bun (not installable here): `bun install` does nothing, `bun run build` writes the page
# full-stack-fastapi-template's vite build would write into backend/app/frontend
set -e
if [ "$1" = run ] && [ "$2" = build ]; then
  mkdir -p /app/backend/app/frontend && echo '<!doctype html><title>stand-in</title>' > /app/backend/app/frontend/index.html
fi
"""


def ensure_standins(engine: Engine | None = None) -> None:
    """`ghcr.io/astral-sh/uv:python3.12-bookworm-slim` (the python:slim-like base + uv) and
    `python:3.12-slim`, `python:3.12-slim-bookworm` and `python:3.12-slim-bullseye` (the python:slim-like base, bookworm;
    its CPython is this machine's 3.11), `ghcr.io/astral-sh/uv:latest` (only `/uv`),
    `python:3.14` (the same 3.11 base), `ghcr.io/astral-sh/uv:0.9.26` (`/uv` and `/uvx`) and `oven/bun:1`
    (the base with a stand-in `bun`, see FAKE_BUN); on the default engine and, when given, copied to `engine`."""
    slim = python_slim_image()
    docker("tag", slim, "python:3.12-slim")
    docker("tag", slim, "python:3.12-slim-bookworm")
    docker("tag", slim, "python:3.12-slim-bullseye")
    docker("tag", uv_binary_image(), "ghcr.io/astral-sh/uv:latest")
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        shutil.copy(uv_binary(), Path(context) / "uv")
        (Path(context) / "Dockerfile").write_text(f"FROM {slim}\nCOPY uv /usr/local/bin/uv\n")
        docker("build", "--network", "host", "-t", "ghcr.io/astral-sh/uv:python3.12-bookworm-slim", context)
    docker("tag", slim, "python:3.14")
    ensure_base_image()
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        shutil.copy(uv_binary(), Path(context) / "uv")
        shutil.copy(Path(uv_binary()).with_name("uvx"), Path(context) / "uvx")
        (Path(context) / "Dockerfile").write_text("FROM scratch\nCOPY uv uvx /\n")
        docker("build", "--network", "host", "-t", "ghcr.io/astral-sh/uv:0.9.26", context)
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        (Path(context) / "bun").write_text(FAKE_BUN)
        (Path(context) / "bun").chmod(0o755)
        (Path(context) / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nCOPY bun /usr/local/bin/bun\n")
        docker("build", "--network", "host", "-t", "oven/bun:1", context)
    if engine is not None and engine is not DEFAULT:
        for name in STANDINS:
            engine.copy_from_default(name)
