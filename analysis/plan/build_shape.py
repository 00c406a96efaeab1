"""How a Dockerfile's final image gets the environment `uv sync` builds, and the refusal when it does not.

`analyse_shape` finds the `uv sync` whose environment reaches the final
image: the final stage derives from its stage (single stage, `FROM builder`),
or copies the environment from it (`COPY --from=builder /app /app`, the
multistage shape). `ProjectDockerfile` is a project's Dockerfile parsed once,
each reading (as it is, as the user wrote it, its syncs, its shape) worked
out when first asked for.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import cached_property

from ..errors import UvscopeError
from .docker_stages import SyncStep, context_at, copy_sources, covers, find_syncs
from .dockerfile import Dockerfile, Instruction, Stage, parse_dockerfile
from .rewrite_markers import strip_generated


@dataclass(frozen=True)
class EnvironmentCopy:
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
    copies: tuple[EnvironmentCopy, ...]
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
    target: str = ""
    """The stage the image is built from (`docker build --target`; "": the last)."""

    @cached_property
    def current(self) -> Dockerfile:
        """The file as it is."""
        return parse_dockerfile(self.text, self.target)

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
        return parse_dockerfile(original, self.target) if replaced else self.current

    @cached_property
    def syncs(self) -> list[SyncStep]:
        """Every `uv sync` of `user` the image is built with, in order (`image_syncs`)."""
        return image_syncs(self.user)

    @cached_property
    def shape(self) -> BuildShape:
        """How the final image of `user` gets the environment `uv sync` builds."""
        return analyse_shape(self.user)


def stages_needed(dockerfile: Dockerfile, final: Stage) -> set[int]:
    """The stages `docker build --target` builds for `final`: its ancestors and every stage they copy or mount from."""
    needed: set[int] = set()
    pending = [final]
    while pending:
        stage = pending.pop()
        if stage.index in needed:
            continue
        needed.add(stage.index)
        parent = dockerfile.parent(stage)
        if parent is not None:
            pending.append(parent)
        for _, instruction in dockerfile.stage_instructions(stage.index)[1:]:
            references = [instruction.flag("from")] if instruction.keyword in ("COPY", "ADD") else []
            references += re.findall(r"--mount=[^ ]*?\bfrom=([^, ]+)", " ".join(instruction.flags))
            for reference in references:
                found = dockerfile.find_stage(reference, stage.index) if reference else None
                if found is not None:
                    pending.append(found)
    return needed


def image_syncs(dockerfile: Dockerfile) -> list[SyncStep]:
    """Every `uv sync` of `dockerfile`, in order; with a `--target`, only those of the stages it builds."""
    syncs = find_syncs(dockerfile)
    if not dockerfile.target:
        return syncs
    needed = stages_needed(dockerfile, dockerfile.final)
    return [sync for sync in syncs if sync.stage.index in needed]


def analyse_shape(dockerfile: Dockerfile) -> BuildShape:
    """Find the `uv sync` whose environment reaches the final image, and how it gets there."""
    syncs = image_syncs(dockerfile)
    final = dockerfile.final
    if not syncs:
        raise _refuse_without_sync(dockerfile)
    final_chain = dockerfile.ancestors(final)
    parts: dict[int, list[str]] = {}
    """For each sync, the folders inside its environment the final image copies without the whole of it."""
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
                            EnvironmentCopy(
                                index, instruction, source_stage, _map_path(source, destination, sync.environment, context.workdir)
                            )
                        )
                        break
                    if source.startswith("/") and covers(sync.environment, source):
                        parts.setdefault(sync.index, []).append(source)
        if copies:
            return BuildShape(dockerfile, sync, final, tuple(copies))
    # the first sync the final image copies parts of (another stage's sync may come first), else the first sync
    sync = next((sync for sync in syncs if parts.get(sync.index)), syncs[0])
    stage_label = sync.stage.name or f"#{sync.stage.index}"
    if parts.get(sync.index):
        shown = ", ".join(parts[sync.index][:3]) + (", …" if len(parts[sync.index]) > 3 else "")
        raise UvscopeError(
            f"the final image copies parts of the environment {sync.environment} from stage {stage_label!r} ({shown}), "
            f"not the whole of it: uvscope rewrites a final stage that is `FROM {stage_label}` or copies the whole environment "
            f"(`COPY --from={stage_label} {sync.environment} {sync.environment}`)"
        )
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
