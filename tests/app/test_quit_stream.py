"""`q` during a `--stream` read ends the process within a second (issue 15), in a real terminal (tmux).

The image is 2 GB of incompressible bytes, so `docker save` takes many seconds: the process must not
drain it before exiting. While the engine prepares the export, the session says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import harness
import pytest

pytestmark = pytest.mark.engine
QUIT_WITHIN = 1.0


@pytest.fixture(scope="module")
def large_image(engine) -> str:
    assert shutil.which("tmux"), "these tests run the session in tmux: bash tests/setup-engine.sh installs it"
    return harness.build_fixture("large")


def _pane(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True).stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by the shell) is gone for the user.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


EXPORTS = Path("/var/lib/docker/tmp")


def _exports_in_flight() -> list[Path]:
    """The engine's unfinished `docker save` folders (a quit export goes on in the engine for a while)."""
    return sorted(EXPORTS.glob("docker-export-*")) if EXPORTS.is_dir() else []


def _run_and_quit(image: str, tmp_path: Path, ready) -> tuple[float, str, str]:
    """`_run_once`, once more if the engine itself failed the export before the session got ready.

    The previous test's abandoned 2 GB export may still be running in the engine; a second one beside it
    can fail there (a 500 from `/images/get`), which is not what these tests are about.
    """
    for attempt in range(2):
        deadline = time.monotonic() + 60
        while _exports_in_flight() and time.monotonic() < deadline:
            time.sleep(0.5)
        outcome = _run_once(image, tmp_path / f"try-{attempt}", ready)
        if outcome is not None:
            return outcome
    pytest.fail("the engine failed the export twice before the session got ready")


def _run_once(image: str, tmp_path: Path, ready) -> tuple[float, str, str] | None:
    """Start the session in tmux, wait until `ready(pane)`, press q; (seconds until the process is gone, pane, rc).

    None when the session shows the engine's own export error before it is ready.
    """
    tmp_path.mkdir()
    session = f"uvscope-quit-{os.getpid()}-{time.monotonic_ns()}"
    pid_file, rc_file = tmp_path / "pid", tmp_path / "rc"
    command = f"echo $$ > {pid_file}; cd {tmp_path}; exec {sys.executable} -m uvscope.app.cli {image} --stream --no-cache"
    wrapper = f"sh -c '{command}'; echo $? > {rc_file}; sleep 60"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", wrapper], check=True)
    try:
        deadline = time.monotonic() + 120
        pane = ""
        while time.monotonic() < deadline:
            pane = _pane(session)
            if ready(pane):
                break
            if "error: the export stream" in pane or "Docker Engine error" in pane:
                print(f"the engine failed the export; trying again:\n{pane}")
                return None
            time.sleep(0.1)
        else:
            pytest.fail(f"the session never got ready:\n{pane}")
        pid = int(pid_file.read_text())
        assert _alive(pid)
        pressed = time.monotonic()
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        while _alive(pid) and time.monotonic() - pressed < 60:
            time.sleep(0.01)
        gone = time.monotonic() - pressed
        for _ in range(100):
            if rc_file.exists() and rc_file.read_text().strip():
                break
            time.sleep(0.05)
        return gone, pane, rc_file.read_text().strip()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_q_while_the_engine_prepares_the_export(large_image, tmp_path):
    gone, pane, rc = _run_and_quit(large_image, tmp_path, lambda pane: "preparing the image export" in pane)
    assert gone < QUIT_WITHIN, f"the process lived {gone:.2f} s after q"
    assert rc == "0"
    assert "(q quits at once)" in pane


def test_q_in_the_middle_of_the_stream(large_image, tmp_path):
    def streaming(pane: str) -> bool:
        return any(f"{percent}%" in pane for percent in range(5, 60))

    gone, pane, rc = _run_and_quit(large_image, tmp_path, streaming)
    assert gone < QUIT_WITHIN, f"the process lived {gone:.2f} s after q"
    assert rc == "0"
