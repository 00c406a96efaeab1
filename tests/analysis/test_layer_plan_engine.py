"""The history planner against real rebuilds on the engine.

The test makes a git repository of a uv project whose uv.lock history bumps a
light closure (rich, with markdown-it-py and pygments) often, a mid-size one
(pandas) once and a heavy one (numpy, which pandas needs too) once, each lock
made by `uv lock`. `uvscope optimize --suggest --format json`, with sizes from
an image of the project's head, must propose the two-layer plan (numpy at the
bottom, pandas above it). Then every commit of the history is built with the
revised Dockerfile and its pyproject.toml with the plan's groups, one after
the other on the same engine, and the bytes each build re-creates in the final
image (layers whose diff_id, hashed here from `docker save`, the previous
build did not have; their files' content bytes, as uvscope counts a layer)
must be the planner's replayed figure for that step within 2%.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from harness import docker, saved_layers, uv_base_image, uv_binary

from uvscope.analysis.plan.grouping import Group, Grouping
from uvscope.analysis.plan.optimize import plan_optimization
from uvscope.analysis.plan.project_edit import with_groups

pytestmark = pytest.mark.engine

SHAPES = Path(__file__).parent.parent / "shapes"
TOLERANCE = 0.02
# (numpy, pandas, rich) per lock commit: rich bumped 3 times, pandas once, numpy once
HISTORY = [
    ("2.1.2", "2.2.2", "13.9.0"),
    ("2.1.2", "2.2.2", "13.9.1"),
    ("2.1.2", "2.2.3", "13.9.1"),
    ("2.1.2", "2.2.3", "13.9.2"),
    ("2.1.3", "2.2.3", "13.9.2"),
    ("2.1.3", "2.2.3", "13.9.3"),
]
PYPROJECT = """[project]
name = "shapes-app"
version = "0.1.0"
requires-python = ">=3.11,<3.12"
dependencies = ["numpy=={0}", "pandas=={1}", "rich=={2}"]

[build-system]
requires = ["uv_build>=0.8,<0.14"]
build-backend = "uv_build"
"""


def _uv(*args: str, cwd: Path) -> None:
    result = subprocess.run([uv_binary(), *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args],
        check=True, capture_output=True, text=True,
    ).stdout


def _export(repo: Path, commit: str, folder: Path) -> Path:
    """The files of `commit` (no .git) in `folder`: the build context."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", commit], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _build(context: Path, tag: str) -> None:
    result = docker("build", "--network=host", "-t", tag, str(context), check=False)
    assert result.returncode == 0, (result.stderr or result.stdout)[-3000:]


def _layers(tag: str) -> list[tuple[str, int]]:
    """(diff_id, content bytes of its regular files) of each layer of `tag`, from `docker save` (harness.saved_layers)."""
    return [(diff_id, sum(entry.size for entry in entries if entry.isfile())) for diff_id, _, entries in saved_layers(tag)]


def test_replayed_history_matches_real_rebuilds(tmp_path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    subprocess.run(["cp", "-r", str(SHAPES / "project" / "src" / "shapes_app"), str(repo / "src")], check=True)
    text = (SHAPES / "docs-intermediate.Dockerfile").read_text().replace("{UV_BASE}", uv_base_image())
    (repo / "Dockerfile").write_text(text)
    _git(repo, "init", "-q")
    commits = []
    for index, pins in enumerate(HISTORY):
        (repo / "pyproject.toml").write_text(PYPROJECT.format(*pins))
        _uv("lock", cwd=repo)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"lock {index}: numpy {pins[0]}, pandas {pins[1]}, rich {pins[2]}")
        commits.append(_git(repo, "rev-parse", "HEAD").strip())
    tags = []
    try:
        head = "uvscope-test-layerplan:head"
        tags.append(head)
        _build(_export(repo, commits[-1], tmp_path / "head"), head)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        result = subprocess.run(
            [sys.executable, "-m", "uvscope.app.cli", "optimize", "--project", str(repo), "--suggest", "--image", head, "--format", "json"],
            capture_output=True, text=True, timeout=600, env=env,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        document = json.loads(result.stdout)
        plan = document["history_plan"]
        # the two-layer plan: the heavy closure at the bottom, the mid-size one above it, the light one in the rest
        assert [(g["name"], g["packages"]) for g in document["groups"]] == [("heavy", ["numpy"]), ("mid", ["pandas"])]
        assert plan["steps_replayed"] == len(HISTORY) - 1 and plan["figures_from"] == "dockerfile"
        assert plan["total_bytes"]["plan"] < plan["total_bytes"]["today"] / 2
        print("\n".join(plan["explanation"]))

        grouping = Grouping(tuple(Group(g["name"], tuple(g["packages"])) for g in document["groups"]))
        revised_dockerfile = plan_optimization(str(repo), grouping=grouping).dockerfile.new_text
        previous: set[str] | None = None
        for index, commit in enumerate(commits):
            context = _export(repo, commit, tmp_path / f"step{index}")
            pyproject = context / "pyproject.toml"
            pyproject.write_text(with_groups(pyproject.read_text(), grouping, str(pyproject)))
            _uv("lock", cwd=context)
            (context / "Dockerfile").write_text(revised_dockerfile)
            tag = f"uvscope-test-layerplan:step{index}"
            tags.append(tag)
            _build(context, tag)
            layers = _layers(tag)
            if previous is not None:
                measured = sum(content for diff_id, content in layers if diff_id not in previous)
                replayed = plan["steps"][index - 1]["plan_bytes"]
                print(f"step {index}: replayed {replayed}, re-created {measured} ({plan['steps'][index - 1]['plan_rebuilt']})")
                assert abs(replayed - measured) <= TOLERANCE * measured, (index, replayed, measured)
            previous = {diff_id for diff_id, _ in layers}

        # the same history read from the images themselves (tags as the history source): the same plan
        steps = ",".join(f"uvscope-test-layerplan:step{index}" for index in range(len(commits)))
        result = subprocess.run(
            [sys.executable, "-m", "uvscope.app.cli", "optimize", "--project", str(repo), "--suggest", "--image", head,
             "--history-images", steps, "--format", "json"],
            capture_output=True, text=True, timeout=600, env=env,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        from_images = json.loads(result.stdout)
        assert from_images["groups"] == document["groups"]
        assert [step["touched"] for step in from_images["history_plan"]["steps"]] == [step["touched"] for step in plan["steps"]]
    finally:
        for tag in tags:
            docker("image", "rm", "--no-prune", tag, check=False)
