"""Fixtures for the session tests: a synthetic image and a way to build the app on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sessionimage import session_archive


@pytest.fixture
def session_tar(tmp_path, monkeypatch) -> str:
    """`svc.tar` in the current folder (a fixed, short ref for stable pictures)."""
    monkeypatch.chdir(tmp_path)
    Path("svc.tar").write_bytes(session_archive())
    return "svc.tar"
