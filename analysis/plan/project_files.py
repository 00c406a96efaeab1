"""The project's files as uvscope reads and checks them: read once (UTF-8, a BOM allowed) to detect a change
on disk before writing back, pyproject.toml parsed as uv reads it, a folder checked to be a uv project."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass

from ..errors import UvscopeError
from ..journal import Journal

BOM = "\ufeff"


@dataclass(frozen=True)
class ProjectFile:
    """A file as it was read, to detect a change on disk before writing it back."""

    path: str
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


def read_project_file(path: str) -> ProjectFile:
    """Read `path` (UTF-8, a BOM allowed), with a one-line error if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise UvscopeError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UvscopeError(f"{path} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); save it as UTF-8") from None
    return ProjectFile(path, data)


def member_pyprojects(project_dir: str, paths: dict[str, str], member: str) -> tuple[str, ProjectFile, str]:
    """The member's pyproject.toml (its path and file) and the workspace root's text ("" when the member is the
    root): where its dependency groups, `default-groups` and package indexes are read, the member's first."""
    path = os.path.normpath(os.path.join(project_dir, paths[member], "pyproject.toml"))
    root_text = read_project_file(os.path.join(project_dir, "pyproject.toml")).text if paths[member] not in (".", "") else ""
    return path, read_project_file(path), root_text


def declares_indexes(pyproject_text: str) -> bool:
    """Whether pyproject.toml names its own package indexes (the exported pins must carry them)."""
    try:
        data = tomllib.loads(pyproject_text.lstrip("\ufeff"))
    except tomllib.TOMLDecodeError:
        return False
    uv = (data.get("tool") or {}).get("uv") or {}
    return bool(uv.get("index") or uv.get("index-url") or uv.get("extra-index-url"))


def load_toml(path: str) -> dict:
    """`path` parsed by tomllib, as uv reads it (UTF-8 with an optional BOM); one-line errors."""
    text = read_project_file(path).text.removeprefix(BOM)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UvscopeError(f"{path}: not valid TOML ({error})") from None


def check_project_dir(project_dir: str) -> None:
    """A clear error when `project_dir` is not a uv project uvscope can edit."""
    if not os.path.exists(project_dir):
        raise UvscopeError(f"{project_dir} does not exist")
    if not os.path.isdir(project_dir):
        raise UvscopeError(f"{project_dir} is not a folder")
    if not os.path.isfile(os.path.join(project_dir, "pyproject.toml")):
        raise UvscopeError(f"no pyproject.toml in {project_dir}: not a Python project")
    if not os.path.isfile(os.path.join(project_dir, "uv.lock")):
        raise UvscopeError(f"no uv.lock in {project_dir} (run `uv lock` first)")


def write_checked(original: ProjectFile, data: bytes) -> None:
    """Write `data` over `original.path` (the safe writer), refusing if the file changed since it was read."""
    with Journal() as journal:
        journal.track(original.path, original.data)
        journal.write(original.path, data)
        journal.commit()
