"""pyproject.toml write-back: formatting kept, conflicts refused, failed re-locks undone."""

from __future__ import annotations

import os
import stat

import pytest

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.grouping import Group, Grouping
from uvscope.analysis.project_edit import read_project_file, with_groups, write_checked, write_groups_and_lock

PYPROJECT = """\
[project]
name = "svc"   # the service
version = "1.0.0"
dependencies = [
  "torch>=2.4 ; sys_platform == 'linux'",  # heavy
  "Requests[socks]>=2",
]

[dependency-groups]
dev = ["pytest"]   # tests

[tool.ruff]
line-length = 100
"""

HEAVY = Grouping((Group("heavy", ("torch", "requests")),))


def test_groups_copy_specifiers_and_keep_every_other_byte():
    new = with_groups(PYPROJECT, HEAVY)
    assert new.startswith(PYPROJECT.split("[tool.ruff]")[0].rstrip("\n"))
    assert "\"torch>=2.4 ; sys_platform == 'linux'\"," in new and '"Requests[socks]>=2",' in new
    assert new.endswith("[tool.ruff]\nline-length = 100\n")
    removed = [line for line in PYPROJECT.splitlines() if line not in new.splitlines()]
    assert removed == []


def test_only_runtime_dependencies_can_be_grouped():
    with pytest.raises(UvscopeError, match="numpy not in"):
        with_groups(PYPROJECT, Grouping((Group("heavy", ("numpy",)),)))


def test_broken_pyproject_is_a_clear_error():
    with pytest.raises(UvscopeError, match="not valid TOML"):
        with_groups("[project\nname=", HEAVY)


def test_refuses_to_overwrite_a_file_changed_since_it_was_read(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    original = read_project_file(str(path))
    path.write_text(PYPROJECT + "# edited by someone else\n")
    with pytest.raises(UvscopeError, match="changed on disk"):
        write_checked(original, b"new")
    assert path.read_text().endswith("# edited by someone else\n")


def _fake_uv(tmp_path, script: str) -> str:
    uv = tmp_path / "fake-uv"
    uv.write_text("#!/bin/sh\n" + script)
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    return str(uv)


LOCK = 'version = 1\n[[package]]\nname = "torch"\nversion = "2.4.0"\nsource = { registry = "x" }\n'


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("echo 'error: no solution' >&2; exit 1\n", "uv lock failed: error: no solution"),
        ("sed -i 's/2.4.0/2.5.0/' uv.lock\n", "would change package versions (torch 2.4.0 -> 2.5.0)"),
    ],
)
def test_failed_or_version_changing_lock_restores_both_files(tmp_path, script, reason):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "uv.lock").write_text(LOCK)
    pyproject = read_project_file(str(tmp_path / "pyproject.toml"))
    with pytest.raises(UvscopeError) as raised:
        write_groups_and_lock(pyproject, with_groups(PYPROJECT, HEAVY), str(tmp_path / "uv.lock"), uv=_fake_uv(tmp_path, script))
    assert reason in str(raised.value) and "pyproject.toml and uv.lock are as they were" in str(raised.value)
    assert (tmp_path / "pyproject.toml").read_text() == PYPROJECT
    assert (tmp_path / "uv.lock").read_text() == LOCK
    assert sorted(os.listdir(tmp_path)) == ["fake-uv", "pyproject.toml", "uv.lock"]  # no temporary files left


def test_successful_lock_keeps_the_new_files(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "uv.lock").write_text(LOCK)
    pyproject = read_project_file(str(tmp_path / "pyproject.toml"))
    new = with_groups(PYPROJECT, HEAVY)
    write_groups_and_lock(pyproject, new, str(tmp_path / "uv.lock"), uv=_fake_uv(tmp_path, "exit 0\n"))
    assert (tmp_path / "pyproject.toml").read_text() == new
