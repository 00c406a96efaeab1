"""The command line as a new user meets it (issue 15): formats from extensions, typos, dive's habits,
usage errors that say why, `optimize --suggest` without an image, plurals and BuildKit noise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from tarbuilder import docker_save_legacy, layer_tar

import uvscope.app.cli as cli
from uvscope.analysis.output.text import elide, elide_path

UVSCOPE = [sys.executable, "-m", "uvscope.app.cli"]
SHAPES_PROJECT = Path(__file__).parent / "shapes" / "project"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*UVSCOPE, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env={**os.environ, "NO_COLOR": "1"})


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("uvscope: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def archive(tmp_path) -> Path:
    path = tmp_path / "img.tar"
    commands = ["RUN /bin/sh -c uv sync --frozen --no-dev # buildkit", "COPY one /one # buildkit"]
    path.write_bytes(docker_save_legacy([layer_tar(("file", "a", b"x" * 10), ("file", "b", b"y")), layer_tar(("file", "one", b"z"))], commands=commands))
    return path


# -- 9 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix, starts", [(".html", "<!DOCTYPE html>"), (".md", "## "), (".json", "{")])
def test_report_format_follows_the_extension(archive, tmp_path, suffix, starts):
    out = tmp_path / f"report{suffix}"
    result = run("report", str(archive), "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.lstrip().startswith(starts), text[:80]
    if suffix == ".json":
        assert json.loads(text)["schema"] == "uvscope.report/1"


def test_a_format_that_contradicts_the_extension_is_refused_before_writing(archive, tmp_path):
    out = tmp_path / "report.html"
    line = one_line_error(run("report", str(archive), "--format", "json", "-o", str(out)))
    assert "--format json" in line and "report.html" in line
    assert not out.exists()


def test_an_unknown_extension_keeps_the_default(archive, tmp_path):
    out = tmp_path / "report.txt"
    assert run("report", str(archive), "-o", str(out)).returncode == 0
    assert json.loads(out.read_text())["schema"] == "uvscope.report/1"


# -- 10 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, meant", [("reprot", "report"), ("histroy", "history"), ("optimise", "optimize"), ("dif", "diff")])
def test_a_mistyped_command_suggests_the_closest(archive, typed, meant):
    for args in ([typed], [typed, str(archive)]):
        line = one_line_error(run(*args))
        assert f"did you mean `uvscope {meant}`" in line


def test_an_existing_file_named_like_a_command_is_an_image(archive, tmp_path):
    shutil.copy(archive, tmp_path / "reprot")
    result = run("reprot", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "did you mean" not in result.stderr


@pytest.mark.parametrize("option", ["--ci", "--format"])
def test_report_options_on_the_session_point_to_report(archive, option):
    args = [str(archive), option] + (["md"] if option == "--format" else [])
    line = one_line_error(run(*args))
    assert f"uvscope report {archive}" in line and option in line


def test_the_sessions_target_is_checked_before_the_image_is_read(archive, tmp_path):
    """`uvscope IMAGE --target STAGE` names a stage of the project's Dockerfile: a stage it lacks, or a project
    with no Dockerfile, is one line at once (the image is not read: --summary would have printed it)."""
    (tmp_path / "Dockerfile").write_text("FROM base AS builder\nFROM base AS runtime\n")
    line = one_line_error(run(str(archive), "--summary", "--project", str(tmp_path), "--target", "nope"))
    assert line == "uvscope: error: --target nope: the Dockerfile has no stage of that name (its named stages: builder, runtime)"
    empty = tmp_path / "empty"
    empty.mkdir()
    line = one_line_error(run(str(archive), "--summary", "--project", str(empty), "--target", "runtime"))
    assert line == f"uvscope: error: --target runtime: no Dockerfile or Containerfile in {empty} to build it from"
    ok = run(str(archive), "--summary", "--project", str(tmp_path), "--target", "runtime")
    assert ok.returncode == 0 and "uv sync" in ok.stdout, ok.stderr


# -- 12 -------------------------------------------------------------------------------------


def test_diff_html_like_report(archive, tmp_path):
    other = tmp_path / "other.tar"
    other.write_bytes(docker_save_legacy([layer_tar(("file", "a", b"x" * 10), ("file", "b", b"y")), layer_tar(("file", "two", b"zz"))]))
    out = tmp_path / "diff.html"
    result = run("diff", str(archive), str(other), "-o", str(out))
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    md = run("diff", str(archive), str(other), "--format", "md")
    pull = next(line for line in md.stdout.splitlines() if line.startswith("Pulling"))
    cost = pull.split("costs **")[1].split("**")[0]
    assert cost in html  # the same figure as the Markdown
    assert run("diff", str(archive), str(other), "--format", "html").stdout.startswith("<!DOCTYPE html>")


def test_summary_strips_buildkit_noise_and_counts_in_words(archive):
    result = run(str(archive), "--summary")
    assert result.returncode == 0, result.stderr
    assert "# buildkit" not in result.stdout and "/bin/sh -c" not in result.stdout
    assert "uv sync --frozen --no-dev" in result.stdout
    layer_lines = [line for line in result.stdout.splitlines() if "COPY one" in line]
    assert layer_lines and " 1 file " in layer_lines[0] and "1 files" not in result.stdout


def test_elision_cuts_at_a_word():
    text = "uv pip install requests==2.32.3 idna==3.10 urllib3==2.2.3 certifi==2024.8.30 charset-normalizer==3.4.0"
    cut = elide(text, 40)
    assert len(cut) <= 40 and cut.endswith("…")
    assert text.startswith(cut[:-1]) and text[len(cut) - 1] == " "  # cut before a space, never inside a token
    path = "/app/.venv/lib/python3.12/site-packages/numpy/_core/_multiarray_umath.cpython-312.so"
    short = elide_path(path, 34)
    assert len(short) <= 34 and short.startswith("…/") and path.endswith(short[1:])


# -- 13 -------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    shutil.copytree(SHAPES_PROJECT, folder)
    return folder


def test_group_without_packages_says_why(project):
    line = one_line_error(run("optimize", "--project", str(project), "--group", "heavy"))
    assert "NAME=PKG" in line and "needs the packages" in line


@pytest.mark.parametrize("option", ["dev=numpy", "Dev=numpy"])
def test_group_dev_is_refused(project, option):
    before = (project / "pyproject.toml").read_bytes()
    line = one_line_error(run("optimize", "--project", str(project), "--group", option, "--write"))
    assert "--no-dev" in line
    assert (project / "pyproject.toml").read_bytes() == before


# -- 14 -------------------------------------------------------------------------------------


def test_suggest_without_an_image_uses_the_wheel_sizes_and_says_so(project):
    from uvscope.analysis.packages.uvlock import wheel_sizes
    from uvscope.analysis.plan.grouping import HEAVY_MIN_BYTES
    from uvscope.analysis.plan.optimize import WHEEL_RATIO

    result = run("optimize", "--project", str(project), "--suggest")
    assert result.returncode == 0, result.stderr
    assert "uv.lock's wheel sizes" in result.stdout
    group_line = next(line for line in result.stdout.splitlines() if line.startswith("group "))
    suggested = set(group_line.split(": ", 1)[1].split(", "))
    direct = {dep.split(">")[0].split("=")[0].strip() for dep in tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert suggested <= direct
    sizes = wheel_sizes((project / "uv.lock").read_text())
    # A direct dependency whose own wheel alone passes the scaled threshold is heavy whatever its closure.
    for name in direct:
        if sizes.get(name, 0) >= HEAVY_MIN_BYTES / WHEEL_RATIO:
            assert name in suggested
    assert "(dry run: nothing written" in result.stdout


@pytest.mark.parametrize(
    ("argv", "where"),
    [(["diff", "a", "b", "--format", "xml"], "uvscope diff --help"), (["optimize", "--max-groups", "abc"], "uvscope optimize --help"),
     (["report", "x", "--frmat", "md"], "uvscope --help")],
)
def test_a_usage_error_is_one_line_saying_where_to_read_more(argv, where, capsys):
    with pytest.raises(SystemExit) as ended:
        cli.main(argv)
    err = capsys.readouterr().err
    assert ended.value.code == 2 and err.count("\n") == 1 and err.startswith("uvscope: error: ") and where in err
