"""`report --ci` with a bad rule (issue 16): one line naming the rule and the value, exit 2, and no report,
neither on standard output nor in the `-o` file; the rules are checked before the image is read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tarbuilder import docker_save_legacy, layer_tar

from uvscope.app.cli import main

CASES = [
    ("pyproject.toml", '[tool.uvscope.ci]\nlowest-efficiency = "high"\n', ["lowest-efficiency", "'high'"]),
    ("pyproject.toml", "[tool.uvscope.ci]\nhighest-user-wasted-percent = 5\n", ["highest-user-wasted-percent", "5", "0 to 1"]),
    ("pyproject.toml", '[tool.uvscope.ci]\nmax-image-size = "huge"\n', ["max-image-size", "'huge'", "20MB"]),
    ("pyproject.toml", '[tool.uvscope.ci]\nrequire-lock-match = "maybe"\n', ["require-lock-match", "'maybe'"]),
    ("pyproject.toml", '[tool.uvscope.ci]\nbase-layers = "one"\n', ["base-layers", "'one'"]),
    ("pyproject.toml", "[tool.uvscope.ci]\nlowest-efficency = 0.9\n", ["lowest-efficency", "did you mean lowest-efficiency?"]),
    (".dive-ci", "rules:\n  highestWastedBytes: lots\n", ["highestWastedBytes", "'lots'"]),
    (".dive-ci", "rules:\n  lowestEfficiency: 1.5\n", ["lowestEfficiency", "1.5", "0 to 1"]),
    (".dive-ci", "rules:\n  highestUserWastedPercnt: 0.1\n", ["highestUserWastedPercnt", "did you mean highestUserWastedPercent?"]),
]


@pytest.fixture
def archive(tmp_path) -> Path:
    path = tmp_path / "img.tar"
    path.write_bytes(docker_save_legacy([layer_tar(("file", "a", b"x" * 10)), layer_tar(("file", "a", b"y" * 20))]))
    return path


def _configure(tmp_path: Path, name: str, text: str) -> list[str]:
    (tmp_path / name).write_text(text)
    return ["--ci-config", str(tmp_path / name)] if name == ".dive-ci" else []


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("uvscope: error: "), err
    return lines[0]


@pytest.mark.parametrize("name, text, said", CASES, ids=[f"{name}:{text.split(chr(10))[1].strip()}" for name, text, said in CASES])
def test_a_bad_rule_writes_no_report(archive, tmp_path, monkeypatch, capsys, name, text, said):
    monkeypatch.chdir(tmp_path)
    extra = _configure(tmp_path, name, text)
    out = tmp_path / "report.json"
    for output in (["-o", str(out)], [], ["--format", "md"]):
        assert main(["report", str(archive), "--ci", *extra, *output]) == 2
        stdout, stderr = capsys.readouterr()
        line = _one_line(stderr)
        assert all(part in line for part in said), line
        assert stdout == ""
        assert not out.exists()


def test_rules_are_checked_before_the_image_is_read(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.uvscope.ci]\nlowest-efficiency = "high"\n')
    assert main(["report", str(tmp_path / "no-such.tar"), "--ci"]) == 2
    assert "lowest-efficiency" in _one_line(capsys.readouterr().err)


def test_good_rules_still_write_the_report_and_the_verdict(archive, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.uvscope.ci]\nlowest-efficiency = "0.25"\nmax-image-size = "1kB"\nbase-layers = 1\n')
    out = tmp_path / "report.json"
    assert main(["report", str(archive), "--ci", "-o", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "PASS  lowest-efficiency" in stdout and "PASS  max-image-size" in stdout and out.exists()


def test_a_bad_rule_from_the_command_line_has_no_traceback(archive, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.uvscope.ci]\nmax-layer-size = -5\n")
    out = tmp_path / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "uvscope.app.cli", "report", str(archive), "--ci", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stdout == ""
    assert "max-layer-size" in _one_line(result.stderr) and "-5" in result.stderr
    assert not out.exists()
