"""What one `optimize` plan reads from the project, each file once: uv.lock (one parse, its wheel sizes with it),
the Dockerfile, the member the image is built for, its pyproject.toml and the groups the Dockerfile's sync installs."""

from __future__ import annotations

import os
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from ..errors import UvscopeError
from ..packages.build_file import project_dockerfile
from ..packages.uvlock import Dependency, Lock, buildable_members, parse_lock
from .build_shape import ProjectDockerfile
from .project_build import member_paths
from .project_files import ProjectFile, member_pyprojects, read_project_file
from .sync_groups import SyncedGroups, dockerfile_groups, group_roots


@dataclass(frozen=True)
class PlanInputs:
    """The project as one plan reads it: every later step works from these, not from the disk."""

    project_dir: str
    lock_path: str
    lock: Lock
    """uv.lock, parsed once (its wheel sizes too: `Lock.wheel_sizes`)."""
    dockerfile_path: str
    docker_file: ProjectFile | None
    """The Dockerfile as read (None: the project has none)."""
    docker: ProjectDockerfile | None
    """`docker_file` parsed once, each reading when first needed."""
    paths: dict[str, str]
    """Workspace member -> its folder relative to the project."""
    member: str
    pyproject_path: str
    pyproject: ProjectFile
    """The member's pyproject.toml."""
    root_text: str
    """The workspace root's pyproject.toml when the member is not the root ("" otherwise)."""
    synced: SyncedGroups
    """The dependency groups the Dockerfile's sync installs (in the image, so they may be grouped)."""
    group_roots: tuple[Dependency, ...]
    """The member's dependencies in those groups."""

    @property
    def workspace(self) -> bool:
        """Whether uv.lock holds several members."""
        return len(self.lock.members) > 1


def _dockerfile_syncs(docker: ProjectDockerfile | None) -> tuple[str | None, bool]:
    """What the stages the image is built from sync: the member a `uv sync --package M` names (None: none
    names one), and whether any stage syncs at all. A file that cannot be parsed is read for `--package`."""
    if docker is None:
        return None, False
    try:
        syncs = docker.syncs
    except UvscopeError:
        from ..packages.member import package_hint

        return package_hint(docker.text), False
    return next((sync.package for sync in syncs if sync.package), None), bool(syncs)


def choose_member(lock: Lock, paths: dict[str, str], package: str | None, docker: ProjectDockerfile | None) -> str:
    """The member to optimise: `member.choose_member` with `--package`, else the member the Dockerfile's
    `uv sync --package` builds, else the workspace root when its sync names no member."""
    from ..packages.member import choose_member as decide_member

    if package and str(canonicalize_name(package)) not in paths:
        raise UvscopeError(f"no workspace member {package!r}; members: {', '.join(sorted(paths))}")
    synced_package, syncs = _dockerfile_syncs(docker)
    from_dockerfile = str(canonicalize_name(synced_package)) if synced_package and "$" not in synced_package else None
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
        root = next((name for name, path in paths.items() if path == "."), None)
        if root in installable and syncs and synced_package is None:
            # `uv sync` without `--package` syncs the workspace's root project (`--all-packages`: every member,
            # the root's dependencies among them): the root is the member the image is built for
            return root
        raise UvscopeError(f"several workspace members ({', '.join(sorted(installable))}): choose one with --package")
    return member


def read_plan_inputs(project_dir: str, dockerfile: str | None, package: str | None, target: str = "") -> PlanInputs:
    """Read uv.lock (once), the Dockerfile (`dockerfile`, else the project's) and the member's pyproject.toml,
    and choose the member (`package`, else the Dockerfile's `uv sync --package`); a one-line error when they disagree."""
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
    if target and docker_file is None:
        raise UvscopeError(f"--target {target}: the project has no Dockerfile to build it from")
    docker = ProjectDockerfile(docker_file.text, target) if docker_file is not None else None
    if docker is not None and target:
        _ = docker.current  # an unknown --target is one line now, before any suggestion is searched
    paths = member_paths(project_dir, lock)
    shape_package, _ = _dockerfile_syncs(docker)
    if package and shape_package and "$" not in shape_package:
        if canonicalize_name(package) != canonicalize_name(shape_package):
            raise UvscopeError(
                f"--package {package} disagrees with the Dockerfile, which runs `uv sync --package {shape_package}`; "
                "give the member the Dockerfile builds"
            )
    member = choose_member(lock, paths, package, docker)
    pyproject_path, pyproject, root_text = member_pyprojects(project_dir, paths, member)
    synced = dockerfile_groups(docker, pyproject.text, root_text)
    return PlanInputs(
        project_dir,
        lock_path,
        lock,
        dockerfile_path,
        docker_file,
        docker,
        paths,
        member,
        pyproject_path,
        pyproject,
        root_text,
        synced,
        group_roots(lock, member, synced),
    )
