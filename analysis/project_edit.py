"""Write dependency groups into pyproject.toml (tomlkit) and re-lock, or leave both files as they were.

Every other byte of pyproject.toml is kept. A file that changed on disk since
it was read is never overwritten. If `uv lock` fails or would change any
package version, pyproject.toml and uv.lock are restored and the reason told.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .errors import UvscopeError
from .files import write_atomic
from .grouping import Grouping
from .uvlock import parse_lock


@dataclass(frozen=True)
class ProjectFile:
    """A file as it was read, to detect a change on disk before writing it back."""

    path: str
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_project_file(path: str) -> ProjectFile:
    """Read `path`, with a one-line error if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UvscopeError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    return ProjectFile(path, data)


def write_checked(original: ProjectFile, data: bytes) -> None:
    """Write `data` over `original.path` atomically, refusing if the file changed since it was read."""
    try:
        with open(original.path, "rb") as handle:
            current = handle.read()
    except OSError:
        current = None
    if current != original.data:
        raise UvscopeError(f"{original.path} changed on disk since uvscope read it; not overwriting it (run again)")
    write_atomic(original.path, data)


def _parse(text: str, path: str):
    try:
        return tomlkit.parse(text)
    except Exception as error:  # tomlkit raises several exception types for bad TOML
        raise UvscopeError(f"{path}: not valid TOML ({error})") from None


def runtime_requirements(text: str, path: str = "pyproject.toml") -> dict[str, str]:
    """`[project.dependencies]` as canonical name -> requirement string, as written."""
    document = _parse(text, path)
    project = document.get("project")
    dependencies = project.get("dependencies", []) if isinstance(project, dict) else []
    result = {}
    for item in dependencies:
        try:
            requirement = Requirement(str(item))
        except InvalidRequirement:
            continue
        result[str(canonicalize_name(requirement.name))] = str(item)
    return result


def with_groups(text: str, grouping: Grouping, path: str = "pyproject.toml") -> str:
    """pyproject.toml text with `[dependency-groups]` entries for `grouping`.

    Each group lists its packages' requirements copied from
    `[project.dependencies]` (which stay where they are); everything else is
    unchanged, byte for byte.
    """
    document = _parse(text, path)
    requirements = runtime_requirements(text, path)
    if "dependency-groups" not in document:
        if not text.endswith("\n\n"):
            document.add(tomlkit.nl())
        document["dependency-groups"] = tomlkit.table()
    groups = document["dependency-groups"]
    for group in grouping.groups:
        missing = [name for name in group.packages if name not in requirements]
        if missing:
            raise UvscopeError(f"{path}: {', '.join(missing)} not in [project.dependencies]; only runtime dependencies can be grouped")
        array = tomlkit.array()
        for name in group.packages:
            array.append(requirements[name])
        if len(group.packages) > 1:
            array.multiline(True)
        groups[group.name] = array
    return tomlkit.dumps(document)


def _versions(lock_text: str) -> dict[str, list[str]]:
    lock = parse_lock(lock_text, "uv.lock")
    return {name: sorted(p.version for p in packages) for name, packages in lock.packages.items()}


@dataclass(frozen=True)
class LockResult:
    """What writing the groups did."""

    pyproject: str
    lock: str
    changed_versions: dict[str, tuple[list[str], list[str]]]


def write_groups_and_lock(pyproject: ProjectFile, new_text: str, lock_path: str, uv: str | None = None) -> LockResult:
    """Write pyproject.toml, run `uv lock`; restore both files if it fails or changes a version."""
    uv = uv or shutil.which("uv")
    if uv is None:
        raise UvscopeError("uv is not on PATH: it is needed to re-lock after writing the groups (pip install uv)")
    lock_file = read_project_file(lock_path)
    before = _versions(lock_file.text)
    write_checked(pyproject, new_text.encode())

    def restore(reason: str) -> UvscopeError:
        write_atomic(pyproject.path, pyproject.data)
        write_atomic(lock_path, lock_file.data)
        return UvscopeError(reason + f"; {os.path.basename(pyproject.path)} and uv.lock were left as they were")

    try:
        result = subprocess.run(
            [uv, "lock"], cwd=os.path.dirname(os.path.abspath(lock_path)), capture_output=True, text=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise restore(f"uv lock could not run ({error})") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise restore(f"uv lock failed: {last}")
    after_text = read_project_file(lock_path).text
    after = _versions(after_text)
    changed = {name: (before.get(name, []), after.get(name, [])) for name in set(before) | set(after) if before.get(name) != after.get(name)}
    if changed:
        names = ", ".join(f"{name} {' '.join(old) or '-'} -> {' '.join(new) or '-'}" for name, (old, new) in sorted(changed.items()))
        raise restore(f"uv lock would change package versions ({names})")
    return LockResult(new_text, after_text, {})
