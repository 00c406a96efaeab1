"""`apply_plan`: a file uvscope creates beside the Dockerfile never overwrites one that is there."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

from uvscope.analysis.plan.optimize import FileChange, apply_plan, plan_optimization

PYPROJECT = '[project]\nname = "svc"\nversion = "1"\ndependencies = ["six>=1.16"]\n'
LOCK = (
    'version = 1\nrequires-python = ">=3.11"\n\n'
    '[[package]]\nname = "six"\nversion = "1.17.0"\nsource = { registry = "https://pypi.org/simple" }\n\n'
    '[[package]]\nname = "svc"\nversion = "1"\nsource = { virtual = "." }\ndependencies = [{ name = "six" }]\n'
)
DOCKERFILE = "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen --no-install-project\n"


def _fake_uv(folder: Path) -> str:
    uv = folder / "uv"
    uv.write_text("#!/bin/sh\nexit 0\n")  # a lock that is already right: `uv lock` and `--check` pass
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    return str(uv)


def _beside_plan(tmp_path: Path):
    for name, text in (("pyproject.toml", PYPROJECT), ("uv.lock", LOCK), ("Dockerfile", DOCKERFILE)):
        (tmp_path / name).write_text(text)
    plan = plan_optimization(str(tmp_path), groups=["heavy=six"])
    beside = str(tmp_path / "Dockerfile.uvscope")
    return dataclasses.replace(
        plan,
        rewrite=dataclasses.replace(plan.rewrite, in_place=False),
        dockerfile=FileChange(beside, None, plan.dockerfile.new_text),
    )


def test_an_existing_copy_is_kept_and_a_free_name_taken(tmp_path):
    (tmp_path / "bin").mkdir()
    project = tmp_path / "project"
    project.mkdir()
    plan = _beside_plan(project)
    (project / "Dockerfile.uvscope").write_text("# reviewed by hand\n")
    written = apply_plan(plan, uv=_fake_uv(tmp_path / "bin"))
    assert (project / "Dockerfile.uvscope").read_text() == "# reviewed by hand\n"
    assert str(project / "Dockerfile.uvscope.2") in written
    assert (project / "Dockerfile.uvscope.2").read_text() == plan.dockerfile.new_text
    assert (project / "Dockerfile").read_text() == DOCKERFILE


def test_a_copy_that_already_holds_the_same_text_is_not_written_again(tmp_path):
    (tmp_path / "bin").mkdir()
    project = tmp_path / "project"
    project.mkdir()
    plan = _beside_plan(project)
    (project / "Dockerfile.uvscope").write_text(plan.dockerfile.new_text)
    written = apply_plan(plan, uv=_fake_uv(tmp_path / "bin"))
    assert not any("Dockerfile" in path for path in written)
    assert sorted(p.name for p in project.iterdir()) == ["Dockerfile", "Dockerfile.uvscope", "pyproject.toml", "uv.lock"]
