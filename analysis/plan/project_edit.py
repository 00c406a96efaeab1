"""Write dependency groups into pyproject.toml (tomlkit), keeping every other byte, and check `--group` options.

Every entry of a group that exists already is kept, and the edit is refused if anything but the groups
would change. Reading the files is `project_files.py`; re-locking all or nothing is `relock.py` (both
re-exported here for the callers that name them from this module).
"""

from __future__ import annotations

import re
import tomllib

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import UvscopeError
from .grouping import REST, Group, Grouping, GroupingError, parse_group_option

# what callers of this module used before the split (reading the files, re-locking) is still named here
from .project_files import BOM as BOM
from .project_files import ProjectFile as ProjectFile
from .project_files import check_project_dir as check_project_dir
from .project_files import load_toml as load_toml
from .project_files import read_project_file as read_project_file
from .project_files import write_checked as write_checked
from .relock import LockResult as LockResult
from .relock import PlannedWrite as PlannedWrite
from .relock import find_uv as find_uv
from .relock import uv_environment as uv_environment
from .relock import write_and_relock as write_and_relock
from .relock import write_groups_and_lock as write_groups_and_lock
from .sync_groups import SyncedGroups


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
    inherited: dict[str, list[str]] | None = None,
) -> str:
    """pyproject.toml text with `[dependency-groups]` entries for `grouping`.

    Each group gets every requirement string of its packages, copied from
    `[project.dependencies]`, the extras and the dependency groups the image installs (`synced`;
    all of them stay where they are). A group that exists
    already keeps every entry and comment it has; only what it lacks is added,
    and it may hold nothing outside `installed` (what the image installs, when given).
    Everything else is unchanged, byte for byte; a BOM and CRLF line ends stay.
    `inherited`: requirements the member gets through another workspace member
    (`uvlock.inherited_requirements`), used for what its own file does not name.
    """
    bom = text.startswith(BOM)
    body = text.removeprefix(BOM)
    crlf = "\r\n" in body and body.count("\n") == body.count("\r\n")
    document = _parse(body, path)
    requirements = {**(inherited or {}), **runtime_requirement_lists(body, path, extras, synced)}
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
            where += ["the workspace members it depends on"] if inherited else []
            where.append(f"the dependency groups its uv sync installs ({synced.label()})")
            raise UvscopeError(
                f"{path}: {', '.join(missing)} not in {', '.join(where[:-1])} or {where[-1]}; only what the image installs can be grouped"
            )
        wanted = [item for name in group.packages for item in requirements[name]]
        key = _group_key(groups, group.name)
        if key is None:
            _refuse_sources_by_group(document, group, synced, path)
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
            _refuse_foreign_entries(groups, installed | frozenset(requirements), key, path)
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


def _source_groups(document, name: str) -> list[str]:
    """The dependency groups (or extras, as `extra:NAME`) `[tool.uv.sources]` picks `name`'s index by
    (`{ index = ..., group = "cpu" }`)."""
    sources = document.get("tool", {}).get("uv", {}).get("sources", {})
    if not isinstance(sources, dict):
        return []
    entry = next((value for key, value in sources.items() if canonicalize_name(key) == canonicalize_name(name)), None)
    entries = entry if isinstance(entry, list) else [entry]
    picked = [str(item["group"]) for item in entries if isinstance(item, dict) and "group" in item]
    return picked + [f"extra:{item['extra']}" for item in entries if isinstance(item, dict) and "extra" in item]


def name_by_sources(text: str, grouping: Grouping, synced: SyncedGroups) -> Grouping:
    """`grouping` (a suggestion) with the packages whose source is picked by a dependency group the image syncs
    moved into a group of that name (docling-serve's torch and torchvision into `cpu`), the rest kept as they
    were: a new group could not hold them (`_refuse_sources_by_group`)."""
    try:
        document = tomlkit.parse(text.removeprefix(BOM))
    except tomlkit.exceptions.ParseError:
        return grouping
    groups: list[Group] = []
    for group in grouping.groups:
        moved: dict[str, list[str]] = {}
        kept = []
        for name in group.packages:
            synced_here = [candidate for candidate in _source_groups(document, name) if candidate in synced]
            if synced_here:
                moved.setdefault(synced_here[0], []).append(name)
            else:
                kept.append(name)
        groups += [Group(source_group, tuple(names)) for source_group, names in moved.items()]
        groups += [Group(group.name, tuple(kept))] if kept else []
    return Grouping(tuple(groups))


def _refuse_sources_by_group(document, group, synced: SyncedGroups, path: str) -> None:
    """A package whose source is chosen by dependency group or extra (docling-serve's torch: one index per `cpu`,
    `cu128`... group, declared conflicting) can't go in a new group: it would have no source of its own and
    `uv lock` could not resolve. The group the image syncs can hold it, under its own name."""
    for name in group.packages:
        by_group = _source_groups(document, name)
        if not by_group:
            continue
        synced_here = [candidate for candidate in by_group if candidate in synced]
        packages = ",".join(other for other in group.packages if _source_groups(document, other) == by_group)
        instead = (
            f"name the group after the one the image syncs: --group {synced_here[0]}={packages}"
            if synced_here
            else "leave it out of the groups"
        )
        raise UvscopeError(
            f"{path}: {name}'s [tool.uv.sources] picks its index by dependency group or extra ({', '.join(by_group)}); "
            f"a new group {group.name!r} would have none and uv lock could not resolve it: {instead}"
        )


def _refuse_foreign_entries(groups, installed: frozenset[str], key: str, path: str) -> None:
    """An existing group may only hold what the image installs already: the rewrite installs the whole group
    in the final image, so anything else in it (directly or through an `include-group`) would ship too."""
    for entry in _group_entries(groups, key):
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
