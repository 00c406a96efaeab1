"""The wheel installs everything under `uvscope/`, never top-level `app`/`widgets`/`analysis`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_wheel_files_all_live_under_uvscope(tmp_path):
    uv = Path(sys.executable).parent / "uv"
    subprocess.run([str(uv), "build", "--wheel", "-q", "-o", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("uvscope-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    outside = [name for name in names if not name.startswith(("uvscope/", "uvscope-"))]
    assert outside == []
    assert "uvscope/analysis/read/sources.py" in names
    assert "uvscope/app/cli.py" in names
    assert "uvscope/widgets/__init__.py" in names
    assert "uvscope/app/demo_project/uv.lock" in names
    # every source module ships: a new package folder (app/commands/, ...) must be listed in pyproject.toml
    sources = {
        f"uvscope/{path.relative_to(ROOT).as_posix()}" for top in ("app", "widgets", "analysis") for path in (ROOT / top).rglob("*.py")
    }
    assert sources - set(names) == set()
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "uvscope = uvscope.app.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_uv_sync_compiles_the_dependencies_bytecode(tmp_path):
    """`uv run uvscope` where PYTHONDONTWRITEBYTECODE is set must not compile Textual at every launch.

    Without pyproject's `[tool.uv] compile-bytecode`, uv installs no `.pyc` and such a shell
    (many CI runners and containers set the variable) spends 0.8 s compiling before the first paint.
    """
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    environment = tmp_path / "venv"
    subprocess.run(
        [uv, "sync", "--frozen", "--no-dev", "--no-install-project", "-q", "--project", str(ROOT)],
        check=True,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(environment)},
        timeout=300,
    )
    compiled = list(environment.glob("lib/python*/site-packages/textual/__pycache__/app.*.pyc"))
    assert compiled, "uv sync left Textual uncompiled"
