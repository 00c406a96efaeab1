"""A hostile image in a real terminal and in the engine (issue 22).

The session runs in tmux on the hostile archive; everything the process writes to the
terminal is recorded (`pipe-pane`), every view is visited, and the test checks that no
escape sequence of the image reached the terminal (title, clear screen, OSC 8 links,
OSC 52 clipboard writes, 8-bit CSI), that the pane's title is not the image's, and that the
pane shows the escapes as text (`capture-pane -e`). The engine part loads the hostile images
into the Docker Engine for `history`, and builds one whose RUN command, LABEL, ENV and file
names carry the escapes, for the summary, the reports and the session.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import BASE_IMAGE, docker, ensure_base_image

sys.path.insert(0, str(Path(__file__).parent / "hostile"))

import make_hostile as hostile  # noqa: E402
from test_untrusted import CONTROL, _assert_markdown_is_inert, _clean, _cli, _every_view  # noqa: E402

from uvscope.analysis.untrusted import is_shown, shown  # noqa: E402

pytestmark = pytest.mark.engine

HOSTILE_SEQUENCES = {
    "title (OSC 0)": b"\x1b]0;",
    "title (OSC 2)": b"\x1b]2;",
    "hyperlink (OSC 8)": b"\x1b]8;",
    "clipboard (OSC 52)": b"\x1b]52;",
    "clear screen": b"\x1b[2J",
    "8-bit CSI": b"\xc2\x9b",
    "bidi override": "\u202e".encode(),
}


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def test_the_session_in_a_real_terminal_never_passes_an_escape_on(tmp_path):
    assert shutil.which("tmux"), "bash tests/setup-engine.sh installs tmux"
    paths = hostile.write_variants(tmp_path / "images")
    session = f"uvscope-hostile-{os.getpid()}-{time.monotonic_ns()}"
    raw = tmp_path / "terminal.bin"
    command = f"cd {tmp_path}; exec {sys.executable} -m uvscope.app.cli {paths['docker-save']} --no-cache"
    _tmux("new-session", "-d", "-s", session, "-x", "140", "-y", "45", f"sh -c '{command}'; sleep 60")
    try:
        _tmux("pipe-pane", "-t", session, "-o", f"cat > {raw}")
        deadline = time.monotonic() + 60
        while "efficiency" not in _tmux("capture-pane", "-t", session, "-p") and time.monotonic() < deadline:
            time.sleep(0.2)
        panes = {}
        for key, tab in (("1", "layers"), ("2", "packages"), ("3", "files"), ("4", "waste"), ("5", "plots"), ("1", "layers")):
            _tmux("send-keys", "-t", session, key)
            time.sleep(1.0)
            panes[tab] = _tmux("capture-pane", "-t", session, "-p", "-e")
        title = _tmux("display-message", "-p", "-t", session, "#{pane_title}")
        _tmux("send-keys", "-t", session, "q")
        time.sleep(1.0)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    written = raw.read_bytes()
    assert len(written) > 10_000, "the session wrote (almost) nothing to the terminal"
    for what, sequence in HOSTILE_SEQUENCES.items():
        assert sequence not in written, f"the image's {what} reached the terminal"
    assert set(re.findall(rb"\x1b\](\d*)", written)) <= {b"22"}, "an OSC other than Textual's pointer shape"
    assert "pwned" not in title
    for tab, pane in panes.items():
        visible = re.sub(r"\x1b\[[0-9;:]*m", "", pane)  # capture-pane -e keeps colours (SGR) only
        assert "\x1b" not in visible and "\x07" not in visible, tab
    assert shown(hostile.TITLE) in re.sub(r"\x1b\[[0-9;:]*m", "", panes["layers"])
    assert "[@click=app.quit]" in re.sub(r"\x1b\[[0-9;:]*m", "", panes["packages"])


def _load(variant: int, folder: Path) -> str:
    path = folder / f"loadable-{variant}.tar"
    path.write_bytes(hostile.docker_save(variant, loadable=True))
    result = docker("load", "-i", str(path))
    return result.stdout.strip().split("Loaded image: ")[-1]


def test_history_of_hostile_tags_in_the_engine(tmp_path):
    refs = [_load(0, tmp_path), _load(1, tmp_path)]
    try:
        for fmt in ("md", "json"):
            result = _cli("history", *refs, "--format", fmt, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            text = _clean(result.stdout, f"history {fmt}")
            _clean(result.stderr, f"history {fmt} stderr")
            if fmt == "json":
                assert result.stdout.isascii() and json.loads(text)["images"]
            else:
                _assert_markdown_is_inert(text, "history md")
    finally:
        docker("rmi", *refs, check=False)


@pytest.fixture(scope="module")
def built_hostile(tmp_path_factory):
    """An image the engine built from `hostile.dockerfile()`: escapes in its RUN commands, LABEL, ENV and file names."""
    ensure_base_image()
    context = tmp_path_factory.mktemp("hostile-context")
    (context / "Dockerfile").write_text(hostile.dockerfile(BASE_IMAGE))
    tag = f"uvscope-test/hostile-built:{os.getpid()}"
    docker("build", "--network", "host", "-t", tag, str(context))
    yield tag
    docker("rmi", tag, check=False)


def test_an_engine_built_hostile_image(built_hostile, tmp_path):
    tag = built_hostile
    summary = _cli(tag, "--summary", cwd=tmp_path)
    text = _clean(summary.stdout, "summary")
    assert summary.returncode == 0, summary.stderr
    assert shown(hostile.TITLE) in text
    report = _cli("report", tag, "--format", "json", cwd=tmp_path)
    doc = json.loads(report.stdout)
    assert any(hostile.TITLE in layer["created_by"] for layer in doc["layers"])  # JSON keeps the exact command
    names = [entry["path"] for layer in doc["layers"] for entry in layer["added"]["largest"]]
    assert f"/app/{hostile.TITLE}{hostile.CLEAR}title.txt" in names  # and the exact file name
    markdown = _clean(_cli("report", tag, "--format", "md", cwd=tmp_path).stdout, "report md")
    _assert_markdown_is_inert(markdown, "report md")
    ci = _cli("report", tag, "--ci", cwd=tmp_path)
    _clean(ci.stdout + ci.stderr, "--ci")
    assert not CONTROL.search(report.stdout)


async def test_the_session_on_an_engine_built_hostile_image(built_hostile):
    texts = await _every_view(built_hostile)
    assert all(is_shown(text.replace("\n", " ")) for text in texts)
    assert "/app/\\x1b]0;" in texts[0]  # the layer's command, cut to its column
