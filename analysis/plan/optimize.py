"""`uvscope optimize`: plan the groups, show every change as a diff, and write it safely.

Planning never writes. Applying writes pyproject.toml and re-locks (both
restored if `uv lock` fails or changes a version), then rewrites the
Dockerfile in place; a file changed on disk since it was read is never
overwritten.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial

from ..errors import NothingToDo, UvscopeError
from ..packages.lockhistory import churn as lock_churn
from ..packages.lockhistory import is_git_checkout, lock_history
from ..packages.uvlock import Lock, closure, inherited_requirements, runtime_roots
from ..units import size
from .build_shape import ProjectDockerfile
from .docker_rewrite import Rewrite, rewrite_dockerfile
from .grouping import HEAVY_MIN_BYTES, ChangeCost, Group, Grouping, Preview, parse_group_option, plan_layers, preview, suggest

# the history plans and the project's build have modules of their own; their names are still importable from here
from .history_plans import WHEEL_RATIO as WHEEL_RATIO
from .history_plans import WHEEL_SIZES as WHEEL_SIZES
from .history_plans import dockerfile_history as dockerfile_history
from .history_plans import history_replays as history_replays
from .history_plans import history_suggestion as history_suggestion
from .history_plans import sized_lock_steps as sized_lock_steps
from .layer_plan import MAX_GROUPS, HistoryPlan, Step, search
from .optimize_inputs import PlanInputs, read_plan_inputs
from .project_build import ProjectBuild as ProjectBuild
from .project_build import member_paths as member_paths
from .project_build import project_preview as project_preview
from .project_build import read_project_build as read_project_build
from .project_build import source_bytes
from .project_edit import (
    PlannedWrite,
    ProjectFile,
    find_uv,
    name_by_sources,
    runtime_requirements,
    with_groups,
    write_and_relock,
)
from .project_files import declares_indexes
from .rebuild_cost import group_packages_for, kept_packages, rebuild_costs
from .sync_groups import dockerfile_extras


@dataclass(frozen=True)
class FileChange:
    """One file uvscope would write."""

    path: str
    original: ProjectFile | None
    """None for a new file."""
    new_text: str
    label: str = ""
    """The name the diff shows (the path relative to the project)."""

    def diff(self) -> str:
        old = self.original.text if self.original is not None else ""
        label = self.label or os.path.basename(self.path)
        return "".join(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                fromfile=f"a/{label}" if self.original is not None else "/dev/null",
                tofile=f"b/{label}",
            )
        )


@dataclass(frozen=True)
class OptimizePlan:
    """Everything `optimize` would do."""

    member: str
    grouping: Grouping
    pyproject: FileChange
    lock_path: str
    dockerfile: FileChange | None
    rewrite: Rewrite | None
    preview: Preview | None
    sizes_from: str = ""
    """Where the preview's package sizes come from: `the image` or `uv.lock's wheel sizes (compressed)`."""
    already_kept: tuple[str, ...] = ()
    """Packages the Dockerfile as it is already keeps in layers a version bump leaves as they were."""
    history_plan: HistoryPlan | None = None
    """With `--suggest` in a git checkout with a uv.lock history: the grouping that would have pushed
    the fewest bytes over it, and the replayed totals (None: the size-and-churn suggestion was used)."""
    target: str = ""
    """The Dockerfile's stage the image is (`--target`; "": its last)."""


def _label(path: str, project_dir: str) -> str:
    """How a diff names a file: relative to the project, so `services/api/Dockerfile` is not just `Dockerfile`."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(project_dir))
    return relative if not relative.startswith("..") else os.path.abspath(path)


def _effective_grouping(pyproject_text: str, grouping: Grouping, lock: Lock) -> Grouping:
    """Each group as the written pyproject.toml will hold it (entries the user had stay, and install too)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        groups = tomllib.loads(pyproject_text.lstrip("\ufeff")).get("dependency-groups") or {}
    except tomllib.TOMLDecodeError:
        return grouping
    normal = {canonicalize_name(name): entries for name, entries in groups.items() if isinstance(entries, list)}
    result = []
    for group in grouping.groups:
        names = list(group.packages)
        for entry in normal.get(canonicalize_name(group.name), []):
            if not isinstance(entry, str):
                continue  # include-group tables: their packages are the other group's
            try:
                name = str(canonicalize_name(Requirement(entry).name))
            except InvalidRequirement:
                continue
            if name not in names and name in lock.packages and name not in lock.members:
                names.append(name)
        result.append(Group(group.name, tuple(names)))
    return Grouping(tuple(result))


def _given_grouping(grouping: Grouping | None, groups: Sequence[str]) -> Grouping | None:
    """The grouping the caller gave (the editor's, empty groups dropped; or `--group` options); None: none given."""
    if grouping is not None:
        if not grouping.groups or not any(group.packages for group in grouping.groups):
            raise UvscopeError("every group is empty: put at least one package in a group")
        return Grouping(tuple(group for group in grouping.groups if group.packages))
    if not groups:
        return None
    result = Grouping()
    for option in groups:
        name, packages = parse_group_option(option)
        result = Grouping(result.groups + (Group(name, tuple(packages)),))
    return result


def _wheel_sized(inputs: PlanInputs) -> dict[str, int]:
    """Package sizes when no image gave installed ones: uv.lock's wheel sizes, the member's own files on disk."""
    sizes = dict(inputs.lock.wheel_sizes)
    sizes[inputs.member] = source_bytes(os.path.join(inputs.project_dir, inputs.paths[inputs.member]))
    return sizes


def _suggested_grouping(
    inputs: PlanInputs,
    sizes: dict[str, int] | None,
    churn: dict[str, int] | None,
    history: list[Step] | None,
    max_groups: int,
    kept_today: Callable[[], set[str]],
) -> tuple[Grouping, HistoryPlan | None, dict[str, int], str]:
    """`--suggest`: the history planner's grouping over uv.lock's git history (or `history`), else heavy, rarely
    changing closures. Returns the grouping, the history plan (if any), the sizes it used and where they come from."""
    lock, member, project_dir = inputs.lock, inputs.member, inputs.project_dir
    history_plan = None
    sizes_from = ""
    threshold = HEAVY_MIN_BYTES
    if not sizes:
        # No image: uv.lock's wheel sizes. Wheels are compressed (about 2.5x for compiled packages),
        # so the heavy threshold is scaled the same way; said in the output (`sizes_from`).
        sizes = _wheel_sized(inputs)
        sizes_from = WHEEL_SIZES
        threshold = int(HEAVY_MIN_BYTES / WHEEL_RATIO)
    commits = lock_history(project_dir) if history is None and churn is None and is_git_checkout(project_dir) else []
    if history is not None:
        steps = history
    else:
        steps = sized_lock_steps(commits, lock, sizes, inputs.lock_path, sizes_from == WHEEL_SIZES, wheels=lock.wheel_sizes)
    if steps:
        history_plan = search(lock, sizes, member, steps, max_groups, sizes.get(member, 0), also=inputs.group_roots)
        if history is not None:
            history_plan = replace(history_plan, unit="image changes")
        grouping = history_plan.grouping
        if not grouping.groups:
            raise UvscopeError(f"over the last {len(steps)} lock changes no grouping would have pushed fewer bytes than one layer")
    else:
        if churn is None and commits:
            churn = lock_churn(commits)
        grouping = suggest(lock, sizes, member, churn, min_bytes=threshold, also=inputs.group_roots)
    if not grouping.groups:
        raise UvscopeError(
            f"no direct dependency is heavy enough ({size(threshold)} closure"
            + ("" if sizes_from != WHEEL_SIZES else " of uv.lock's compressed wheel sizes; give --image IMAGE for installed sizes")
            + ") to deserve a layer of its own"
        )
    isolated = kept_today()
    if isolated and all(name in isolated for group in grouping.groups for name in group.packages):
        raise NothingToDo(
            f"the Dockerfile already keeps {', '.join(sorted(n for g in grouping.groups for n in g.packages))} in layers "
            "of their own that a version bump leaves as they were: nothing to propose"
        )
    return grouping, history_plan, sizes, sizes_from


def _check_grouping(inputs: PlanInputs, grouping: Grouping) -> None:
    """Refuse packages uv.lock does not lock yet, and workspace members (`uv sync` installs them from source)."""
    lock = inputs.lock
    unlocked = sorted(name for group in grouping.groups for name in group.packages if name not in lock.packages)
    if unlocked and all(name in runtime_requirements(inputs.pyproject.text, inputs.pyproject_path) for name in unlocked):
        raise UvscopeError(f"{', '.join(unlocked)} in pyproject.toml but not in uv.lock: the lock is out of date; run `uv lock` first")
    members_in_groups = sorted(name for group in grouping.groups for name in group.packages if name in lock.members)
    if members_in_groups:
        raise UvscopeError(
            f"{', '.join(members_in_groups)}: a workspace member is installed from its source by `uv sync`, "
            "not from pinned requirements; group its dependencies instead"
        )


def _rewrite(docker: ProjectDockerfile, inputs: PlanInputs, grouping: Grouping) -> Rewrite:
    """The project's Dockerfile (`inputs.docker`) rewritten for `grouping`."""
    return rewrite_dockerfile(
        docker,
        grouping,
        member_paths=inputs.paths,
        workspace=inputs.workspace,
        package=inputs.member if inputs.workspace else None,
        emit_index_url=declares_indexes(inputs.pyproject.text) or declares_indexes(inputs.root_text),
    )


def _fit_history_plan(
    inputs: PlanInputs,
    docker: ProjectDockerfile,
    grouping: Grouping,
    rewrite: Rewrite,
    history_plan: HistoryPlan | None,
    sizes: dict[str, int] | None,
    max_groups: int,
    revise: Callable[[Grouping], Rewrite],
) -> tuple[Grouping, Rewrite, HistoryPlan | None]:
    """The history plan fitted to the rewrite: searched again without the cascade where the final image copies
    each group from a stage of its own (a group's layer does not follow the ones below), then its figures worked
    out from the Dockerfile and its revision."""
    if history_plan is None or sizes is None:
        return grouping, rewrite, history_plan
    lock, member = inputs.lock, inputs.member
    if rewrite.shape != "single-stage":
        steps = [cost.step for cost in history_plan.planned.steps]
        searched = search(lock, sizes, member, steps, max_groups, sizes.get(member, 0), cascade=False, also=inputs.group_roots)
        history_plan = replace(searched, unit=history_plan.unit)
        if history_plan.grouping != grouping:
            grouping = history_plan.grouping
            rewrite = revise(grouping)
    return grouping, rewrite, dockerfile_history(docker, rewrite.parsed, history_plan, lock, sizes, member, inputs.paths)


def _preview(
    inputs: PlanInputs, grouping: Grouping, rewrite: Rewrite | None, sizes: dict[str, int], kept_today: Callable[[], set[str]]
) -> tuple[Preview, tuple[str, ...]]:
    """The plan's layers and what each kind of change re-creates today and with the groups (from the Dockerfile and
    its rewrite, when there is one), and what the Dockerfile as it is already keeps."""
    lock, member = inputs.lock, inputs.member
    shown = preview(grouping, lock, sizes, member, sizes.get(member, 0))
    if inputs.docker is None or rewrite is None:
        return shown, ()
    member_dirs = frozenset(path for path in inputs.paths.values() if path not in (".", ""))
    layers = plan_layers(grouping, lock, sizes, member)
    costs = rebuild_costs(
        inputs.docker.current, rewrite.parsed, lock, member, sizes, sizes.get(member, 0), group_packages_for(layers), member_dirs
    )
    shown = Preview(shown.layers, tuple(ChangeCost(cost.change, cost.today, cost.proposed) for cost in costs))
    return shown, tuple(sorted(kept_today()))


def plan_optimization(
    project_dir: str,
    *,
    groups: Sequence[str] = (),
    grouping: Grouping | None = None,
    use_suggestion: bool = False,
    sizes: dict[str, int] | None = None,
    dockerfile: str | None = None,
    package: str | None = None,
    churn: dict[str, int] | None = None,
    max_groups: int = MAX_GROUPS,
    history: list[Step] | None = None,
    target: str = "",
) -> OptimizePlan:
    """Work out the groups and the new pyproject.toml and Dockerfile, writing nothing.

    With `use_suggestion` in a git checkout whose uv.lock has a history (or
    with `history`, e.g. the changes between an image repository's tags),
    the groups are the history planner's (`layer_plan.search`, at most
    `max_groups`); otherwise heavy, rarely changing closures in one group.
    The project's files are read once (`read_plan_inputs`: uv.lock parsed
    once), and the Dockerfile rewritten once per grouping.
    """
    inputs = read_plan_inputs(project_dir, dockerfile, package, target)
    lock, member = inputs.lock, inputs.member
    # asked by `--suggest` (nothing to propose?) and for the plan's `already_kept`: walked once
    kept_today = cache(lambda: _kept_today(inputs.docker, lock, member, inputs.paths))
    docker = inputs.docker
    revise = cache(partial(_rewrite, docker, inputs)) if docker is not None else None
    history_plan, sizes_from = None, ""
    chosen = _given_grouping(grouping, groups)
    if chosen is None and use_suggestion:
        chosen, history_plan, sizes, sizes_from = _suggested_grouping(inputs, sizes, churn, history, max_groups, kept_today)
    elif chosen is None:
        raise UvscopeError("say which packages to group: --group NAME=PKG[,PKG...] or --suggest")
    grouping = chosen
    _check_grouping(inputs, grouping)
    rewrite = None
    if docker is not None and revise is not None:
        rewrite = revise(grouping)
        grouping, rewrite, history_plan = _fit_history_plan(inputs, docker, grouping, rewrite, history_plan, sizes, max_groups, revise)
    if use_suggestion:  # a package whose index the image's synced group picks (torch per `cpu`) goes in that group
        named = name_by_sources(inputs.pyproject.text, grouping, inputs.synced)
        if named != grouping:
            grouping, rewrite = named, revise(named) if revise is not None else None
    extras = dockerfile_extras(inputs.docker)
    installed = frozenset(closure(lock, runtime_roots(lock, member) + list(inputs.group_roots)))
    inherited = inherited_requirements(lock, member, inputs.group_roots)
    new_pyproject = with_groups(inputs.pyproject.text, grouping, inputs.pyproject_path, extras, installed, inputs.synced, inherited)
    # A group that already existed keeps its entries: the layers are built from what the file will say.
    effective = _effective_grouping(new_pyproject, grouping, lock)
    if effective != grouping:
        grouping = effective
        rewrite = revise(grouping) if revise is not None else None
    docker_change = None
    if inputs.docker_file is not None and rewrite is not None:
        docker_change = FileChange(inputs.dockerfile_path, inputs.docker_file, rewrite.text, _label(inputs.dockerfile_path, project_dir))
    if not sizes_from:
        sizes_from = "the image" if sizes else ""
    if not sizes:
        sizes, sizes_from = _wheel_sized(inputs), WHEEL_SIZES
    shown, kept = _preview(inputs, grouping, rewrite, sizes, kept_today)
    pyproject_change = FileChange(inputs.pyproject_path, inputs.pyproject, new_pyproject, _label(inputs.pyproject_path, project_dir))
    return OptimizePlan(
        member, grouping, pyproject_change, inputs.lock_path, docker_change, rewrite, shown, sizes_from, kept, history_plan, target
    )


def _kept_today(docker: ProjectDockerfile | None, lock: Lock, member: str, paths: dict[str, str]) -> set[str]:
    """What the Dockerfile as it is already keeps out of a version bump's rebuild (empty if it cannot be read)."""
    if docker is None:
        return set()
    try:
        return kept_packages(docker.current, lock, member, None, frozenset(p for p in paths.values() if p not in (".", "")))
    except UvscopeError:
        return set()


def apply_plan(plan: OptimizePlan, uv: str | None = None) -> list[str]:
    """Write the plan's files, all or nothing (also across SIGINT/SIGTERM); return what was written.

    A file that changed on disk since it was planned, or is read-only, is
    refused before anything is written. The Dockerfile is rewritten in place,
    and only when the rewrite changes it.
    """
    uv = find_uv(uv)
    pyproject, docker = plan.pyproject, plan.dockerfile
    if pyproject.original is None:  # a plan is made from a pyproject.toml that was read; not one built by hand without it
        raise UvscopeError(f"{pyproject.path}: the plan holds no copy of the file as read, so it cannot be checked before it is written")
    then = None
    if docker is not None:
        new_data = docker.new_text.encode()
        expected = docker.original.data if docker.original is not None else None
        then = PlannedWrite(docker.path, expected, new_data) if expected != new_data else None
    written, _ = write_and_relock(pyproject.original, pyproject.new_text.encode(), plan.lock_path, uv, then)
    return written
