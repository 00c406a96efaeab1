"""The `uvscope` command as a user runs it: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tarbuilder import docker_save_legacy, layer_tar

UVSCOPE = [sys.executable, "-m", "uvscope.app.cli"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([*UVSCOPE, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture
def archive(tmp_path) -> Path:
    path = tmp_path / "demo.tar"
    path.write_bytes(docker_save_legacy([layer_tar(("file", "a", b"x" * 10)), layer_tar(("file", "a", b"y" * 20))]))
    return path


def test_version_and_help():
    assert run("--version").stdout.startswith("uvscope ")
    help_text = run("--help").stdout
    assert "report" in help_text and "IMAGE" in help_text or "COMMAND" in help_text


def test_report_json_to_stdout_and_file(archive, tmp_path):
    result = run("report", str(archive), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "uvscope.report/1"
    assert set(report["image"]) >= {"ref", "id", "size_bytes", "efficiency", "wasted_bytes", "reclaimable_bytes"}
    assert [layer["size_bytes"] for layer in report["layers"]] == [10, 20]
    assert set(report["layers"][0]) >= {"index", "diff_id", "created_by", "size_bytes", "file_count"}
    assert report["image"]["reclaimable_bytes"] == 10
    out = tmp_path / "report.json"
    assert run("report", str(archive), "-o", str(out)).returncode == 0
    assert json.loads(out.read_text())["layers"] == report["layers"]


def test_summary_without_a_terminal(archive):
    result = run(str(archive))
    assert result.returncode == 0, result.stderr
    assert "efficiency" in result.stdout


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_not_an_archive(tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00garbage" * 300)
    assert "not a readable tar archive" in _one_line_error(run("report", str(junk)))


def test_missing_file():
    assert "no such file" in _one_line_error(run("report", "./missing-image.tar"))


def test_engine_not_running():
    line = _one_line_error(run("report", "some/image:tag", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}))
    assert "cannot reach the Docker Engine" in line


@pytest.mark.engine
def test_unknown_image(engine):
    line = _one_line_error(run("report", "uvscope-test/no-such-image:never"))
    assert "no image 'uvscope-test/no-such-image:never'" in line


def test_unknown_source_flag(archive):
    result = run("report", str(archive), "--source", "ftp")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_demo_builds_a_real_uv_image_without_an_engine(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path), "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = run("demo", env=env)
    assert result.returncode == 0, result.stderr
    assert "uv sync --frozen --no-dev --no-install-project" in result.stdout
    assert any("numpy" in line and "match" in line for line in result.stdout.splitlines())
    # The first build takes seconds: each step is said as it starts, with the time so far (issue 15, item 8).
    progress = result.stderr.splitlines()
    assert progress[0].startswith("uvscope: building the demo image (first use; kept in ")
    assert any("RUN uv sync --frozen --no-dev --no-install-project" in line for line in progress)
    assert all(line.startswith("uvscope: ") and line.endswith(" s)") for line in progress), progress
    assert not run("demo", "--summary", env=env).stderr  # built: nothing to say
    archive = tmp_path / "uvscope" / "uvscope-demo.oci.tar"
    report = json.loads(run("report", str(archive), env=env).stdout)
    assert len(report["layers"]) == 4
    sync_layer = report["layers"][1]
    assert sync_layer["size_bytes"] > 10_000_000  # numpy and friends, really installed
    assert any("numpy" in item["path"] for item in sync_layer["added"]["largest"])


def _warned_report(result: subprocess.CompletedProcess) -> tuple[str, dict]:
    """A missing or broken project lock is a warning (issue 14, item 9): exit 0, one warning line, a full report."""
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("uvscope: warning: "), result.stderr
    report = json.loads(result.stdout)
    assert lines[0].removeprefix("uvscope: warning: ") in report["warnings"]
    return lines[0], report


def test_broken_lock_in_project(archive, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "uv.lock").write_text("version = 1\n[[package]\n")
    line, report = _warned_report(run("report", str(archive), "--project", str(project)))
    assert "not a valid uv.lock" in line
    assert len(report["layers"]) == 2 and report["lock"] is None


def test_project_without_lock(archive, tmp_path):
    line, report = _warned_report(run("report", str(archive), "--project", str(tmp_path)))
    assert "no uv.lock in" in line and len(report["layers"]) == 2


def test_open_without_a_terminal_prints_the_summary(archive):
    result = run("open", str(archive), "--summary")
    assert result.returncode == 0 and "efficiency" in result.stdout


OPT_PYPROJECT = """[project]
name = "svc"
version = "1.0.0"
dependencies = ["six>=1.16"]  # keep this comment
"""
OPT_DOCKERFILE = "FROM python:3.12\nRUN pip install uv\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen\n"
OPT_LOCK = 'version = 1\n[[package]]\nname = "svc"\nversion = "1.0.0"\nsource = { editable = "." }\ndependencies = [{ name = "six" }]\n[[package]]\nname = "six"\nversion = "1.17.0"\nsource = { registry = "https://pypi.org/simple" }\n'


def _opt_project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(OPT_PYPROJECT)
    (tmp_path / "Dockerfile").write_text(OPT_DOCKERFILE)
    (tmp_path / "uv.lock").write_text(OPT_LOCK)
    return {name: (tmp_path / name).read_bytes() for name in ("pyproject.toml", "Dockerfile", "uv.lock")}


def test_optimize_dry_run_shows_diffs_and_writes_nothing(tmp_path):
    before = _opt_project(tmp_path)
    result = run("optimize", "--project", str(tmp_path), "--group", "heavy=six")
    assert result.returncode == 0, result.stderr
    assert '+heavy = ["six>=1.16"]' in result.stdout
    assert "+ && uv export --frozen --no-header --no-annotate --no-emit-project --only-group heavy" in result.stdout
    assert "dry run" in result.stdout
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_optimize_write_with_a_broken_pyproject_changes_nothing(tmp_path):
    before = _opt_project(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project\nname = ")
    before["pyproject.toml"] = (tmp_path / "pyproject.toml").read_bytes()
    line = _one_line_error(run("optimize", "--project", str(tmp_path), "--group", "heavy=six", "--write"))
    assert "not valid TOML" in line
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)


def test_optimize_needs_groups_or_suggest(tmp_path):
    _opt_project(tmp_path)
    assert "--group NAME=PKG" in _one_line_error(run("optimize", "--project", str(tmp_path)))
    # Without --image, --suggest sizes closures by uv.lock's wheels (issue 15); this project has nothing heavy.
    line = _one_line_error(run("optimize", "--project", str(tmp_path), "--suggest"))
    assert "heavy enough" in line and "wheel sizes" in line and "--image" in line


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--keep-images"], "--keep-images only goes with --prove"),
        (["--docker-build-option=--network=host"], "--docker-build-option only goes with --prove"),
        (["--suggest"], "--group and --suggest"),
        (["--prove-registry", "127.0.0.1:5000"], "--prove-registry only goes with --prove"),
        (["--prove-cold"], "--prove-cold only goes with --prove"),
        (["--prove", "--no-push", "--prove-cold"], "--no-push and --prove-cold: that one pushes"),
    ],
)
def test_optimize_options_that_do_not_go_together_are_usage_errors(tmp_path, extra, message):
    before = _opt_project(tmp_path)
    result = run("optimize", "--project", str(tmp_path), "--group", "heavy=six", *extra)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
