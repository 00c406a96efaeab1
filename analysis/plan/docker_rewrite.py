"""Rewrite a uv Dockerfile so each dependency group sits in its own cached layer of the final image.

An export stage runs `uv export --frozen --only-group G` for each group (a
later group leaves out what an earlier one installs). In the stage that runs
`uv sync`, before anything reads the project's files, each group's exported
pins are copied in and installed with `uv pip install --no-deps` in a layer
of its own: BuildKit keys a `COPY` on the copied content, so that layer is
reused while the group's own pins do not change, whatever else changes in
pyproject.toml or uv.lock. Where the final image derives from that stage
(single stage, or `FROM builder`), that is all.

Where the final image copies the environment from the builder in one
`COPY --from=builder /app /app` (the uv Docker example's multistage shape),
that one layer would still hold every package. So that `COPY` becomes one
`COPY` per group, bottom first, from a stage that holds only that group's
environment (the builder's own steps up to the group install, which BuildKit
shares with the builder), then a `COPY` of everything else from a stage
derived from the builder in which the groups' distributions are uninstalled.
The user's flags (`--chown`, `--link`), stage names, `ENV`, `USER`,
`WORKDIR` and entrypoint are kept.

Everything uvscope writes sits between `# uvscope:begin` and `# uvscope:end`
lines (a replaced instruction is kept there as a `# uvscope:original`
comment), so a re-run first restores the user's file and then rewrites it:
writing twice gives the same file as writing once.

This module is the entry point (`rewrite_dockerfile`, `Rewrite`); the parts live in
`rewrite_markers` (the names and markers uvscope writes, `strip_generated`),
`build_shape` (`ProjectDockerfile`, `analyse_shape`: how the final image gets the
environment), `install_stage` (what the install stage does before `uv sync`: where
the groups go) and `rewrite_writer` (the generated lines).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UvscopeError
from .build_shape import ProjectDockerfile
from .dockerfile import Dockerfile, parse_dockerfile
from .grouping import Grouping
from .install_stage import insertion_point, project_copied_in_parent
from .rewrite_writer import export_flags, writer_for


@dataclass(frozen=True)
class Rewrite:
    """The new Dockerfile text and what the user should know."""

    text: str
    notes: tuple[str, ...]
    shape: str
    """`single-stage` (the final image holds the install stage's layers) or `multi-stage`
    (the final image copies the environment from a builder)."""
    environment: str
    """The environment `uv sync` installs into, in the install stage."""
    final_environment: str
    """Where that environment lands in the final image."""
    replaced_previous: bool
    """The Dockerfile already held uvscope's groups; they were replaced."""
    parsed: Dockerfile = field(compare=False, repr=False)
    """`text` parsed (the rewriter checks that it parses): the rebuild preview walks it."""


def _apply_edits(dockerfile: Dockerfile, edits: list[tuple[int, int, list[str]]]) -> str:
    """Replace line spans (an insertion is an empty span), bottom up so earlier line numbers stay valid."""
    lines = list(dockerfile.lines)
    for start, end, new in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        lines[start:end] = new
    return "".join(lines)


def rewrite_dockerfile(
    source: str | ProjectDockerfile,
    grouping: Grouping,
    *,
    member_paths: dict[str, str],
    workspace: bool,
    package: str | None = None,
    emit_index_url: bool = False,
) -> Rewrite:
    """Rewrite a Dockerfile so each of `grouping`'s groups has its own layer in the final image.

    `source` is its text, or a `ProjectDockerfile` already read (its parse
    and shape are then reused across rewrites). `member_paths` maps workspace
    members to their folders relative to the project (the root project is
    `.`); `workspace` says whether uv.lock holds several members (their own
    packages are then left to `uv sync`); `package` is the member the image is
    built for, when the Dockerfile does not say.
    """
    project = ProjectDockerfile(source) if isinstance(source, str) else source
    if not grouping.groups:
        raise UvscopeError("no dependency group to give a layer of its own (use --group NAME=PKG,... or --suggest)")
    dockerfile, replaced = project.user, project.replaced
    shape = project.shape
    member_dirs = {path.split("/")[0] for path in member_paths.values() if path not in (".", "")} | {"src"}
    parent = project_copied_in_parent(shape, member_dirs)
    if parent is not None:
        raise UvscopeError(
            f"stage {parent.name or parent.index!r} copies the project's files before `uv sync` runs in a stage derived "
            "from it, so every dependency layer after it is rebuilt on a version bump; copy pyproject.toml and uv.lock "
            "in the stage that runs `uv sync`"
        )
    insert_at = insertion_point(shape, member_dirs)
    writer = writer_for(dockerfile, shape, grouping, insert_at)
    flags = export_flags(shape.sync, workspace=workspace, package=package, emit_index_url=emit_index_url)
    export_at = dockerfile.text_start(dockerfile.instructions[shape.sync.stage.instruction])
    install_at = dockerfile.text_start(dockerfile.instructions[insert_at])
    edits = [(export_at, export_at, writer.export_stage(member_paths, flags)), (install_at, install_at, writer.install_block())]
    notes: list[str] = []
    final_environment = shape.sync.environment
    if shape.multi_stage:
        stages, rest_names = writer.group_and_rest_stages()
        # Before the first stage that copies the environment: every stage it names must come earlier.
        first_copier = dockerfile.stages[min(copy.instruction.stage for copy in shape.copies)]
        stages_at = dockerfile.text_start(dockerfile.instructions[first_copier.instruction])
        edits.append((stages_at, stages_at, stages))
        for copy in shape.copies:
            edits.append((copy.instruction.start, copy.instruction.end, writer.final_copies(copy, rest_names[copy.source_stage.index])))
        final_environment = shape.copies[0].destination_environment
        builder = shape.copies[0].source_stage.ref
        notes.append(
            f"the final stage copies the environment from {builder!r}: it now copies each group from a stage "
            f"that holds only that group, then everything else from {builder!r} without the groups"
        )
    edits += writer.renumbered({copy.index for copy in shape.copies})
    notes.append(f"groups installed into {shape.sync.environment} (the environment `uv sync` uses) before the project's files are copied")
    if replaced:
        notes.append("the Dockerfile already held uvscope's groups: they were replaced, the rest of the file is as you wrote it")
    new_text = _apply_edits(dockerfile, edits)
    parsed = parse_dockerfile(new_text, dockerfile.target)  # what uvscope writes must parse again
    return Rewrite(
        text=new_text,
        notes=tuple(notes),
        shape="multi-stage" if shape.multi_stage else "single-stage",
        environment=shape.sync.environment,
        final_environment=final_environment,
        replaced_previous=replaced,
        parsed=parsed,
    )
