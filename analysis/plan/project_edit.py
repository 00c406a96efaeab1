"""Write dependency groups into pyproject.toml (tomlkit) and re-lock, or leave both files as they were.

Every other byte of pyproject.toml is kept, and so is every entry of a group
that exists already. A file that changed on disk since it was read is never
overwritten. `uv lock` runs in an environment that cannot turn it into a
mere check, and `uv lock --check` must pass afterwards. If anything fails
(or SIGINT/SIGTERM arrives), the journal (`journal.py`) puts back each file
that still holds what uvscope wrote, and the reason is told in one line.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from dataclasses import dataclass

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import UvscopeError
from ..journal import Journal
from ..packages.uvlock import parse_lock
from .grouping import REST, Grouping, GroupingError, parse_group_option
from .sync_groups import SyncedGroups

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


def _parse(text: str, path: str):
    try:
        return tomlkit.parse(text)
    except Exception as error:  # tomlkit raises several exception types for bad TOML
        raise UvscopeError(f"{path}: not valid TOML ({error})") from None


def runtime_requirement_lists(
    text: str, path: str = "pyproject.toml", extras: frozenset[str] = frozenset(), groups: SyncedGroups = SyncedGroups()
) -> dict[str, list[str]]:
    """`[project.dependencies]` (and the `extras` and dependency `groups` the image installs) as canonical
    name -> every requirement string naming it, as written."""
    document = _parse(text.removeprefix(BOM), path)
    project = document.get("project")
    dependencies = list(project.get("dependencies", [])) if isinstance(project, dict) else []
    optional = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    if isinstance(optional, dict):
        for extra, items in optional.items():
            if ("*" in extras or canonicalize_name(extra) in extras) and isinstance(items, list):
                dependencies += list(items)
    declared = document.get("dependency-groups")
    if isinstance(declared, dict):
        for key in declared:
            if key in groups:
                dependencies += _group_entries(declared, key)
    result: dict[str, list[str]] = {}
    for item in dependencies:
        try:
            requirement = Requirement(str(item))
        except InvalidRequirement:
            continue
        result.setdefault(str(canonicalize_name(requirement.name)), []).append(str(item))
    return result


def _group_entries(groups, key: str, seen: frozenset[str] = frozenset()) -> list[str]:
    """The requirement strings of dependency group `key`, its `include-group`s followed."""
    entries: list[str] = []
    for entry in groups[key] if isinstance(groups[key], list) else []:
        if isinstance(entry, str):
            entries.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            included = _group_key(groups, entry["include-group"])
            if included is not None and included not in seen:
                entries += _group_entries(groups, included, seen | {key})
    return entries


def runtime_requirements(text: str, path: str = "pyproject.toml") -> dict[str, str]:
    """`[project.dependencies]` as canonical name -> its first requirement string."""
    return {name: strings[0] for name, strings in runtime_requirement_lists(text, path).items()}


def _same_requirement(text: str) -> str:
    try:
        return str(Requirement(text))
    except InvalidRequirement:
        return text.strip()


def _group_key(groups, name: str) -> str | None:
    """The key of an existing group that PEP 735 treats as `name` (names are normalized)."""
    wanted = canonicalize_name(name)
    return next((key for key in groups if canonicalize_name(key) == wanted), None)


def with_groups(
    text: str,
    grouping: Grouping,
    path: str = "pyproject.toml",
    extras: frozenset[str] = frozenset(),
    installed: frozenset[str] | None = None,
    synced: SyncedGroups = SyncedGroups(),
) -> str:
    """pyproject.toml text with `[dependency-groups]` entries for `grouping`.

    Each group gets every requirement string of its packages, copied from
    `[project.dependencies]`, the extras and the dependency groups the image installs (`synced`;
    all of them stay where they are). A group that exists
    already keeps every entry and comment it has; only what it lacks is added,
    and it may hold nothing outside `installed` (what the image installs, when given).
    Everything else is unchanged, byte for byte; a BOM and CRLF line ends stay.
    """
    bom = text.startswith(BOM)
    body = text.removeprefix(BOM)
    crlf = "\r\n" in body and body.count("\n") == body.count("\r\n")
    document = _parse(body, path)
    requirements = runtime_requirement_lists(body, path, extras, synced)
    if "dependency-groups" not in document:
        if body and not body.endswith("\n"):
            document.add(tomlkit.nl())
        if not body.endswith("\n\n"):
            document.add(tomlkit.nl())
        document["dependency-groups"] = tomlkit.table()
    groups = document["dependency-groups"]
    if not isinstance(groups, dict):
        raise UvscopeError(f"{path}: dependency-groups is not a table")
    inline = isinstance(groups, tomlkit.items.InlineTable)
    for group in grouping.groups:
        missing = [name for name in group.packages if name not in requirements]
        if missing:
            where = ["[project.dependencies]"] + (["the extras the Dockerfile installs"] if extras else [])
            where.append(f"the dependency groups its uv sync installs ({synced.label()})")
            raise UvscopeError(
                f"{path}: {', '.join(missing)} not in {', '.join(where[:-1])} or {where[-1]}; only what the image installs can be grouped"
            )
        wanted = [item for name in group.packages for item in requirements[name]]
        key = _group_key(groups, group.name)
        if key is None:
            array = tomlkit.array()
            for item in wanted:
                array.append(item)
            if len(wanted) > 1 and not inline:
                array.multiline(True)
            groups[group.name] = array
            continue
        array = groups[key]
        if not isinstance(array, list):
            raise UvscopeError(f"{path}: dependency-groups.{key} is not a list; not changing it")
        if installed is not None:  # the runtime closure, and what the project asks for directly (extras included)
            _refuse_foreign_entries(groups, array, installed | frozenset(requirements), key, path)
        present = {_same_requirement(item) for item in array if isinstance(item, str)}
        for item in wanted:
            if _same_requirement(item) not in present:
                array.append(item)
                present.add(_same_requirement(item))
    out = tomlkit.dumps(document)
    if crlf:
        out = out.replace("\r\n", "\n").replace("\n", "\r\n")
    _check_only_groups_grew(body, out.removeprefix(BOM), grouping, path)
    return (BOM if bom else "") + out


def _refuse_foreign_entries(
    groups, entries: list, installed: frozenset[str], key: str, path: str, seen: frozenset[str] = frozenset()
) -> None:
    """An existing group may only hold what the image installs already: the rewrite installs the whole group
    in the final image, so anything else in it (directly or through an `include-group`) would ship too."""
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            included = _group_key(groups, entry["include-group"])
            if included is not None and included not in seen and isinstance(groups[included], list):
                _refuse_foreign_entries(groups, groups[included], installed, key, path, seen | {included})
            continue
        if not isinstance(entry, str):
            continue  # not PEP 735: uv refuses it when it locks
        try:
            name = canonicalize_name(Requirement(entry).name)
        except InvalidRequirement:
            continue
        if name not in installed:
            raise UvscopeError(
                f"{path}: dependency-groups.{key} already lists {entry.strip()!r}, which the image does not install; the "
                "rewrite installs the whole group in the image, so it would ship: give the packages a group name of their own"
            )


def _check_only_groups_grew(old_text: str, new_text: str, grouping: Grouping, path: str) -> None:
    """Refuse an edit that would drop or change anything the user wrote (a last guard)."""
    try:
        old, new = tomllib.loads(old_text), tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as error:
        raise UvscopeError(f"{path}: the edited file would not be valid TOML ({error}); nothing written") from None
    old_groups, new_groups = old.pop("dependency-groups", {}), new.pop("dependency-groups", {})
    problem = None
    if old != new:
        problem = "a setting outside [dependency-groups] would change"
    for key, entries in old_groups.items():
        if new_groups.get(key, [])[: len(entries)] != entries:
            problem = f"entries of the existing group {key!r} would change"
    for group in grouping.groups:
        key = _group_key(new_groups, group.name)
        if key is None or not new_groups[key]:
            problem = f"group {group.name!r} would be missing"
    if problem:
        raise UvscopeError(f"{path}: {problem}; nothing written")


def _versions(lock_text: str) -> dict[str, list[str]]:
    return parse_lock(lock_text, "uv.lock").pins()


@dataclass(frozen=True)
class LockResult:
    """What writing the groups did."""

    pyproject: str
    lock: str
    changed_versions: dict[str, tuple[list[str], list[str]]]


UV_VARIABLES_THAT_DEFEAT_A_RELOCK = (
    "UV_FROZEN",  # only checks the lock
    "UV_LOCKED",  # fails instead of updating
    "UV_NO_SYNC",
    "UV_OFFLINE",
    "UV_DRY_RUN",
    "UV_CHECK",
    "UV_UPGRADE",  # would change versions
    "UV_UPGRADE_PACKAGE",
    "UV_PROJECT",  # would lock another project
    "UV_WORKING_DIR",
    "UV_WORKING_DIRECTORY",
    "UV_NO_PROJECT",
)


def uv_environment() -> dict[str, str]:
    """The environment `uv lock` runs with: the user's, minus what would stop it re-locking this project."""
    env = {key: value for key, value in os.environ.items() if key not in UV_VARIABLES_THAT_DEFEAT_A_RELOCK}
    env["UV_NO_PROGRESS"] = "1"
    return env


def lock_timeout() -> float:
    """Seconds `uv lock` may take (`UVSCOPE_LOCK_TIMEOUT`, default 600)."""
    try:
        return float(os.environ.get("UVSCOPE_LOCK_TIMEOUT", "600"))
    except ValueError:
        return 600.0


def find_uv(uv: str | None = None) -> str:
    """The `uv` to run, with a one-line error when there is none."""
    uv = uv or shutil.which("uv")
    if uv is None:
        raise UvscopeError("uv is not on PATH: it is needed to re-lock after writing the groups (pip install uv)")
    return uv


def _last_line(result) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout or "").splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}, no output"


def relock(journal: Journal, lock_path: str, uv: str) -> str:
    """Run `uv lock` for the project of `lock_path` inside `journal`; verify it with `uv lock --check`.

    Raises (and the journal rolls back) if uv fails, hangs, would change a
    package version, or leaves a lock that `uv lock --check` rejects.
    """
    folder = os.path.dirname(os.path.abspath(lock_path))
    before_text = journal.entries[lock_path].original
    before = _versions(before_text.decode("utf-8")) if before_text is not None else {}
    env = uv_environment()
    result = journal.run([uv, "lock"], cwd=folder, env=env, timeout=lock_timeout(), writes=(lock_path,))
    if result.returncode != 0:
        raise UvscopeError(f"uv lock failed: {_last_line(result)}")
    after_data = read_project_file(lock_path)
    after = _versions(after_data.text)
    changed = {
        name: (before.get(name, []), after.get(name, [])) for name in set(before) | set(after) if before.get(name) != after.get(name)
    }
    if changed:
        names = ", ".join(f"{name} {' '.join(old) or '-'} -> {' '.join(new) or '-'}" for name, (old, new) in sorted(changed.items()))
        raise UvscopeError(f"uv lock would change package versions ({names})")
    check = journal.run([uv, "lock", "--check"], cwd=folder, env=env, timeout=lock_timeout())
    if check.returncode != 0:
        raise UvscopeError(f"uv lock did not bring uv.lock up to date (uv lock --check: {_last_line(check)})")
    return after_data.text


def refuse_read_only(path: str) -> None:
    """A file whose mode has no write bit was made read-only on purpose: do not replace it."""
    try:
        st = os.stat(path)
    except OSError:
        return
    if not st.st_mode & 0o222:
        raise UvscopeError(f"{path} is read-only; not changing it (make it writable to let uvscope edit it)")


@dataclass(frozen=True)
class PlannedWrite:
    """A file to write after the re-lock, and what it must still hold (None: it must not exist yet)."""

    path: str
    expected: bytes | None
    data: bytes


def write_and_relock(
    pyproject: ProjectFile, new_pyproject: bytes, lock_path: str, uv: str | None = None, then: PlannedWrite | None = None
) -> tuple[list[str], str]:
    """Write pyproject.toml, re-lock, then write `then` (the Dockerfile), all or nothing (also across SIGINT/SIGTERM).

    Before anything is written, a read-only file is refused, and so is one
    that changed on disk since it was read (or appeared, for a new file).
    Returns the paths written (uv.lock only if uv changed it) and uv.lock's text.
    """
    uv = find_uv(uv)
    for path in (pyproject.path, lock_path, then.path if then is not None and then.expected is not None else None):
        if path:
            refuse_read_only(path)
    read_project_file(lock_path)
    written = []
    with Journal(os.path.dirname(os.path.abspath(lock_path))) as journal:
        journal.track(pyproject.path, pyproject.data)
        journal.track(lock_path)
        if then is not None:
            journal.track(then.path, then.expected)
        if new_pyproject != pyproject.data:
            journal.write(pyproject.path, new_pyproject)
            written.append(pyproject.path)
        lock_text = relock(journal, lock_path, uv)
        if journal.entries[lock_path].written != journal.entries[lock_path].original:
            written.append(lock_path)
        if then is not None:
            journal.write(then.path, then.data)
            written.append(then.path)
        journal.commit()
    return written, lock_text


def write_groups_and_lock(pyproject: ProjectFile, new_text: str, lock_path: str, uv: str | None = None) -> LockResult:
    """Write pyproject.toml and re-lock, all or nothing: both files are as they were if anything fails."""
    _, lock_text = write_and_relock(pyproject, new_text.encode(), lock_path, uv)
    return LockResult(new_text, lock_text, {})


def merge_group_options(options: list[str]) -> list[str]:
    """`--group` options checked and merged: a repeated group name adds its packages to the first.

    `=idna`, `heavy=`, `heavy` and a package in two different groups are
    usage errors (one line, exit 2).
    """
    merged: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for option in options:
        try:
            name, packages = parse_group_option(option)
        except GroupingError as error:
            raise UvscopeError(str(error)) from None
        if not packages:
            raise UvscopeError(f"--group wants NAME=PKG[,PKG...], got {option!r}")
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", name) or name == REST:
            raise UvscopeError(f"--group {option!r}: {name!r} is not a valid dependency-group name")
        for package in packages:
            if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", str(package)):
                raise UvscopeError(f"--group {option!r}: {package!r} is not a package name")
        key = next((key for key in merged if canonicalize_name(key) == canonicalize_name(name)), name)
        group = merged.setdefault(key, [])
        for package in packages:
            if owner.get(package, key) != key:
                raise UvscopeError(f"--group: {package} is in two groups ({owner[package]} and {key})")
            owner[package] = key
            if package not in group:
                group.append(package)
    return [f"{name}={','.join(packages)}" for name, packages in merged.items()]
