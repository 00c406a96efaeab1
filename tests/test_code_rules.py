"""The rules the CI enforces on the code itself: ruff (lint and format) and mypy, on every run.

They run first (see `conftest.py`), so a style or type slip fails in seconds,
before the engine tests start. Settings live in `pyproject.toml`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
CODE = ["app", "widgets", "analysis"]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("command", [("ruff", "check", *CODE, "tests", "bench", "screenshots"), ("ruff", "format", "--check", *CODE)])
def test_ruff(command):
    result = _run(*command)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_mypy():
    result = _run("mypy", *CODE)
    assert result.returncode == 0, result.stdout[-6000:]
