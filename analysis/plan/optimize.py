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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

from ..errors import NothingToDo, UvscopeError
from ..packages.build_file import project_dockerfile
from ..packages.lockhistory import churn as lock_churn
from ..packages.lockhistory import is_git_checkout, lock_history
from ..packages.uvlock import Lock, buildable_members, closure, parse_lock, runtime_roots, wheel_sizes
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
from .project_build import ProjectBuild as ProjectBuild
from .project_build import member_paths as member_paths
from .project_build import project_preview as project_preview
from .project_build import read_project_build as read_project_build
from .project_build import source_bytes
from .project_edit import (
    PlannedWrite,
    ProjectFile,
    find_uv,
    read_project_file,
    runtime_requirements,
    with_groups,
    write_and_relock,
)
from .rebuild_cost import group_packages_for, kept_packages, rebuild_costs
from .sync_groups import dockerfile_extras, dockerfile_groups


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


def _dockerfile_package(docker: ProjectDockerfile) -> str | None:
    """The member the Dockerfile's `uv sync --package M` builds, if it says."""
    try:
        syncs = docker.syncs
    except UvscopeError:
        return None
    return next((sync.package for sync in syncs if sync.package), None)


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


def _declares_indexes(pyproject_text: str) -> bool:
    """Whether pyproject.toml names its own package indexes (the exported pins must carry them)."""
    try:
        data = tomllib.loads(pyproject_text.lstrip("\ufeff"))
    except tomllib.TOMLDecodeError:
        return False
    uv = (data.get("tool") or {}).get("uv") or {}
    return bool(uv.get("index") or uv.get("index-url") or uv.get("extra-index-url"))


def choose_member(lock: Lock, paths: dict[str, str], package: str | None, dockerfile_text: str | None) -> str:
    """The member to optimise: `member.choose_member` with `--package` or the Dockerfile's `uv sync --package`."""
    from packaging.utils import canonicalize_name

    from ..packages.member import choose_member as decide_member
    from ..packages.member import package_hint

    if package and str(canonicalize_name(package)) not in paths:
        raise UvscopeError(f"no workspace member {package!r}; members: {', '.join(sorted(paths))}")
    from_dockerfile = package_hint(dockerfile_text)
    hint = package or (from_dockerfile if from_dockerfile in paths else None)
    member = decide_member(lock, (), hint)
    if member is None or member not in paths:
        installable = [name for name in buildable_members(lock) if name in paths]
        if not installable:
            named = ", ".join(sorted(paths)) or "no [project] name"
            raise UvscopeError(
                f"uv.lock does not lock this project (pyproject.toml says {named}; uv.lock has {', '.join(lock.members) or 'no project'}): "
                "run `uv lock` in the project"
            )
        raise UvscopeError(f"several workspace members ({', '.join(sorted(installable))}): choose one with --package")
    return member


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
) -> OptimizePlan:
    """Work out the groups and the new pyproject.toml and Dockerfile, writing nothing.

    With `use_suggestion` in a git checkout whose uv.lock has a history (or
    with `history`, e.g. the changes between an image repository's tags),
    the groups are the history planner's (`layer_plan.search`, at most
    `max_groups`); otherwise heavy, rarely changing closures in one group.
    """
    history_plan = None
    sizes_from = ""
    lock_path = os.path.join(project_dir, "uv.lock")
    if not os.path.isfile(lock_path):
        raise UvscopeError(f"no uv.lock in {project_dir} (run `uv lock` first)")
    lock = parse_lock(read_project_file(lock_path).text, lock_path)
    dockerfile_path = dockerfile or project_dockerfile(project_dir)
    docker_file = read_project_file(dockerfile_path) if os.path.isfile(dockerfile_path) else None
    if dockerfile and docker_file is None:
        raise UvscopeError(f"no Dockerfile at {dockerfile}")
    # Parsed once, each reading when first needed: the package hint, the synced extras, the rewrites,
    # what it already keeps and the rebuild preview all use it.
    docker = ProjectDockerfile(docker_file.text) if docker_file is not None else None
    paths = member_paths(project_dir, lock)
    shape_package = _dockerfile_package(docker) if docker else None
    if package and shape_package and "$" not in shape_package:
        from packaging.utils import canonicalize_name

        if canonicalize_name(package) != canonicalize_name(shape_package):
            raise UvscopeError(
                f"--package {package} disagrees with the Dockerfile, which runs `uv sync --package {shape_package}`; "
                "give the member the Dockerfile builds"
            )
    member = choose_member(lock, paths, package, docker_file.text if docker_file else None)
    # asked by `--suggest` (nothing to propose?) and for the plan's `already_kept`: walked once
    kept_today = cache(lambda: _kept_today(docker, lock, member, paths))
    pyproject_path = os.path.normpath(os.path.join(project_dir, paths[member], "pyproject.toml"))
    pyproject = read_project_file(pyproject_path)
    root_text = read_project_file(os.path.join(project_dir, "pyproject.toml")).text if paths[member] not in (".", "") else ""
    # the dependency groups the Dockerfile's sync installs (`dev` by default): in the image, so they may be grouped
    synced = dockerfile_groups(docker, pyproject.text, root_text)
    group_roots = [
        dep for package in lock.packages.get(member, []) for name, deps in package.groups.items() if name in synced for dep in deps
    ]
    if grouping is not None:
        if not grouping.groups or not any(group.packages for group in grouping.groups):
            raise UvscopeError("every group is empty: put at least one package in a group")
        grouping = Grouping(tuple(group for group in grouping.groups if group.packages))
    elif groups:
        grouping = Grouping()
        for option in groups:
            name, packages = parse_group_option(option)
            grouping = Grouping(grouping.groups + (Group(name, tuple(packages)),))
    elif use_suggestion:
        threshold = HEAVY_MIN_BYTES
        if not sizes:
            # No image: uv.lock's wheel sizes. Wheels are compressed (about 2.5x for compiled packages),
            # so the heavy threshold is scaled the same way; said in the output (`sizes_from`).
            sizes = wheel_sizes(read_project_file(lock_path).text)
            sizes[member] = source_bytes(os.path.join(project_dir, paths[member]))
            sizes_from = WHEEL_SIZES
            threshold = int(HEAVY_MIN_BYTES / WHEEL_RATIO)
        commits = lock_history(project_dir) if history is None and churn is None and is_git_checkout(project_dir) else []
        steps = history if history is not None else sized_lock_steps(commits, lock, sizes, lock_path, sizes_from == WHEEL_SIZES)
        if steps:
            history_plan = search(lock, sizes, member, steps, max_groups, sizes.get(member, 0), also=group_roots)
            if history is not None:
                history_plan = replace(history_plan, unit="image changes")
            grouping = history_plan.grouping
            if not grouping.groups:
                raise UvscopeError(f"over the last {len(steps)} lock changes no grouping would have pushed fewer bytes than one layer")
        else:
            if churn is None and commits:
                churn = lock_churn(commits)
            grouping = suggest(lock, sizes, member, churn, min_bytes=threshold, also=group_roots)
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
    else:
        raise UvscopeError("say which packages to group: --group NAME=PKG[,PKG...] or --suggest")
    unlocked = sorted(name for group in grouping.groups for name in group.packages if name not in lock.packages)
    if unlocked and all(name in runtime_requirements(pyproject.text, pyproject_path) for name in unlocked):
        raise UvscopeError(f"{', '.join(unlocked)} in pyproject.toml but not in uv.lock: the lock is out of date; run `uv lock` first")
    members_in_groups = sorted(name for group in grouping.groups for name in group.packages if name in lock.members)
    if members_in_groups:
        raise UvscopeError(
            f"{', '.join(members_in_groups)}: a workspace member is installed from its source by `uv sync`, "
            "not from pinned requirements; group its dependencies instead"
        )
    rewrite = None
    docker_change = None

    def revise(grouping: Grouping) -> Rewrite:
        assert docker is not None
        return rewrite_dockerfile(
            docker,
            grouping,
            member_paths=paths,
            workspace=len(lock.members) > 1,
            package=member if len(lock.members) > 1 else None,
            emit_index_url=_declares_indexes(pyproject.text) or _declares_indexes(root_text),
        )

    if docker is not None:
        rewrite = revise(grouping)
        if history_plan is not None and sizes is not None and rewrite.shape != "single-stage":
            # the final image copies each group from a stage of its own: a group's layer does not follow the ones below
            history_plan = replace(
                search(
                    lock,
                    sizes,
                    member,
                    [cost.step for cost in history_plan.planned.steps],
                    max_groups,
                    sizes.get(member, 0),
                    cascade=False,
                    also=group_roots,
                ),
                unit=history_plan.unit,
            )
            if history_plan.grouping != grouping:
                grouping = history_plan.grouping
                rewrite = revise(grouping)
        if history_plan is not None and sizes is not None:
            history_plan = dockerfile_history(docker, rewrite.parsed, history_plan, lock, sizes, member, paths)
    extras = dockerfile_extras(docker)
    installed = frozenset(closure(lock, runtime_roots(lock, member) + group_roots))
    new_pyproject = with_groups(pyproject.text, grouping, pyproject_path, extras, installed, synced)
    # A group that already existed keeps its entries: the layers are built from what the file will say.
    effective = _effective_grouping(new_pyproject, grouping, lock)
    if effective != grouping:
        grouping = effective
        rewrite = revise(grouping) if docker is not None else None
    if docker_file is not None and rewrite is not None:
        docker_change = FileChange(dockerfile_path, docker_file, rewrite.text, _label(dockerfile_path, project_dir))
    if not sizes_from:
        sizes_from = "the image" if sizes else ""
    if not sizes:
        sizes, sizes_from = wheel_sizes(read_project_file(lock_path).text), WHEEL_SIZES
        sizes[member] = source_bytes(os.path.join(project_dir, paths[member]))
    shown = preview(grouping, lock, sizes, member, sizes.get(member, 0))
    kept: tuple[str, ...] = ()
    if docker is not None and rewrite is not None:
        member_dirs = frozenset(path for path in paths.values() if path not in (".", ""))
        layers = plan_layers(grouping, lock, sizes, member)
        costs = rebuild_costs(
            docker.current, rewrite.parsed, lock, member, sizes, sizes.get(member, 0), group_packages_for(layers), member_dirs
        )
        shown = Preview(shown.layers, tuple(ChangeCost(cost.change, cost.today, cost.proposed) for cost in costs))
        kept = tuple(sorted(kept_today()))
    return OptimizePlan(
        member,
        grouping,
        FileChange(pyproject_path, pyproject, new_pyproject, _label(pyproject_path, project_dir)),
        lock_path,
        docker_change,
        rewrite,
        shown,
        sizes_from,
        kept,
        history_plan,
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
    assert pyproject.original is not None
    then = None
    if docker is not None:
        new_data = docker.new_text.encode()
        expected = docker.original.data if docker.original is not None else None
        then = PlannedWrite(docker.path, expected, new_data) if expected != new_data else None
    written, _ = write_and_relock(pyproject.original, pyproject.new_text.encode(), plan.lock_path, uv, then)
    return written
