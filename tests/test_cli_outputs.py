"""`-o` goes through the safe writer: FIFOs, devices and `/dev/stdout` written in place, links followed.

Issue 13: `uvscope report IMAGE -o /dev/null` run as root once replaced the
device node with a regular file. Every node here is made in a temporary folder.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tarbuilder import docker_save_legacy, layer_tar

UVSCOPE = [sys.executable, "-m", "uvscope.app.cli"]


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*UVSCOPE, *args], capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture
def archive(tmp_path) -> Path:
    path = tmp_path / "image.tar"
    path.write_bytes(docker_save_legacy([layer_tar(("file", "a", b"x" * 10))]))
    return path


def _report_ok(text: str) -> None:
    assert json.loads(text)["schema"] == "uvscope.report/1"


def test_report_into_a_fifo_is_written_in_place(archive, tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
    reader.start()
    result = run("report", str(archive), "--no-cache", "-o", str(fifo))
    reader.join(60)
    assert result.returncode == 0, result.stderr
    _report_ok(received[0].decode())
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_report_through_a_symlink_replaces_the_target_not_the_link(archive, tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "latest.json").write_text("old")
    link = tmp_path / "report.json"
    link.symlink_to("reports/latest.json")
    result = run("report", str(archive), "--no-cache", "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "reports/latest.json"
    _report_ok((tmp_path / "reports" / "latest.json").read_text())


def test_report_to_dev_stdout_on_a_pipe(archive):
    result = run("report", str(archive), "--no-cache", "-o", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    _report_ok(result.stdout)


def test_report_into_a_character_device_keeps_the_device(archive, tmp_path, null_device):
    result = run("report", str(archive), "--no-cache", "-o", str(null_device))
    assert result.returncode == 0, result.stderr
    st = os.lstat(null_device)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.tar", "null"]


def test_report_into_a_folder_is_a_one_line_error(archive, tmp_path):
    result = run("report", str(archive), "--no-cache", "-o", str(tmp_path))
    assert result.returncode == 2 and result.stderr.strip() == f"uvscope: error: cannot write {tmp_path}: it is a folder"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "nope", "does not exist"),
        (lambda tmp: (tmp / "file").write_text("x") and tmp / "file", "is not a folder"),
        (lambda tmp: tmp, "no pyproject.toml in"),
    ],
    ids=["missing", "a-file", "empty-folder"],
)
def test_optimize_says_what_is_wrong_with_the_project_folder(tmp_path, make, message):
    folder = make(tmp_path)
    result = run("optimize", "--project", str(folder), "--group", "heavy=idna", "--write")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "uv lock" not in lines[0], lines
