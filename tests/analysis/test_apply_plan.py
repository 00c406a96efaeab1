"""`apply_plan`: the Dockerfile is rewritten in place, only when the rewrite changes it, and never over an edit."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.plan.optimize import apply_plan, plan_optimization

PYPROJECT = '[project]\nname = "svc"\nversion = "1"\ndependencies = ["six>=1.16"]\n'
LOCK = (
    'version = 1\nrequires-python = ">=3.11"\n\n'
    '[[package]]\nname = "six"\nversion = "1.17.0"\nsource = { registry = "https://pypi.org/simple" }\n\n'
    '[[package]]\nname = "svc"\nversion = "1"\nsource = { virtual = "." }\ndependencies = [{ name = "six" }]\n'
)
DOCKERFILE = "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen --no-install-project\n"


def _fake_uv(folder: Path) -> str:
    folder.mkdir()
    uv = folder / "uv"
    uv.write_text("#!/bin/sh\nexit 0\n")  # a lock that is already right: `uv lock` and `--check` pass
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    return str(uv)


def _project(tmp_path: Path, dockerfile: str = DOCKERFILE) -> Path:
    project = tmp_path / "project"
    project.mkdir(parents=True)
    for name, text in (("pyproject.toml", PYPROJECT), ("uv.lock", LOCK), ("Dockerfile", dockerfile)):
        (project / name).write_text(text)
    return project


def test_the_dockerfile_is_rewritten_in_place_and_nothing_is_created_beside_it(tmp_path):
    project = _project(tmp_path)
    (project / "Dockerfile.uvscope").write_text("# reviewed by hand\n")
    plan = plan_optimization(str(project), groups=["heavy=six"])
    written = apply_plan(plan, uv=_fake_uv(tmp_path / "bin"))
    assert str(project / "Dockerfile") in written
    assert (project / "Dockerfile").read_text() == plan.dockerfile.new_text != DOCKERFILE
    assert (project / "Dockerfile.uvscope").read_text() == "# reviewed by hand\n"
    assert sorted(p.name for p in project.iterdir()) == ["Dockerfile", "Dockerfile.uvscope", "pyproject.toml", "uv.lock"]


def test_a_dockerfile_that_already_holds_the_rewrite_is_not_written_again(tmp_path):
    first = plan_optimization(str(_project(tmp_path / "a")), groups=["heavy=six"])
    project = _project(tmp_path / "b", first.dockerfile.new_text)
    before = (project / "Dockerfile").stat().st_mtime_ns
    plan = plan_optimization(str(project), groups=["heavy=six"])
    written = apply_plan(plan, uv=_fake_uv(tmp_path / "bin"))
    assert not any(path.endswith("Dockerfile") for path in written)
    assert (project / "Dockerfile").stat().st_mtime_ns == before


def test_a_dockerfile_edited_after_planning_is_refused_and_nothing_is_written(tmp_path):
    project = _project(tmp_path)
    plan = plan_optimization(str(project), groups=["heavy=six"])
    (project / "Dockerfile").write_text(DOCKERFILE + "# edited\n")
    with pytest.raises(UvscopeError, match="Dockerfile changed on disk since uvscope read it"):
        apply_plan(plan, uv=_fake_uv(tmp_path / "bin"))
    assert (project / "Dockerfile").read_text() == DOCKERFILE + "# edited\n"
    assert (project / "pyproject.toml").read_text() == PYPROJECT
