"""`uvscope optimize`: plan the groups, show every change as a diff, and write it safely.

Planning never writes. Applying writes pyproject.toml and re-locks (both
restored if `uv lock` fails or changes a version), then the Dockerfile (or
`Dockerfile.uvscope` beside it when the shape cannot be rewritten in place);
a file changed on disk since it was read is never overwritten.
"""

from __future__ import annotations

import difflib
import glob
import os
import tomllib
from dataclasses import dataclass

from .docker_rewrite import Rewrite, rewrite_dockerfile, strip_generated
from .docker_stages import find_syncs
from .dockerfile import parse_dockerfile
from .errors import NothingToDo, UvscopeError
from .grouping import HEAVY_MIN_BYTES, ChangeCost, Group, Grouping, Preview, parse_group_option, plan_layers, preview, suggest
from .journal import Journal
from .lockhistory import churn as lock_churn
from .lockhistory import is_git_checkout, lock_history
from .project_edit import ProjectFile, find_uv, load_toml, read_project_file, refuse_read_only, relock, with_groups
from .rebuild_cost import group_packages_for, kept_packages, rebuild_costs, wheel_sizes
from .text import size
from .uvlock import Lock, buildable_members, parse_lock


def member_paths(project_dir: str, lock: Lock) -> dict[str, str]:
    """Workspace member -> its folder relative to `project_dir` (`.` for the root project)."""
    from packaging.utils import canonicalize_name

    def name_of(path: str) -> str | None:
        try:
            data = load_toml(path)
        except UvscopeError:
            return None
        project = data.get("project")
        return str(canonicalize_name(project["name"])) if isinstance(project, dict) and "name" in project else None

    root = os.path.join(project_dir, "pyproject.toml")
    paths: dict[str, str] = {}
    root_name = name_of(root)
    if root_name:
        paths[root_name] = "."
    workspace = ((load_toml(root).get("tool") or {}).get("uv") or {}).get("workspace") or {}
    for pattern in workspace.get("members") or []:
        for folder in sorted(glob.glob(os.path.join(project_dir, str(pattern)))):
            name = name_of(os.path.join(folder, "pyproject.toml"))
            if name:
                paths[name] = os.path.relpath(folder, project_dir)
    return {name: path for name, path in paths.items() if name in lock.members or path == "."}


@dataclass(frozen=True)
class FileChange:
    """One file uvscope would write."""

    path: str
    original: ProjectFile | None
    """None for a new file."""
    new_text: str

    def diff(self) -> str:
        old = self.original.text if self.original is not None else ""
        label = os.path.basename(self.path)
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


def _dockerfile_package(text: str) -> str | None:
    """The member the Dockerfile's `uv sync --package M` builds, if it says."""
    try:
        syncs = find_syncs(parse_dockerfile(strip_generated(text)[0]))
    except UvscopeError:
        return None
    return next((sync.package for sync in syncs if sync.package), None)


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

    from .member import choose_member as decide_member
    from .member import package_hint

    if package and str(canonicalize_name(package)) not in paths:
        raise UvscopeError(f"no workspace member {package!r}; members: {', '.join(sorted(paths))}")
    from_dockerfile = package_hint(dockerfile_text)
    hint = package or (from_dockerfile if from_dockerfile in paths else None)
    member = decide_member(lock, (), hint)
    if member is None or member not in paths:
        installable = [name for name in buildable_members(lock) if name in paths]
        raise UvscopeError(f"several workspace members ({', '.join(sorted(installable))}): choose one with --package")
    return member


WHEEL_RATIO = 2.5
"""About how much larger a compiled package is installed than its wheel: scales the heavy threshold for wheel sizes."""


def plan_optimization(
    project_dir: str,
    *,
    groups: list[str] = (),
    grouping: Grouping | None = None,
    use_suggestion: bool = False,
    sizes: dict[str, int] | None = None,
    dockerfile: str | None = None,
    package: str | None = None,
    churn: dict[str, int] | None = None,
) -> OptimizePlan:
    """Work out the groups and the new pyproject.toml and Dockerfile, writing nothing."""
    lock_path = os.path.join(project_dir, "uv.lock")
    if not os.path.isfile(lock_path):
        raise UvscopeError(f"no uv.lock in {project_dir} (run `uv lock` first)")
    lock = parse_lock(read_project_file(lock_path).text, lock_path)
    dockerfile_path = dockerfile or os.path.join(project_dir, "Dockerfile")
    docker_file = read_project_file(dockerfile_path) if os.path.isfile(dockerfile_path) else None
    if dockerfile and docker_file is None:
        raise UvscopeError(f"no Dockerfile at {dockerfile}")
    paths = member_paths(project_dir, lock)
    shape_package = _dockerfile_package(docker_file.text) if docker_file else None
    if package and shape_package and "$" not in shape_package:
        from packaging.utils import canonicalize_name

        if canonicalize_name(package) != canonicalize_name(shape_package):
            raise UvscopeError(
                f"--package {package} disagrees with the Dockerfile, which runs `uv sync --package {shape_package}`; "
                "give the member the Dockerfile builds"
            )
    member = choose_member(lock, paths, package, docker_file.text if docker_file else None)
    pyproject_path = os.path.normpath(os.path.join(project_dir, paths[member], "pyproject.toml"))
    pyproject = read_project_file(pyproject_path)
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
        suggest_sizes = sizes
        if not suggest_sizes:
            # No image: uv.lock's wheel sizes. Wheels are compressed (about 2.5x for compiled packages),
            # so the heavy threshold is scaled the same way; said in the output (`sizes_from`).
            suggest_sizes = wheel_sizes(read_project_file(lock_path).text)
            threshold = int(HEAVY_MIN_BYTES / WHEEL_RATIO)
        if churn is None and is_git_checkout(project_dir):
            churn = lock_churn(lock_history(project_dir))
        grouping = suggest(lock, suggest_sizes, member, churn, min_bytes=threshold)
        if not grouping.groups:
            raise UvscopeError(
                f"no direct dependency is heavy enough ({size(threshold)} closure"
                + ("" if sizes else " of uv.lock's compressed wheel sizes; give --image IMAGE for installed sizes")
                + ") to deserve a layer of its own"
            )
        kept = _kept_today(docker_file, lock, member, paths)
        if kept and all(name in kept for group in grouping.groups for name in group.packages):
            raise NothingToDo(
                f"the Dockerfile already keeps {', '.join(sorted(n for g in grouping.groups for n in g.packages))} in layers "
                "of their own that a version bump leaves as they were: nothing to propose"
            )
    else:
        raise UvscopeError("say which packages to group: --group NAME=PKG[,PKG...] or --suggest")
    new_pyproject = with_groups(pyproject.text, grouping, pyproject_path)
    rewrite = None
    docker_change = None
    if docker_file is not None:
        rewrite = rewrite_dockerfile(
            docker_file.text,
            grouping,
            member_paths=paths,
            workspace=len(lock.members) > 1,
            package=member if len(lock.members) > 1 else None,
            emit_index_url=_declares_indexes(pyproject.text),
        )
        docker_change = FileChange(dockerfile_path, docker_file, rewrite.text)
    sizes_from = "the image" if sizes else ""
    if not sizes:
        sizes, sizes_from = wheel_sizes(read_project_file(lock_path).text), "uv.lock's wheel sizes (compressed)"
    shown = preview(grouping, lock, sizes, member, sizes.get(member, 0))
    kept: tuple[str, ...] = ()
    if docker_file is not None and rewrite is not None:
        member_dirs = frozenset(path for path in paths.values() if path not in (".", ""))
        layers = plan_layers(grouping, lock, sizes, member)
        costs = rebuild_costs(
            docker_file.text, rewrite.text, lock, member, sizes, sizes.get(member, 0), group_packages_for(layers), member_dirs
        )
        shown = Preview(shown.layers, tuple(ChangeCost(cost.change, cost.today, cost.proposed) for cost in costs))
        kept = tuple(sorted(_kept_today(docker_file, lock, member, paths)))
    return OptimizePlan(
        member, grouping, FileChange(pyproject_path, pyproject, new_pyproject), lock_path, docker_change, rewrite, shown, sizes_from, kept
    )


def _kept_today(docker_file: ProjectFile | None, lock: Lock, member: str, paths: dict[str, str]) -> set[str]:
    """What the Dockerfile as it is already keeps out of a version bump's rebuild (empty if it cannot be read)."""
    if docker_file is None:
        return set()
    try:
        return kept_packages(docker_file.text, lock, member, None, frozenset(p for p in paths.values() if p not in (".", "")))
    except UvscopeError:
        return set()


def _free_name(path: str, data: bytes) -> str | None:
    """`path`, or `path.2`, `path.3`... if taken; None when one of them already holds exactly `data`."""
    for number in range(1, 100):
        candidate = path if number == 1 else f"{path}.{number}"
        if not os.path.lexists(candidate):
            return candidate
        try:
            with open(candidate, "rb") as handle:
                if handle.read() == data:
                    return None
        except OSError:
            pass
    raise UvscopeError(f"{path} and 98 numbered copies of it exist; not writing another")


def apply_plan(plan: OptimizePlan, uv: str | None = None) -> list[str]:
    """Write the plan's files, all or nothing (also across SIGINT/SIGTERM); return what was written.

    A file that changed on disk since it was planned, or is read-only, is
    refused before anything is written. A file uvscope creates beside the
    Dockerfile never overwrites one that exists: a free name is taken.
    """
    uv = find_uv(uv)
    pyproject, docker = plan.pyproject, plan.dockerfile
    assert pyproject.original is not None
    docker_target = None
    docker_expected: bytes | None = None
    if docker is not None:
        new_data = docker.new_text.encode()
        if plan.rewrite is not None and not plan.rewrite.in_place:
            docker_target = _free_name(docker.path, new_data)
        else:
            docker_target = docker.path
            docker_expected = docker.original.data if docker.original is not None else None
            if docker_expected == new_data:
                docker_target = None
    for path in (pyproject.path, plan.lock_path, docker_target if docker_expected is not None else None):
        if path:
            refuse_read_only(path)
    written = []
    with Journal(os.path.dirname(os.path.abspath(plan.lock_path))) as journal:
        journal.track(pyproject.path, pyproject.original.data)
        journal.track(plan.lock_path)
        if docker_target:
            journal.track(docker_target, docker_expected)
        new_pyproject = pyproject.new_text.encode()
        if new_pyproject != pyproject.original.data:
            journal.write(pyproject.path, new_pyproject)
            written.append(pyproject.path)
        relock(journal, plan.lock_path, uv)
        if journal.entries[plan.lock_path].written != journal.entries[plan.lock_path].original:
            written.append(plan.lock_path)
        if docker_target:
            journal.write(docker_target, docker.new_text.encode())
            written.append(docker_target)
        journal.commit()
    return written


def project_preview(project_dir: str | None, grouping: Grouping, lock: Lock, sizes: dict[str, int], member: str) -> Preview | None:
    """The grouping editor's preview worked out from the project's own Dockerfile (rewritten in memory),
    or None when there is no Dockerfile uvscope can rewrite (the caller then shows the generic model)."""
    if project_dir is None or not grouping.groups:
        return None
    path = os.path.join(project_dir, "Dockerfile")
    if not os.path.isfile(path):
        return None
    try:
        text = read_project_file(path).text
        paths = member_paths(project_dir, lock)
        rewrite = rewrite_dockerfile(
            text, grouping, member_paths=paths, workspace=len(lock.members) > 1, package=member if len(lock.members) > 1 else None
        )
        layers = plan_layers(grouping, lock, sizes, member)
        member_dirs = frozenset(p for p in paths.values() if p not in (".", ""))
        costs = rebuild_costs(text, rewrite.text, lock, member, sizes, sizes.get(member, 0), group_packages_for(layers), member_dirs)
    except UvscopeError:
        return None
    return Preview(tuple(layers), tuple(ChangeCost(cost.change, cost.today, cost.proposed) for cost in costs))

