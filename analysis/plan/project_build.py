"""The project as its image is built: its workspace member folders, its Dockerfile read once (`ProjectBuild`),
the Dockerfile rewritten for a grouping, the grouping editor's preview from it, and the size of its own files on disk."""

from __future__ import annotations

import glob
import os
import threading
from dataclasses import dataclass, field

from ..errors import UvscopeError
from ..packages.build_file import project_dockerfile
from ..packages.uvlock import Dependency, Lock
from .build_shape import ProjectDockerfile
from .docker_rewrite import Rewrite, rewrite_dockerfile
from .grouping import ChangeCost, Grouping, Preview, plan_layers
from .project_files import declares_indexes, load_toml, member_pyprojects, read_project_file
from .rebuild_cost import group_packages_for, rebuild_costs
from .sync_groups import dockerfile_groups, group_roots


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
class ProjectBuild:
    """The project's Dockerfile (parsed when first asked) and its workspace member folders, read once:
    the grouping editor works out every preview and replay from it without going back to the disk on each move."""

    docker: ProjectDockerfile
    paths: dict[str, str]
    """Workspace member -> its folder relative to the project (`member_paths`)."""
    group_roots: tuple[Dependency, ...] = ()
    """The member's dependencies from the groups its `uv sync` installs (`dev` by default): cards of the editor too."""
    emit_index_url: bool = False
    """The member's (or the root's) pyproject.toml names its own package indexes: the rewrite carries them, as
    `optimize` writes it."""
    rewrites: dict[tuple[Grouping, str | None, bool], Rewrite | UvscopeError] = field(default_factory=dict, compare=False, repr=False)
    """The Dockerfile rewritten per grouping (or why it cannot be), the most recently used last (`rewrite_for`): the preview and
    the history line of one card move share one rewrite, and going back to a grouping costs none."""
    rewrites_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    """Guards `rewrites`: the editor's history worker rewrites too (for its suggestion) while the screen previews."""

    @property
    def member_dirs(self) -> frozenset[str]:
        return frozenset(p for p in self.paths.values() if p not in (".", ""))


def read_project_build(project_dir: str | None, lock: Lock, member: str | None = None, target: str = "") -> ProjectBuild | None:
    """The project's Dockerfile (as built to stage `target`, else its last) and member folders (and, given the
    `member`, what its sync installs from its dependency groups), or None when there is no project or no
    Dockerfile uvscope can read (the previews then use the generic model)."""
    path = project_dockerfile(project_dir) if project_dir else None
    if not project_dir or not path or not os.path.isfile(path):
        return None
    try:
        docker = ProjectDockerfile(read_project_file(path).text, target)
        paths = member_paths(project_dir, lock)
        if member is None or member not in paths:
            return ProjectBuild(docker, paths)
        _, pyproject, root_text = member_pyprojects(project_dir, paths, member)
        roots = group_roots(lock, member, dockerfile_groups(docker, pyproject.text, root_text))
        return ProjectBuild(docker, paths, roots, declares_indexes(pyproject.text) or declares_indexes(root_text))
    except UvscopeError:
        return None


MAX_REWRITES = 32
"""Groupings whose rewrite a `ProjectBuild` keeps (the least recently used goes first): an editing session's recent moves."""


def rewrite_for(build: ProjectBuild, grouping: Grouping, lock: Lock, member: str) -> Rewrite:
    """The project's Dockerfile rewritten for `grouping`, once per grouping (`ProjectBuild.rewrites`); raises
    the `UvscopeError` that says why it cannot be, as `rewrite_dockerfile` does."""
    workspace = len(lock.members) > 1
    package = member if workspace else None
    key = (grouping, package, workspace)
    with build.rewrites_lock:
        found = build.rewrites.get(key)
        if found is not None:
            build.rewrites[key] = build.rewrites.pop(key)  # the least recently used goes first
    if found is None:
        try:
            found = rewrite_dockerfile(
                build.docker, grouping, member_paths=build.paths, workspace=workspace, package=package, emit_index_url=build.emit_index_url
            )
        except UvscopeError as error:
            found = error
        with build.rewrites_lock:
            if key not in build.rewrites and len(build.rewrites) >= MAX_REWRITES:
                build.rewrites.pop(next(iter(build.rewrites)))
            build.rewrites[key] = found
    if isinstance(found, UvscopeError):
        raise found
    return found


_NOT_SOURCE = {".venv", ".git", "__pycache__", "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", "dist", "build"}


def source_bytes(folder: str, limit: int = 20_000) -> int:
    """The project's own files on disk (what `COPY . .` brings), when no image says how large they are."""
    total = 0
    seen = 0
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if name not in _NOT_SOURCE and not name.startswith(".")]
        for name in files:
            seen += 1
            if seen > limit:
                return total
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def project_preview(
    project: str | ProjectBuild | None, grouping: Grouping, lock: Lock, sizes: dict[str, int], member: str
) -> Preview | None:
    """The grouping editor's preview worked out from the project's own Dockerfile (`project`: its folder, or
    the Dockerfile read before), rewritten in memory; None when there is no Dockerfile uvscope can rewrite
    (the caller then shows the generic model)."""
    if project is None or not grouping.groups:
        return None
    dockerfile = project if isinstance(project, ProjectBuild) else read_project_build(project, lock)
    if dockerfile is None:
        return None
    try:
        rewrite = rewrite_for(dockerfile, grouping, lock, member)
        layers = plan_layers(grouping, lock, sizes, member)
        costs = rebuild_costs(
            dockerfile.docker.current,
            rewrite.parsed,
            lock,
            member,
            sizes,
            sizes.get(member, 0),
            group_packages_for(layers),
            dockerfile.member_dirs,
        )
    except UvscopeError:
        return None
    return Preview(tuple(layers), tuple(ChangeCost(cost.change, cost.today, cost.proposed) for cost in costs))
