"""Plans over a history of changes (uv.lock's commits, or images): the steps sized as each change locked them,
their figures worked out from the Dockerfile and its revision, the history planner's suggestion and the
grouping editor's replay of a grouping."""

from __future__ import annotations

import os

from ..errors import UvscopeError
from ..packages.lockhistory import LockCommit
from ..packages.uvlock import Lock, wheel_sizes
from .build_shape import ProjectDockerfile
from .dockerfile import Dockerfile
from .grouping import Grouping, plan_layers
from .layer_plan import MAX_GROUPS, HistoryPlan, Replay, Step, replay, search, steps_from_lock_history, with_figures
from .project_build import ProjectBuild, read_project_build, rewrite_for
from .project_files import read_project_file
from .rebuild_cost import group_packages_for, recreated_in_final_image

WHEEL_RATIO = 2.5
"""About how much larger a compiled package is installed than its wheel: scales the heavy threshold for wheel sizes,
and an older lock's wheel sizes to installed ones when a package's own ratio today is unknown."""
WHEEL_SIZES = "uv.lock's wheel sizes (compressed)"
"""`OptimizePlan.sizes_from` when no image gave installed sizes."""


def sized_lock_steps(
    commits: list[LockCommit],
    lock: Lock,
    sizes: dict[str, int],
    lock_path: str,
    wheel_sized: bool = False,
    *,
    wheels: dict[str, int] | None = None,
) -> list[Step]:
    """uv.lock's history as the planner's steps, each sized by its own commit's lock (`layer_plan.sizes_then`):
    wheel sizes as they are when today's `sizes` are wheel sizes too (`wheel_sized`), else scaled to installed sizes.
    `wheels` are today's wheel sizes when the caller has them (`Lock.wheel_sizes` of the lock at `lock_path`),
    else read from `lock_path`."""
    if not commits:
        return []
    if wheel_sized:
        wheels = sizes
    elif wheels is None:
        wheels = wheel_sizes(read_project_file(lock_path).text) if os.path.isfile(lock_path) else {}
    versions = {name: ",".join(pinned) for name, pinned in lock.pins().items()}
    return steps_from_lock_history(commits, versions=versions, sizes=sizes, wheels=wheels, ratio=1.0 if wheel_sized else WHEEL_RATIO)


def dockerfile_history(
    original: ProjectDockerfile,
    revised: Dockerfile | None,
    plan: HistoryPlan,
    lock: Lock,
    sizes: dict[str, int],
    member: str,
    paths: dict[str, str],
) -> HistoryPlan:
    """`plan` with each step's bytes worked out from the Dockerfile (today) and its revision (the plan;
    None: the Dockerfile as it is), as `rebuild_cost` walks them: what each past lock change re-creates
    in the final image. `plan` as it is when the Dockerfile cannot be read."""
    member_dirs = frozenset(p for p in paths.values() if p not in (".", ""))
    groups = group_packages_for(plan_layers(plan.grouping, lock, sizes, member))
    project = sizes.get(member, 0)
    steps = [cost.step for cost in plan.planned.steps]
    try:
        changes = [step.touched for step in steps]
        then = [step.sizes for step in steps]
        current = original.current
        today = recreated_in_final_image(current, changes, lock, member, sizes, project, None, member_dirs, then)
        planned = recreated_in_final_image(revised or current, changes, lock, member, sizes, project, groups, member_dirs, then)
    except UvscopeError:
        return plan
    return HistoryPlan(with_figures(plan.today, today), with_figures(plan.planned, planned), "dockerfile", plan.unit)


def history_suggestion(
    project: str | ProjectBuild | None,
    lock: Lock,
    sizes: dict[str, int],
    member: str,
    steps: list[Step],
    max_groups: int = MAX_GROUPS,
) -> HistoryPlan:
    """The history planner's grouping for the grouping editor, searched as `optimize --suggest` does: groups
    that the project's Dockerfile (`project`: its folder, or the Dockerfile read before) will copy from
    stages of their own (multi-stage) do not cascade."""
    dockerfile = project if isinstance(project, ProjectBuild) else read_project_build(project, lock, member)
    also = dockerfile.group_roots if dockerfile is not None else ()
    plan = search(lock, sizes, member, steps, max_groups, sizes.get(member, 0), also=also)
    if not plan.grouping.groups or dockerfile is None:
        return plan
    try:
        rewrite = rewrite_for(dockerfile, plan.grouping, lock, member)
    except UvscopeError:
        return plan
    if rewrite.shape == "single-stage":
        return plan
    return search(lock, sizes, member, steps, max_groups, sizes.get(member, 0), cascade=False, also=also)


def history_replays(
    project: str | ProjectBuild | None, grouping: Grouping, lock: Lock, sizes: dict[str, int], member: str, steps: list[Step]
) -> HistoryPlan:
    """Today's single layer and `grouping` replayed over `steps`, from the project's Dockerfile (`project`:
    its folder, or the Dockerfile read before) and uvscope's revision of it when there is one uvscope can
    rewrite (else the plain replay): the grouping editor's line."""
    project_bytes = sizes.get(member, 0)
    dockerfile = project if isinstance(project, ProjectBuild) else read_project_build(project, lock)

    def plain() -> HistoryPlan:
        return HistoryPlan(
            replay(Grouping(), lock, sizes, member, steps, project_bytes), replay(grouping, lock, sizes, member, steps, project_bytes)
        )

    if dockerfile is None:
        return plain()
    paths = dockerfile.paths
    if not grouping.groups:
        # nothing to rewrite: with no groups the Dockerfile stays as it is, and so does every figure
        today = replay(Grouping(), lock, sizes, member, steps, project_bytes)
        plan = dockerfile_history(dockerfile.docker, None, HistoryPlan(today, today), lock, sizes, member, paths)
        return HistoryPlan(plan.today, Replay(grouping, plan.today.layers, plan.today.steps), plan.figures_from)
    try:
        rewrite = rewrite_for(dockerfile, grouping, lock, member)
    except UvscopeError:
        return plain()
    cascade = rewrite.shape == "single-stage"
    plan = HistoryPlan(
        replay(Grouping(), lock, sizes, member, steps, project_bytes),
        replay(grouping, lock, sizes, member, steps, project_bytes, cascade),
    )
    return dockerfile_history(dockerfile.docker, rewrite.parsed, plan, lock, sizes, member, paths)
