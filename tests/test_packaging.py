"""The wheel installs everything under `uvscope/`, never top-level `app`/`widgets`/`analysis`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

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
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "uvscope = uvscope.app.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
