"""Rewrite a uv Dockerfile so each dependency group is installed in its own cached layer.

For each group, a small export stage copies `pyproject.toml`/`uv.lock` (and
the workspace members' `pyproject.toml`) and runs `uv export --frozen
--only-group G ...`; the install stage copies that exported file with
`COPY --from` and installs it with `uv pip install` in its own `RUN`, before
anything that depends on the project's files. BuildKit keys a `COPY` on the
copied content, so a group's layer is reused as long as its own pins do not
change, whatever else changes in pyproject.toml or uv.lock.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

from .dockerfile import Dockerfile, Instruction, parse_dockerfile
from .errors import UvscopeError
from .grouping import Grouping

EXPORT_STAGE = "uvscope-export"
EXPORT_DIR = "/uvscope"
_UV_SYNC = re.compile(r"\buv\s+sync\b")
_PROJECT_FILES = {"pyproject.toml", "uv.lock", ".", "./", "*"}


@dataclass(frozen=True)
class Rewrite:
    """The new Dockerfile text, where to write it, and what the user should know."""

    text: str
    in_place: bool
    """False when the shape cannot be rewritten safely: write `Dockerfile.uvscope` beside it."""
    notes: tuple[str, ...]


def _sources(instruction: Instruction) -> list[str]:
    words = shlex.split(instruction.body) if not instruction.body.startswith("[") else []
    if instruction.body.startswith("["):
        import json

        try:
            words = [str(w) for w in json.loads(instruction.body)]
        except ValueError:
            words = []
    return words[:-1]


def _copies_project(instruction: Instruction, member_dirs: set[str]) -> bool:
    if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") is not None:
        return False
    for source in _sources(instruction):
        clean = source.rstrip("/") or "."
        if clean in _PROJECT_FILES or posixpath.basename(clean) in ("pyproject.toml", "uv.lock"):
            return True
        if clean.split("/")[0] in member_dirs:
            return True
    return False


def _provides_uv(instruction: Instruction) -> bool:
    if instruction.keyword in ("COPY", "ADD"):
        names = {posixpath.basename(s.rstrip("/")) for s in _sources(instruction)}
        source = instruction.flag("from") or ""
        return bool(names & {"uv", "uvx"}) or "astral-sh/uv" in source
    if instruction.keyword == "RUN":
        return bool(re.search(r"pip3?\s+install\b[^&;|]*\buv\b", instruction.body)) or "astral.sh/uv" in instruction.body
    return False


def _sync_options(body: str) -> dict[str, str | bool]:
    words = shlex.split(body.replace("\\\n", " ")) if body else []
    options: dict[str, str | bool] = {}
    for index, word in enumerate(words):
        if word == "--package" and index + 1 < len(words):
            options["package"] = words[index + 1]
        elif word.startswith("--package="):
            options["package"] = word.split("=", 1)[1]
        elif word in ("--no-install-workspace", "--all-packages"):
            options[word[2:]] = True
    return options


def _environment(dockerfile: Dockerfile, stage: int, before: int) -> tuple[str, str]:
    """(WORKDIR, project environment) in force in `stage` before instruction `before`."""
    workdir, environment = "/", ""
    for index, instruction in dockerfile.stage_instructions(stage):
        if index >= before:
            break
        if instruction.keyword == "WORKDIR":
            path = instruction.body.strip().strip("\"'")
            workdir = path if path.startswith("/") else posixpath.join(workdir, path)
        elif instruction.keyword == "ENV":
            match = re.search(r"\bUV_PROJECT_ENVIRONMENT[= ]\s*(\"[^\"]*\"|'[^']*'|\S+)", instruction.body)
            if match:
                environment = match.group(1).strip("\"'")
    return workdir, environment or posixpath.join(workdir, ".venv")


def rewrite_dockerfile(
    text: str, grouping: Grouping, *, member_paths: dict[str, str], workspace: bool
) -> Rewrite:
    """Rewrite `text` to install `grouping`'s groups in their own layers.

    `member_paths` maps workspace members to their folders relative to the
    project (the root project is `.`); `workspace` says whether uv.lock holds
    several members (their own packages are then left to `uv sync`).
    """
    if not grouping.groups:
        raise UvscopeError("no dependency group to give a layer of its own (use --group NAME=PKG,... or --suggest)")
    dockerfile = parse_dockerfile(text)
    sync_index = next(
        (i for i, ins in enumerate(dockerfile.instructions) if ins.keyword == "RUN" and _UV_SYNC.search(ins.body)), None
    )
    if sync_index is None:
        raise UvscopeError("the Dockerfile runs no `uv sync`: nothing to split (uvscope rewrites uv project Dockerfiles)")
    sync = dockerfile.instructions[sync_index]
    stage = dockerfile.stages[sync.stage]
    member_dirs = {path.split("/")[0] for path in member_paths.values() if path not in (".", "")}
    member_dirs |= {"src"}
    stage_instructions = dockerfile.stage_instructions(sync.stage)
    insert_at = next(
        (i for i, ins in stage_instructions[1:] if i <= sync_index and (i == sync_index or _copies_project(ins, member_dirs))),
        sync_index,
    )
    notes: list[str] = []
    options = _sync_options(sync.body)
    workdir, environment = _environment(dockerfile, sync.stage, insert_at)

    # The export stage: the install stage's base, how it gets uv, its ARG/ENV, the project's metadata.
    export = ["# uvscope: export each dependency group's pins; a group's layer is rebuilt only when they change\n"]
    export.append(f"FROM {stage.base} AS {EXPORT_STAGE}\n")
    provided = False
    for index, instruction in stage_instructions[1:]:
        if index >= sync_index:
            break
        if instruction.keyword in ("ARG", "ENV") or _provides_uv(instruction):
            export.extend(dockerfile.lines[instruction.start : instruction.end])
            provided = provided or _provides_uv(instruction)
    if not provided:
        notes.append(f"no instruction installs uv before `uv sync`: the export stage expects {stage.base} to have uv")
    export.append(f"WORKDIR {EXPORT_DIR}/project\n")
    files = ["pyproject.toml", "uv.lock"]
    export.append("COPY pyproject.toml uv.lock ./\n")
    for member, path in sorted(member_paths.items()):
        if path not in (".", ""):
            export.append(f"COPY {path}/pyproject.toml {path}/pyproject.toml\n")
            files.append(f"{path}/pyproject.toml")
    flags = ["--frozen", "--no-header", "--no-annotate", "--no-emit-project"]
    if workspace:
        flags.append("--no-emit-workspace")
    if isinstance(options.get("package"), str):
        flags += ["--package", str(options["package"])]
    commands = [
        f"uv export {' '.join(flags)} --only-group {group.name} -o {EXPORT_DIR}/{group.name}.txt" for group in grouping.groups
    ]
    export.append("RUN " + " \\\n && ".join(commands) + "\n\n")

    # In the install stage: one COPY + RUN per group, bottom first, before anything reads the project.
    mounts = " ".join(flag for flag in sync.flags if flag.startswith("--mount=type=cache"))
    install = []
    for group in grouping.groups:
        install.append(f"# uvscope: dependency group {group.name!r} in its own layer, reused while its pins do not change\n")
        install.append(f"COPY --from={EXPORT_STAGE} {EXPORT_DIR}/{group.name}.txt {EXPORT_DIR}/{group.name}.txt\n")
        run = f"RUN {mounts + ' ' if mounts else ''}uv venv --allow-existing {environment} \\\n"
        run += f" && uv pip install --python {environment} --no-deps -r {EXPORT_DIR}/{group.name}.txt\n"
        install.append(run)

    lines = list(dockerfile.lines)
    insert_line = dockerfile.instructions[insert_at].start
    from_line = dockerfile.instructions[stage.instruction].start
    # Insert from the bottom up so earlier line numbers stay valid.
    lines[insert_line:insert_line] = install
    lines[from_line:from_line] = export
    new_text = "".join(lines)
    in_place = True
    copies_venv = [
        ins
        for ins in dockerfile.instructions
        if ins.stage > sync.stage
        and ins.keyword == "COPY"
        and ins.flag("from") in (stage.name, str(stage.index))
        and any(".venv" in s or s.rstrip("/") == environment for s in _sources(ins))
    ]
    if copies_venv:
        in_place = False
        notes.append(
            "a later stage copies the whole environment from the install stage in one COPY, so that layer still holds "
            "every package: the groups are cached in the builder but the runtime layer is re-shipped whole. "
            "Written beside the Dockerfile for review; install the groups in the runtime stage to keep them cached there."
        )
    notes.append(f"groups installed into {environment} (the environment `uv sync` uses) before the project files are copied")
    return Rewrite(new_text, in_place, tuple(notes))
