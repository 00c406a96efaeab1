"""`uvscope diff A B` reads its images as `report` and `open` read one (issue 16): the same read options,
passed to the report it writes and to the session; one format table for report, diff and history;
every command dispatched by the parser."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import pytest
from tarbuilder import as_tar, layer_tar, oci_files

import uvscope.app.app as app_module
import uvscope.app.cli as cli
from uvscope.analysis.output.formats import FORMATS
from uvscope.analysis.read import sources
from uvscope.app.commands import shared
from uvscope.app.screens.diff import DiffScreen

READ_OPTIONS = {"--source", "--platform", "--cache-dir", "--no-cache", "--stream"}


@pytest.fixture
def images(tmp_path) -> tuple[str, str]:
    """Two two-platform OCI layouts (tars) that share their first layer."""
    base = layer_tar(("file", "a", b"x" * 10))
    a = tmp_path / "a.oci.tar"
    b = tmp_path / "b.oci.tar"
    a.write_bytes(as_tar(oci_files([base], platforms=("linux/amd64", "linux/arm64"))))
    b.write_bytes(as_tar(oci_files([base, layer_tar(("file", "b", b"y" * 20))], platforms=("linux/amd64", "linux/arm64"))))
    return str(a), str(b)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def test_every_command_is_dispatched_by_the_parser():
    commands = _subcommands()
    assert set(commands) == set(cli.COMMANDS)
    for name, parser in commands.items():
        assert callable(parser.get_default("func")), name


@pytest.mark.parametrize("command", ["open", "report", "diff", "optimize"])
def test_commands_that_read_images_take_the_same_read_options(command):
    assert READ_OPTIONS <= _options(_subcommands()[command])


def _record_opens(monkeypatch) -> list[dict]:
    """Wrap the real opener (`sources.open_source`, imported where it is used) to record how each image was opened."""
    module = sources
    calls: list[dict] = []
    real = module.open_source

    def recording(ref, kind="auto", **options):
        calls.append({"ref": ref, "kind": kind, **options})
        return real(ref, kind, **options)

    monkeypatch.setattr(module, "open_source", recording)
    return calls


def test_diff_report_reads_both_images_with_platform_and_stream(images, monkeypatch, capsys):
    calls = _record_opens(monkeypatch)
    code = cli.main(["diff", *images, "--platform", "linux/arm64", "--stream", "--no-cache", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [call["ref"] for call in calls] == list(images)
    assert all(call["platform"] == "linux/arm64" and call["stream"] is True for call in calls)
    assert json.loads(out)["schema"] == "uvscope.diff/1"
    assert "--platform" not in err  # both layouts hold linux/arm64: nothing to warn about


def _run_diff_session(monkeypatch, argv: list[str]) -> DiffScreen:
    """`uvscope diff ...` on a terminal, the session driven headless until both images are read."""
    seen: dict[str, DiffScreen] = {}

    def run_headless(app, **_):
        async def drive():
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
                seen["screen"] = app.screen

        asyncio.run(drive())
        return 0

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(app_module, "run_session", run_headless)
    monkeypatch.setattr(shared, "end_session", lambda code: code)
    assert cli.main(argv) == 0
    return seen["screen"]


def test_diff_session_reads_both_images_with_platform_and_stream(images, monkeypatch):
    calls = _record_opens(monkeypatch)
    screen = _run_diff_session(monkeypatch, ["diff", *images, "--platform", "linux/arm64", "--stream", "--no-cache"])
    assert isinstance(screen, DiffScreen) and screen.error is None and screen.document is not None
    assert [call["ref"] for call in calls] == list(images)
    assert all(call["platform"] == "linux/arm64" and call["stream"] is True for call in calls)


@pytest.mark.parametrize("session", [False, True], ids=["report", "session"])
def test_diff_no_cache_leaves_the_cache_dir_empty(images, tmp_path, monkeypatch, capsys, session):
    def diff(cache: Path, *extra: str) -> None:
        argv = ["diff", *images, "--cache-dir", str(cache), *extra]
        if session:
            screen = _run_diff_session(monkeypatch, argv)
            assert screen.error is None and screen.document is not None
        else:
            assert cli.main([*argv, "--format", "json"]) == 0, capsys.readouterr().err

    diff(tmp_path / "cached")
    assert any(path.is_file() for path in (tmp_path / "cached").rglob("*"))  # the cache is used without --no-cache
    diff(tmp_path / "uncached", "--no-cache")
    assert not (tmp_path / "uncached").exists() or not any((tmp_path / "uncached").rglob("*"))


@pytest.mark.parametrize(
    "command, suffix, starts",
    [("report", ".md", "## "), ("report", ".html", "<!DOCTYPE html>"), ("diff", ".json", "{"), ("diff", ".html", "<!DOCTYPE html>")],
)
def test_report_and_diff_take_the_format_from_the_extension(images, tmp_path, command, suffix, starts):
    out = tmp_path / f"out{suffix}"
    refs = images if command == "diff" else images[:1]
    assert cli.main([command, *refs, "--no-cache", "-o", str(out)]) == 0
    assert out.read_text().startswith(starts)


def test_history_takes_the_format_from_the_extension_too(tmp_path, monkeypatch, capsys):
    """`history` chose md unless `--format json` was given; it now reads `-o`'s extension as report and diff do."""
    import subprocess

    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "uv.lock").write_text('version = 1\nrequires-python = ">=3.11"\n')
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "uv.lock"], check=True)
    subprocess.run([*git, "commit", "-qm", "lock"], check=True)
    out = tmp_path / "history.json"
    assert cli.main(["history", "--lock-history", str(project), "-o", str(out)]) == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["schema"].startswith("uvscope.history")
    refused = cli.main(["history", "--lock-history", str(project), "--format", "md", "-o", str(tmp_path / "h.json")])
    assert refused == 2 and "contradicts" in capsys.readouterr().err
    html = tmp_path / "h.html"  # history has no HTML: said, not written as Markdown under an .html name
    assert cli.main(["history", "--lock-history", str(project), "-o", str(html)]) == 2
    assert "history is written as md or json, not html" in capsys.readouterr().err and not html.exists()
    assert cli.main(["history", "--lock-history", str(project), "--format", "md", "-o", str(html)]) == 0


def test_the_format_choices_are_the_format_table(capsys):
    for kind in ("report", "diff", "history"):
        choices = next(a.choices for a in _subcommands()[kind]._actions if "--format" in a.option_strings)
        assert list(choices) == list(FORMATS[kind])
    with pytest.raises(SystemExit):
        cli.main(["diff", "a", "b", "--format", "xml"])
    assert "invalid choice: 'xml'" in capsys.readouterr().err
