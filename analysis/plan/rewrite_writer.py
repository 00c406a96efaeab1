"""The lines a rewrite writes: the export stage, each group's install steps, the group and rest stages, the final copies.

`writer_for` gathers what every generated line of one rewrite shares (the
file's line ending and escape character, the RUN flags carried from the
user's `uv sync`, the install stage's own steps before the groups); each of
`Writer`'s methods returns one block, between uvscope's markers.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass

from .build_shape import BuildShape, EnvironmentCopy
from .docker_stages import SyncStep, copy_sources, covers, segments
from .dockerfile import Dockerfile, Stage
from .grouping import Grouping
from .install_stage import PYTHON_INSTALL_ANY, installs_managed_python, provides_uv, uv_installed_in
from .rewrite_markers import BEGIN_LINE, END, EXPORT_DIR, EXPORT_STAGE, GROUP_STAGE, ORIGINAL, REST_STAGE


def _newline(text: str) -> str:
    return "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"


def _shell_words(words: list[str]) -> str:
    return " ".join(word if re.fullmatch(r"[\w@%+=:,./${}*-]+", word) else shlex.quote(word) for word in words)


REMOVAL_COMMANDS = {"rm", "rmdir", "true", ":", "cd"}
SETTING_KEYWORDS = {"ENV", "ARG", "LABEL", "WORKDIR", "USER", "SHELL"}


def _removes_only(keyword: str, script: str) -> bool:
    """A step that only deletes files (`rm -rf`, `find ... -delete`) or only sets the stage's settings: replayed
    on a group's stage, it removes the same files from the group as from the user's stage and adds nothing."""
    if keyword in SETTING_KEYWORDS:
        return True
    if keyword != "RUN":
        return False
    for segment in segments(script):
        words = segment.split()
        if not words:
            continue
        if words[0] == "find" and "-delete" in words and "-exec" not in words and "-execdir" not in words:
            continue
        if words[0] not in REMOVAL_COMMANDS:
            return False
    return True


def _rebased_excludes(flags: list[str], source: str, environment: str) -> list[str]:
    """The user's `--exclude=` patterns, which are relative to the COPY's source (`/app`), for a COPY whose
    source is the environment inside it (`/app/.venv`): `.venv/lib/...` becomes `lib/...`; a pattern naming
    a path outside the environment is dropped (it matches nothing there), one starting with `**` kept as is."""
    relative = posixpath.relpath(environment, posixpath.normpath(source)) if source.startswith("/") else "."
    kept = []
    for flag in flags:
        if not flag.startswith("--exclude="):
            kept.append(flag)
            continue
        pattern = flag[len("--exclude=") :]
        pattern = pattern[2:] if pattern.startswith("./") else pattern
        if relative == ".":
            kept.append(flag)
        elif pattern.startswith(relative + "/"):
            kept.append("--exclude=" + pattern[len(relative) + 1 :])
        elif pattern.startswith("**"):
            kept.append(flag)
    return kept


def _copy_line(flags: list[str], sources: list[str], destination: str) -> str:
    if any(re.search(r"\s", item) for item in [*sources, destination]):
        return "COPY " + " ".join(flags + [json.dumps([*sources, destination])])
    return "COPY " + " ".join(flags + sources + [destination])


@dataclass(frozen=True)
class Writer:
    """What every generated line of one rewrite shares: line ending, escape character, the RUN flags
    carried from the user's `uv sync`, the install stage's own steps, where the environment is."""

    dockerfile: Dockerfile
    shape: BuildShape
    grouping: Grouping
    nl: str
    prefix: tuple[str, ...]
    """The install stage's steps before the groups (shared by BuildKit with every generated stage)."""
    late_setup: tuple[str, ...]
    """Steps after the project's files that put uv on the PATH or install the uv-managed Python the
    environment uses: they come along before the groups."""
    inline_setup: tuple[str, ...]
    """What the `uv sync` RUN itself does first to install uv."""
    late_python: bool = False
    """A `uv python install` that reads the project's files (`.python-version`) runs only after the groups:
    their `uv venv` installs the same request first (`.python-version`'s, else `requires-python`), which
    `UV_PYTHON_DOWNLOADS=manual` allows where it refuses `uv venv`'s own download."""

    @property
    def environment(self) -> str:
        return self.shape.sync.environment

    @property
    def run(self) -> str:
        mounts = " ".join(self.shape.sync.carried_flags)
        return f"RUN {mounts + ' ' if mounts else ''}"

    @property
    def from_line(self) -> str:
        stage = self.shape.sync.stage
        flags = " ".join(stage.flags)
        return f"FROM {flags + ' ' if flags else ''}{stage.base}"

    def stage_ref(self, stage: Stage) -> str:
        """How a generated line names a user's stage: its name in lower case (BuildKit matches stage names
        case-insensitively, and an older frontend reads `FROM Build` as an image), or its index after
        uvscope's stages were inserted before it."""
        return stage.name.lower() if stage.name else str(self.shifted(stage.index))

    def shifted(self, index: int) -> int:
        """A user's stage index once the export stage (before the install stage) and the group and rest
        stages (before the first stage that copies the environment) are inserted."""
        shift = 1 if index >= self.shape.sync.stage.index else 0
        if self.shape.multi_stage and index >= self.first_copier:
            shift += len(self.grouping.groups) + len({copy.source_stage.index for copy in self.shape.copies})
        return index + shift

    @property
    def first_copier(self) -> int:
        return min(copy.instruction.stage for copy in self.shape.copies) if self.shape.copies else len(self.dockerfile.stages)

    def renumbered(self, skip: set[int]) -> list[tuple[int, int, list[str]]]:
        """The user's numeric stage references (`COPY --from=0`, `--mount=from=0`) that uvscope's stages
        shift, rewritten inside uvscope's markers (the original kept, so a re-run restores it)."""
        edits = []
        pattern = re.compile(r"(--from=|(?<=[=,])from=)(\d+)\b")
        for position, instruction in enumerate(self.dockerfile.instructions):
            if position in skip or instruction.keyword not in ("COPY", "ADD", "RUN"):
                continue
            source = self.dockerfile.source(instruction)
            head = source.split("\n", 1)[0] if instruction.heredocs else source
            changed = pattern.sub(lambda m: m.group(1) + str(self.shifted(int(m.group(2)))), head)
            if changed == head:
                continue
            new = changed + source[len(head) :]
            lines = [ORIGINAL + line.rstrip("\r\n") + self.nl for line in source.splitlines()]
            lines += [line.rstrip("\r\n") + self.nl for line in new.splitlines()]
            edits.append((instruction.start, instruction.end, self.block(lines)))
        return edits

    def block(self, lines: list[str]) -> list[str]:
        """`lines` between uvscope's begin and end markers."""
        return [BEGIN_LINE + self.nl, *lines, END + self.nl]

    def export_stage(self, member_paths: dict[str, str], flags: list[str]) -> list[str]:
        """A stage that writes each group's pins; a later group leaves out what an earlier one installs."""
        nl = self.nl
        lines = [f"# uvscope: each dependency group's pinned requirements, from uv.lock{nl}"]
        lines.append(f"{self.from_line} AS {EXPORT_STAGE}{nl}")
        lines.extend(self.prefix)
        lines += [f"USER root{nl}", f"WORKDIR {EXPORT_DIR}/project{nl}", f"COPY pyproject.toml uv.lock .python-versio[n] ./{nl}"]
        for _, path in sorted(member_paths.items()):
            if path not in (".", ""):
                lines.append(f"COPY {path}/pyproject.toml {path}/pyproject.toml{nl}")
        commands = [f'mkdir -p {EXPORT_DIR}/bin && cp "$(command -v uv)" {EXPORT_DIR}/bin/uv'] if self.inline_setup else []
        commands.append(
            f"(head -n 1 .python-version 2>/dev/null || sed -n 's/^requires-python = \"\\(.*\\)\"$/\\1/p' uv.lock) > {EXPORT_DIR}/python"
        )
        earlier: list[str] = []
        for group in self.grouping.groups:
            without = "".join(
                f" $(sed -n 's/^\\([A-Za-z0-9][A-Za-z0-9._-]*\\).*/--no-emit-package \\1/p' {EXPORT_DIR}/{name}.txt)" for name in earlier
            )
            commands.append(f"uv export {_shell_words(flags)} --only-group {group.name}{without} -o {EXPORT_DIR}/{group.name}.txt")
            earlier.append(group.name)
        lines.append(self.run + f" {self.dockerfile.escape}{nl} && ".join(commands) + nl)
        return self.block(lines)

    def install_steps(self, group: str, borrowed_uv: bool = False) -> list[str]:
        """Copy a group's pins in and install them into the environment, creating it only if no
        interpreter is there yet (an interpreter prefix such as /usr/local is never turned into a venv)."""
        nl, environment, sync = self.nl, self.environment, self.shape.sync
        uv = "/uvscope-bin/uv" if borrowed_uv else "uv"
        mount = f"--mount=from={EXPORT_STAGE},source={EXPORT_DIR}/bin,target=/uvscope-bin " if borrowed_uv else ""
        if sync.python_raw and "$" in sync.python_raw:
            python = f'py="{sync.python_raw}"'  # an ARG: in scope here when declared before the groups
        elif sync.python:
            python = f"py={shlex.quote(sync.python)}"
        else:
            python = f'py="${{UV_PYTHON:-$(cat {EXPORT_DIR}/python)}}"'
        install = f'{uv} python install ${{py:+"$py"}} && ' if self.late_python else ""
        venv = f'[ -e {environment}/bin/python ] || {{ {python}; {install}{uv} venv ${{py:+--python "$py"}} {environment}; }}'
        if sync.umask:  # the files the user's sync writes get its umask: the group's files too
            venv = f"umask {sync.umask}; {venv}"  # an octal mode (docker_stages); `;`: it never decides the branch
        # The user's `uv sync --no-cache` keeps uv's cache (the unpacked wheels) out of its layer: the group's
        # install does the same (`UV_NO_CACHE` in the environment applies to both already).
        no_cache = "--no-cache" in sync.options or "-n" in sync.options
        return [
            f"COPY --from={EXPORT_STAGE} {EXPORT_DIR}/python {EXPORT_DIR}/{group}.txt {EXPORT_DIR}/{nl}",
            f"{self.run}{mount}{venv} {self.dockerfile.escape}{nl}"
            f" && {uv} pip install{' --no-cache' if no_cache else ''} --python {environment} --no-deps -r {EXPORT_DIR}/{group}.txt{nl}",
        ]

    def install_block(self) -> list[str]:
        """In the install stage: each group's layer, bottom first, before anything reads the project.
        Where the user's RUN installs uv itself (and will again), uv is borrowed from the export stage."""
        lines = list(self.late_setup)
        for group in self.grouping.groups:
            lines.append(f"# uvscope: dependency group {group.name!r} in its own layer, reused while its pins do not change{self.nl}")
            lines.extend(self.install_steps(group.name, borrowed_uv=bool(self.inline_setup)))
        return self.block(lines)

    def group_and_rest_stages(self) -> tuple[list[str], dict[int, str]]:
        """A stage per group holding only its environment, and the builder without the groups."""
        nl, environment = self.nl, self.environment
        lines: list[str] = []
        replayed = self.replayed_removals()
        for group in self.grouping.groups:
            lines.append(f"# uvscope: a stage that holds only the environment of group {group.name!r}{nl}")
            lines.append(f"{self.from_line} AS {GROUP_STAGE.format(group.name)}{nl}")
            lines.extend(self.prefix)
            lines.extend(self.install_steps(group.name))
            if replayed:
                lines.append(
                    f"# uvscope: what stage {self.stage_ref(self.shape.copies[0].source_stage)} removes from the environment, removed from the group too{nl}"
                )
                lines.extend(replayed)
        sources = sorted({copy.source_stage.index for copy in self.shape.copies})
        rest_names = {}
        lists = " ".join(f"-r {EXPORT_DIR}/{group.name}.txt" for group in self.grouping.groups)
        orphans = (
            f"find {environment} -path '*/__pycache__/*.pyc' | while read -r f; do "
            f'm="${{f##*/}}"; [ -e "${{f%/__pycache__/*}}/${{m%%.*}}.py" ] || rm -f "$f"; done'
        )
        for index in sources:
            source = self.dockerfile.stages[index]
            name = REST_STAGE if len(sources) == 1 else f"{REST_STAGE}-{source.ref.lower()}"
            rest_names[index] = name
            lines.append(f"# uvscope: stage {self.stage_ref(source)} without the groups' distributions (their files and bytecode){nl}")
            lines.append(f"FROM {self.stage_ref(source)} AS {name}{nl}")
            lines.append(f"{self.run}uv pip uninstall --python {environment} {lists} {self.dockerfile.escape}{nl} && {orphans}{nl}")
        return self.block(lines), rest_names

    def replayed_removals(self) -> list[str]:
        """The steps between the install stage and the one stage the final image copies the environment from
        (`FROM builder AS app-rest` + `RUN rm -rf .venv/.../torch`, a built-in frontend's `COPY --exclude`),
        when they only delete files or set the stage's settings: a group's stage takes them too, so the group's
        COPY leaves out what the user's COPY leaves out (the final stage copies those trees itself). Empty when
        the copies come from the install stage itself, from more than one stage, or through other steps."""
        sources = {copy.source_stage.index for copy in self.shape.copies}
        if len(sources) != 1:
            return []
        source = self.dockerfile.stages[sources.pop()]
        install = self.shape.sync.stage
        chain = self.dockerfile.ancestors(source)
        if install not in chain or source == install:
            return []
        steps = []
        for stage in reversed(chain[: chain.index(install)]):
            for _, instruction in self.dockerfile.stage_instructions(stage.index)[1:]:
                if instruction.heredocs or not _removes_only(
                    instruction.keyword, instruction.script() if instruction.keyword == "RUN" else ""
                ):
                    return []
                steps.append(self.dockerfile.source(instruction).rstrip("\r\n") + self.nl)
        return steps if any(step.startswith("RUN") for step in steps) else []

    def final_copies(self, copy: EnvironmentCopy, rest_name: str) -> list[str]:
        """The user's one `COPY --from=builder` becomes a COPY per group, then the rest (the original kept as a comment)."""
        instruction = copy.instruction
        flags = [flag for flag in instruction.flags if not flag.startswith("--from=")]
        lines = [ORIGINAL + line.rstrip("\r\n") + self.nl for line in self.dockerfile.source(instruction).splitlines()]
        sources, destination = copy_sources(instruction)
        # the user's excludes are relative to its source (`/app`); the group's COPY starts at the environment
        root = next((source for source in sources if covers(source, self.environment)), self.environment)
        group_flags = _rebased_excludes(flags, root, self.environment)
        for group in self.grouping.groups:
            lines.append(
                _copy_line([f"--from={GROUP_STAGE.format(group.name)}", *group_flags], [self.environment], copy.destination_environment)
                + self.nl
            )
        lines.append(_copy_line([f"--from={rest_name}", *flags], sources, destination) + self.nl)
        return self.block(lines)


def export_flags(sync: SyncStep, *, workspace: bool, package: str | None, emit_index_url: bool) -> list[str]:
    """The `uv export` flags every group's export shares (the member, the workspace's own packages left out)."""
    flags = ["--frozen", "--no-header", "--no-annotate", "--no-emit-project"]
    if workspace:
        flags.append("--no-emit-workspace")
    member = sync.package or package
    if member:
        flags += ["--package", member]
    if emit_index_url:
        flags.append("--emit-index-url")
    return flags


def writer_for(dockerfile: Dockerfile, shape: BuildShape, grouping: Grouping, insert_at: int) -> Writer:
    """The `Writer` of one rewrite whose groups go before instruction `insert_at` of the install stage."""
    nl = _newline("".join(dockerfile.lines))
    sync = shape.sync
    steps = dockerfile.stage_instructions(sync.stage.index)[1:]
    prefix = [dockerfile.source(instruction).rstrip("\r\n") + nl for index, instruction in steps if index < insert_at]
    late_setup = [
        dockerfile.source(instruction).rstrip("\r\n") + nl
        for index, instruction in steps
        if insert_at <= index < sync.index and (provides_uv(instruction) or installs_managed_python(instruction))
    ]
    inline_setup = uv_installed_in(dockerfile.instructions[sync.index])
    prefix += late_setup + [f"RUN {command}{nl}" for command in inline_setup]
    late_python = any(
        insert_at <= index <= sync.index and PYTHON_INSTALL_ANY.search(instruction.script()) and not installs_managed_python(instruction)
        for index, instruction in steps
        if instruction.keyword == "RUN"
    )
    return Writer(dockerfile, shape, grouping, nl, tuple(prefix), tuple(late_setup), tuple(inline_setup), late_python)
