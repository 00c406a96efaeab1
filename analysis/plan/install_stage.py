"""What the install stage (the one that runs `uv sync`) does before the sync, as the rewrite needs to know it.

Which step first reads the project's files (the groups' layers go before
it), whether a parent stage already copied them (then no layer after it
survives a version bump), and the steps that put uv or the uv-managed
Python on the PATH, which the generated stages must repeat.
"""

from __future__ import annotations

import posixpath
import re

from .build_shape import BuildShape
from .docker_stages import UV_SYNC, copy_sources
from .dockerfile import Dockerfile, Instruction, Stage

_PROJECT_FILES = {"pyproject.toml", "uv.lock", ".", "./", "*"}


def copies_project(instruction: Instruction, member_dirs: set[str], dockerfile: Dockerfile | None = None) -> bool:
    """A COPY/ADD that brings the project's files (which change with every bump): from the build
    context, or from an earlier stage that copied them from the context (prime-rl's `manifests`
    stage collecting every member's pyproject.toml and uv.lock)."""
    if instruction.keyword not in ("COPY", "ADD"):
        return False
    reference = instruction.flag("from")
    if reference is not None:
        if dockerfile is None or (origin := dockerfile.find_stage(reference, instruction.stage)) is None:
            return False
        return any(
            copies_project(step, member_dirs) or (step.keyword == "RUN" and binds_context(step))
            for ancestor in dockerfile.ancestors(origin)
            for _, step in dockerfile.stage_instructions(ancestor.index)[1:]
        )
    if instruction.heredocs:
        return False
    sources, _ = copy_sources(instruction)
    for source in sources:
        clean = source.rstrip("/") or "."
        if clean in _PROJECT_FILES or posixpath.basename(clean) in ("pyproject.toml", "uv.lock", ".python-version"):
            return True
        if clean.split("/")[0] in member_dirs:
            return True
    return False


def provides_uv(instruction: Instruction) -> bool:
    """A step that puts uv on the PATH: a COPY of the uv binary, or a pip/curl install of uv."""
    if instruction.keyword in ("COPY", "ADD"):
        sources, _ = copy_sources(instruction)
        return bool({posixpath.basename(s.rstrip("/")) for s in sources} & {"uv", "uvx"}) or "astral-sh/uv" in (
            instruction.flag("from") or ""
        )
    if instruction.keyword == "RUN":
        script = instruction.script()
        return bool(re.search(r"pip3?\s+install\b[^&;|]*\buv\b", script)) or "astral.sh/uv" in script
    return False


PYTHON_INSTALL_ANY = re.compile(r"(?:^|[\s;&|(])uv\s+python\s+install\b")
_PYTHON_INSTALL = re.compile(r"uv\s+python\s+install(\s+-\S+)*(\s+[^-\s]\S*)+(\s+-\S+)*")


def installs_managed_python(instruction: Instruction) -> bool:
    """A RUN that only installs uv-managed Pythons it names (`uv python install 3.12`), reading nothing
    from the context: the groups' `uv venv` needs that interpreter (the one `uv sync` will use), else it
    downloads the newest one `requires-python` allows, or fails where downloads are off. A bare
    `uv python install` reads `.python-version` from the project's files and stays where it is (`Writer.late_python`)."""
    if instruction.keyword != "RUN" or binds_context(instruction) or instruction.heredocs:
        return False
    commands = [c.strip() for c in re.split(r"&&|;|\n", instruction.script().replace("\\\n", " ")) if c.strip()]
    return bool(commands) and all(_PYTHON_INSTALL.fullmatch(" ".join(c.split())) for c in commands)


def uv_installed_in(instruction: Instruction) -> list[str]:
    """What the `uv sync` RUN does before `uv sync` when that is where uv gets installed
    (`pip install uv && uv sync`, a venv + pip + link, `curl ... astral.sh/uv | sh`): the generated
    steps need the same setup first."""
    script = instruction.script()
    match = UV_SYNC.search(script)
    if match is None:
        return []
    before = script[: match.start()]
    if not (re.search(r"\bpip3?\s+install\b[^;&|\n]*(?<![\w-])uv(?![\w-])", before) or "astral.sh/uv" in before):
        return []
    setup = re.sub(r"(\s|\\\n|&&|;|\|\|)+$", "", before).strip()
    return [" ".join(setup.split())] if setup else []


def binds_context(instruction: Instruction) -> bool:
    """A RUN with a bind mount of the build context (it reads the project's files)."""
    return any(
        flag.startswith("--mount=") and "from=" not in flag and ("type=bind" in flag or "type=" not in flag) for flag in instruction.flags
    )


def insertion_point(shape: BuildShape, member_dirs: set[str]) -> int:
    """The first instruction of the install stage that reads the project's files (or the sync)."""
    dockerfile, sync = shape.dockerfile, shape.sync
    for index, instruction in dockerfile.stage_instructions(sync.stage.index)[1:]:
        if (
            index >= sync.index
            or copies_project(instruction, member_dirs, dockerfile)
            or (instruction.keyword == "RUN" and binds_context(instruction))
        ):
            return index
    return sync.index


def project_copied_in_parent(shape: BuildShape, member_dirs: set[str]) -> Stage | None:
    """A parent of the install stage that copies the project's files (the rewrite refuses it), or None."""
    dockerfile = shape.dockerfile
    for ancestor in dockerfile.ancestors(shape.sync.stage)[1:]:
        for _, instruction in dockerfile.stage_instructions(ancestor.index)[1:]:
            if copies_project(instruction, member_dirs):
                return ancestor
    return None
