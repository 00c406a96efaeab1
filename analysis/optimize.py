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

from .docker_rewrite import Rewrite, rewrite_dockerfile
from .dockerfile import parse_dockerfile
from .errors import UvscopeError
from .files import write_atomic
from .grouping import Group, Grouping, Preview, parse_group_option, preview, suggest
from .lockhistory import churn as lock_churn
from .lockhistory import is_git_checkout, lock_history
from .project_edit import ProjectFile, read_project_file, with_groups, write_checked, write_groups_and_lock
from .uvlock import Lock, buildable_members, parse_lock


def member_paths(project_dir: str, lock: Lock) -> dict[str, str]:
    """Workspace member -> its folder relative to `project_dir` (`.` for the root project)."""
    from packaging.utils import canonicalize_name

    def name_of(path: str) -> str | None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError):
            return None
        project = data.get("project")
        return str(canonicalize_name(project["name"])) if isinstance(project, dict) and "name" in project else None

    root = os.path.join(project_dir, "pyproject.toml")
    paths: dict[str, str] = {}
    root_name = name_of(root)
    if root_name:
        paths[root_name] = "."
    try:
        with open(root, "rb") as handle:
            workspace = ((tomllib.load(handle).get("tool") or {}).get("uv") or {}).get("workspace") or {}
    except OSError as error:
        raise UvscopeError(f"cannot read {root}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise UvscopeError(f"{root}: not valid TOML ({error})") from None
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
        if not sizes:
            raise UvscopeError("--suggest needs package sizes: give --image IMAGE (an image built from this project)")
        if churn is None and is_git_checkout(project_dir):
            churn = lock_churn(lock_history(project_dir))
        grouping = suggest(lock, sizes, member, churn)
        if not grouping.groups:
            raise UvscopeError("no direct dependency is heavy enough (20 MB closure) to deserve a layer of its own")
    else:
        raise UvscopeError("say which packages to group: --group NAME=PKG[,PKG...] or --suggest")
    new_pyproject = with_groups(pyproject.text, grouping, pyproject_path)
    rewrite = None
    docker_change = None
    if docker_file is not None:
        rewrite = rewrite_dockerfile(
            docker_file.text, grouping, member_paths=paths, workspace=len(lock.members) > 1
        )
        parse_dockerfile(rewrite.text)  # what we write must parse again
        target = dockerfile_path if rewrite.in_place else dockerfile_path + ".uvscope"
        original = docker_file if rewrite.in_place else (read_project_file(target) if os.path.exists(target) else None)
        docker_change = FileChange(target, original, rewrite.text)
    shown = preview(grouping, lock, sizes, member, sizes.get(member, 0)) if sizes else None
    return OptimizePlan(member, grouping, FileChange(pyproject_path, pyproject, new_pyproject), lock_path, docker_change, rewrite, shown)


def apply_plan(plan: OptimizePlan) -> list[str]:
    """Write the plan's files; return what was written. Nothing is left half-done."""
    if plan.dockerfile is not None and plan.dockerfile.original is not None:
        current = read_project_file(plan.dockerfile.path)
        if current.data != plan.dockerfile.original.data:
            raise UvscopeError(f"{plan.dockerfile.path} changed on disk since uvscope read it; not overwriting it (run again)")
    original_lock = read_project_file(plan.lock_path)
    assert plan.pyproject.original is not None
    write_groups_and_lock(plan.pyproject.original, plan.pyproject.new_text, plan.lock_path)
    written = [plan.pyproject.path, plan.lock_path]
    if plan.dockerfile is not None:
        try:
            if plan.dockerfile.original is not None:
                write_checked(plan.dockerfile.original, plan.dockerfile.new_text.encode())
            else:
                write_atomic(plan.dockerfile.path, plan.dockerfile.new_text.encode())
        except UvscopeError:
            write_atomic(plan.pyproject.path, plan.pyproject.original.data)
            write_atomic(plan.lock_path, original_lock.data)
            raise
        written.append(plan.dockerfile.path)
    return written
