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
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from functools import cached_property

from ..errors import UvscopeError
from .docker_stages import UV_SYNC, SyncStep, context_at, copy_sources, covers, find_syncs
from .dockerfile import Dockerfile, Instruction, Stage, parse_dockerfile
from .grouping import Grouping

EXPORT_STAGE = "uvscope-export"
GROUP_STAGE = "uvscope-group-{}"
REST_STAGE = "uvscope-rest"
EXPORT_DIR = "/uvscope"
BEGIN = "# uvscope:begin"
END = "# uvscope:end"
ORIGINAL = "# uvscope:original "
_BEGIN_LINE = BEGIN + " (written by `uvscope optimize`; a re-run replaces everything down to uvscope:end)"
_PROJECT_FILES = {"pyproject.toml", "uv.lock", ".", "./", "*"}
_LEGACY_COMMENT = re.compile(r"^\s*# uvscope: ")


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


# --- recognising and removing what uvscope wrote before --------------------------------------------


def strip_generated(text: str) -> tuple[str, bool]:
    """The Dockerfile as the user wrote it: uvscope's blocks removed, replaced lines restored.

    Also removes what uvscope 0.1 wrote (an `uvscope-export` stage and
    `# uvscope:` commented install steps). Returns (text, whether anything was removed).
    """
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    inside = False
    found = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise UvscopeError(f"Dockerfile line {number}: a uvscope block starts inside another; fix it by hand")
            inside = found = True
            continue
        if inside:
            if stripped.startswith(END):
                inside = False
            elif stripped.startswith(ORIGINAL.strip()):
                ending = line[len(line.rstrip("\r\n")) :]
                out.append(line.lstrip()[len(ORIGINAL) :].rstrip("\r\n") + ending)
            continue
        out.append(line)
    if inside:
        raise UvscopeError("the Dockerfile has a `# uvscope:begin` line without its `# uvscope:end`; fix it by hand")
    text = "".join(out)
    legacy = _strip_legacy(text)
    return legacy, found or legacy != text


def _strip_legacy(text: str) -> str:
    """Remove uvscope 0.1's export stage and group steps (written without block markers)."""
    if EXPORT_STAGE not in text:
        return text
    dockerfile = parse_dockerfile(text)
    drop: set[int] = set()
    for stage in dockerfile.stages:
        if stage.name.lower() == EXPORT_STAGE:
            for _, instruction in dockerfile.stage_instructions(stage.index):
                drop.update(range(instruction.start, instruction.end))
    previous_copy = False
    for instruction in dockerfile.instructions:
        if instruction.keyword == "COPY" and (instruction.flag("from") or "").lower() == EXPORT_STAGE:
            drop.update(range(instruction.start, instruction.end))
            previous_copy = True
        elif previous_copy and instruction.keyword == "RUN" and f"{EXPORT_DIR}/" in instruction.script():
            drop.update(range(instruction.start, instruction.end))
            previous_copy = False
        else:
            previous_copy = False
    kept = []
    for number, line in enumerate(dockerfile.lines):
        if number in drop or _LEGACY_COMMENT.match(line):
            continue
        if not line.strip() and number - 1 in drop:
            continue  # 0.1 ended its export stage with a blank line
        kept.append(line)
    return "".join(kept)


# --- the shape of the build ------------------------------------------------------------------------


@dataclass(frozen=True)
class _EnvironmentCopy:
    """A `COPY --from=<builder>` in the final image's stages that brings the environment."""

    index: int
    instruction: Instruction
    source_stage: Stage
    destination_environment: str


@dataclass(frozen=True)
class BuildShape:
    """How the final image gets the environment `uv sync` builds."""

    dockerfile: Dockerfile
    sync: SyncStep
    final: Stage
    copies: tuple[_EnvironmentCopy, ...]
    """Empty when the final stage derives from the install stage (its layers are the final image's)."""

    @property
    def multi_stage(self) -> bool:
        return bool(self.copies)


def _refuse_without_sync(dockerfile: Dockerfile) -> UvscopeError:
    scripts = " ".join(ins.script() for ins in dockerfile.instructions if ins.keyword == "RUN")
    if re.search(r"\bpip3?\s+install\b[^&;|]*(-r|--requirement)\b", scripts):
        how = "installs its dependencies with `pip install -r` (a requirements file), not `uv sync`"
    elif re.search(r"\buv\s+pip\s+install\b", scripts):
        how = "installs its dependencies with `uv pip install`, not `uv sync` from uv.lock"
    elif re.search(r"\bpoetry\s+install\b|\bpipenv\b|\bpdm\s+(install|sync)\b", scripts):
        how = "installs its dependencies with another tool, not `uv sync`"
    else:
        how = "runs no `uv sync`"
    return UvscopeError(
        f"the Dockerfile {how}: uvscope rewrites Dockerfiles that install the project with `uv sync` from uv.lock "
        "(e.g. `COPY pyproject.toml uv.lock ./` then `RUN uv sync --frozen --no-install-project`)"
    )


@dataclass(frozen=True)
class ProjectDockerfile:
    """A project's Dockerfile, parsed once for planning, each reading when first asked for.

    `current` is the file as it builds today (uvscope's groups included: the
    rebuild preview's "today"); `user` is the file as the user wrote it
    (uvscope's blocks removed: what a rewrite starts from). A reading that
    fails raises its error each time it is asked for, so callers decide
    where a broken Dockerfile matters.
    """

    text: str

    @cached_property
    def current(self) -> Dockerfile:
        """The file as it is."""
        return parse_dockerfile(self.text)

    @cached_property
    def _stripped(self) -> tuple[str, bool]:
        return strip_generated(self.text)

    @property
    def replaced(self) -> bool:
        """Whether the file holds what uvscope wrote before (removed from `user`)."""
        return self._stripped[1]

    @cached_property
    def user(self) -> Dockerfile:
        """The file with uvscope's blocks removed and the lines they replaced restored."""
        original, replaced = self._stripped
        return parse_dockerfile(original) if replaced else self.current

    @cached_property
    def syncs(self) -> list[SyncStep]:
        """Every `uv sync` of `user`, in order."""
        return find_syncs(self.user)

    @cached_property
    def shape(self) -> BuildShape:
        """How the final image of `user` gets the environment `uv sync` builds."""
        return analyse_shape(self.user)


def analyse_shape(dockerfile: Dockerfile) -> BuildShape:
    """Find the `uv sync` whose environment reaches the final image, and how it gets there."""
    syncs = find_syncs(dockerfile)
    if not syncs:
        raise _refuse_without_sync(dockerfile)
    final = dockerfile.stages[-1]
    final_chain = dockerfile.ancestors(final)
    for sync in syncs:
        if sync.stage in final_chain:
            return BuildShape(dockerfile, sync, final, ())
        copies = []
        for stage in final_chain:
            for index, instruction in dockerfile.stage_instructions(stage.index)[1:]:
                reference = instruction.flag("from")
                if instruction.keyword not in ("COPY", "ADD") or reference is None:
                    continue
                source_stage = dockerfile.find_stage(reference, stage.index)
                if source_stage is None or sync.stage not in dockerfile.ancestors(source_stage):
                    continue
                context = context_at(dockerfile, stage, index)
                sources, destination = copy_sources(instruction)
                sources, destination = [context.expand(s) for s in sources], context.expand(destination)
                for source in sources:
                    if covers(source, sync.environment):
                        copies.append(
                            _EnvironmentCopy(
                                index, instruction, source_stage, _map_path(source, destination, sync.environment, context.workdir)
                            )
                        )
                        break
        if copies:
            return BuildShape(dockerfile, sync, final, tuple(copies))
    sync = syncs[0]
    stage_label = sync.stage.name or f"#{sync.stage.index}"
    raise UvscopeError(
        f"the final image neither derives from stage {stage_label!r} nor copies its environment {sync.environment} "
        "(uvscope rewrites a builder whose final stage is `FROM builder` or copies `/app` or the `.venv` from it)"
    )


def _map_path(source: str, destination: str, path: str, workdir: str) -> str:
    """Where `path` (inside the copied `source` folder) lands when copied to `destination`."""
    source = posixpath.normpath(source)
    destination = destination if destination.startswith("/") else posixpath.join(workdir, destination)
    relative = posixpath.relpath(path, source) if source != "/" else path.lstrip("/")
    return posixpath.normpath(posixpath.join(destination, relative))


def _copies_project(instruction: Instruction, member_dirs: set[str], dockerfile: Dockerfile | None = None) -> bool:
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
            _copies_project(step, member_dirs) or (step.keyword == "RUN" and _binds_context(step))
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


def _provides_uv(instruction: Instruction) -> bool:
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


_PYTHON_INSTALL_ANY = re.compile(r"(?:^|[\s;&|(])uv\s+python\s+install\b")
_PYTHON_INSTALL = re.compile(r"uv\s+python\s+install(\s+-\S+)*(\s+[^-\s]\S*)+(\s+-\S+)*")


def _installs_managed_python(instruction: Instruction) -> bool:
    """A RUN that only installs uv-managed Pythons it names (`uv python install 3.12`), reading nothing
    from the context: the groups' `uv venv` needs that interpreter (the one `uv sync` will use), else it
    downloads the newest one `requires-python` allows, or fails where downloads are off. A bare
    `uv python install` reads `.python-version` from the project's files and stays where it is (`_Writer.late_python`)."""
    if instruction.keyword != "RUN" or _binds_context(instruction) or instruction.heredocs:
        return False
    commands = [c.strip() for c in re.split(r"&&|;|\n", instruction.script().replace("\\\n", " ")) if c.strip()]
    return bool(commands) and all(_PYTHON_INSTALL.fullmatch(" ".join(c.split())) for c in commands)


def _uv_installed_in(instruction: Instruction) -> list[str]:
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


def _binds_context(instruction: Instruction) -> bool:
    return any(
        flag.startswith("--mount=") and "from=" not in flag and ("type=bind" in flag or "type=" not in flag) for flag in instruction.flags
    )


def _insertion_point(shape: BuildShape, member_dirs: set[str]) -> int:
    """The first instruction of the install stage that reads the project's files (or the sync)."""
    dockerfile, sync = shape.dockerfile, shape.sync
    for index, instruction in dockerfile.stage_instructions(sync.stage.index)[1:]:
        if (
            index >= sync.index
            or _copies_project(instruction, member_dirs, dockerfile)
            or (instruction.keyword == "RUN" and _binds_context(instruction))
        ):
            return index
    return sync.index


def _project_copied_in_parent(shape: BuildShape, member_dirs: set[str]) -> Stage | None:
    dockerfile = shape.dockerfile
    for ancestor in dockerfile.ancestors(shape.sync.stage)[1:]:
        for _, instruction in dockerfile.stage_instructions(ancestor.index)[1:]:
            if _copies_project(instruction, member_dirs):
                return ancestor
    return None


# --- writing ---------------------------------------------------------------------------------------


def _newline(text: str) -> str:
    return "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"


def _shell_words(words: list[str]) -> str:
    return " ".join(word if re.fullmatch(r"[\w@%+=:,./${}*-]+", word) else shlex.quote(word) for word in words)


def _copy_line(flags: list[str], sources: list[str], destination: str) -> str:
    if any(re.search(r"\s", item) for item in [*sources, destination]):
        return "COPY " + " ".join(flags + [json.dumps([*sources, destination])])
    return "COPY " + " ".join(flags + sources + [destination])


@dataclass(frozen=True)
class _Writer:
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
        return [_BEGIN_LINE + self.nl, *lines, END + self.nl]

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
        for group in self.grouping.groups:
            lines.append(f"# uvscope: a stage that holds only the environment of group {group.name!r}{nl}")
            lines.append(f"{self.from_line} AS {GROUP_STAGE.format(group.name)}{nl}")
            lines.extend(self.prefix)
            lines.extend(self.install_steps(group.name))
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

    def final_copies(self, copy: _EnvironmentCopy, rest_name: str) -> list[str]:
        """The user's one `COPY --from=builder` becomes a COPY per group, then the rest (the original kept as a comment)."""
        instruction = copy.instruction
        flags = [flag for flag in instruction.flags if not flag.startswith("--from=")]
        lines = [ORIGINAL + line.rstrip("\r\n") + self.nl for line in self.dockerfile.source(instruction).splitlines()]
        for group in self.grouping.groups:
            lines.append(
                _copy_line([f"--from={GROUP_STAGE.format(group.name)}", *flags], [self.environment], copy.destination_environment) + self.nl
            )
        sources, destination = copy_sources(instruction)
        lines.append(_copy_line([f"--from={rest_name}", *flags], sources, destination) + self.nl)
        return self.block(lines)


def _export_flags(sync: SyncStep, *, workspace: bool, package: str | None, emit_index_url: bool) -> list[str]:
    flags = ["--frozen", "--no-header", "--no-annotate", "--no-emit-project"]
    if workspace:
        flags.append("--no-emit-workspace")
    member = sync.package or package
    if member:
        flags += ["--package", member]
    if emit_index_url:
        flags.append("--emit-index-url")
    return flags


def _writer(dockerfile: Dockerfile, shape: BuildShape, grouping: Grouping, insert_at: int) -> _Writer:
    nl = _newline("".join(dockerfile.lines))
    sync = shape.sync
    steps = dockerfile.stage_instructions(sync.stage.index)[1:]
    prefix = [dockerfile.source(instruction).rstrip("\r\n") + nl for index, instruction in steps if index < insert_at]
    late_setup = [
        dockerfile.source(instruction).rstrip("\r\n") + nl
        for index, instruction in steps
        if insert_at <= index < sync.index and (_provides_uv(instruction) or _installs_managed_python(instruction))
    ]
    inline_setup = _uv_installed_in(dockerfile.instructions[sync.index])
    prefix += late_setup + [f"RUN {command}{nl}" for command in inline_setup]
    late_python = any(
        insert_at <= index <= sync.index and _PYTHON_INSTALL_ANY.search(instruction.script()) and not _installs_managed_python(instruction)
        for index, instruction in steps
        if instruction.keyword == "RUN"
    )
    return _Writer(dockerfile, shape, grouping, nl, tuple(prefix), tuple(late_setup), tuple(inline_setup), late_python)


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
    parent = _project_copied_in_parent(shape, member_dirs)
    if parent is not None:
        raise UvscopeError(
            f"stage {parent.name or parent.index!r} copies the project's files before `uv sync` runs in a stage derived "
            "from it, so every dependency layer after it is rebuilt on a version bump; copy pyproject.toml and uv.lock "
            "in the stage that runs `uv sync`"
        )
    insert_at = _insertion_point(shape, member_dirs)
    writer = _writer(dockerfile, shape, grouping, insert_at)
    flags = _export_flags(shape.sync, workspace=workspace, package=package, emit_index_url=emit_index_url)
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
    parsed = parse_dockerfile(new_text)  # what uvscope writes must parse again
    return Rewrite(
        text=new_text,
        notes=tuple(notes),
        shape="multi-stage" if shape.multi_stage else "single-stage",
        environment=shape.sync.environment,
        final_environment=final_environment,
        replaced_previous=replaced,
        parsed=parsed,
    )
