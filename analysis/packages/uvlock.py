"""uv.lock: parse it (tomllib), find the project's roots, groups and dependency closures."""

from __future__ import annotations

import os
import threading
import tomllib
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from packaging.utils import canonicalize_name

from ..errors import UvscopeError

MAIN = "main"
"""Label of a project's runtime dependencies (`[project.dependencies]`)."""


@dataclass(frozen=True)
class Dependency:
    """An edge of the lock graph."""

    name: str
    extras: tuple[str, ...] = ()
    marker: str = ""


@dataclass(frozen=True)
class LockPackage:
    """One `[[package]]` of uv.lock."""

    name: str
    version: str
    source: dict
    dependencies: tuple[Dependency, ...] = ()
    optional: dict[str, tuple[Dependency, ...]] = field(default_factory=dict)
    groups: dict[str, tuple[Dependency, ...]] = field(default_factory=dict)

    @property
    def is_project(self) -> bool:
        """Editable, virtual or local-directory packages: the workspace's own members."""
        return any(key in self.source for key in ("editable", "virtual")) or self.source.get("directory") == "."


@dataclass(frozen=True)
class Lock:
    """A parsed uv.lock."""

    source: str
    """Where it was read from: a path on disk or `image:/app/uv.lock`."""
    version: int
    packages: dict[str, list[LockPackage]]
    """Canonical name -> the locked versions (several when markers fork the resolution)."""
    members: tuple[str, ...]
    """The workspace members (the project itself for a single project)."""
    wheel_sizes: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Per-package bytes from the lock's wheel sizes (`wheel_sizes`), read in the same parse."""

    @property
    def folder(self) -> str | None:
        """The project folder whose uv.lock this is (None for a lock read from an image)."""
        return None if self.source.startswith("image:") or not os.path.isabs(self.source) else os.path.dirname(self.source)

    def pins(self) -> dict[str, list[str]]:
        """Every package's locked versions, sorted (several when markers fork the resolution)."""
        return {name: sorted(package.version for package in packages) for name, packages in self.packages.items()}

    def versions(self, name: str) -> list[str]:
        return [package.version for package in self.packages.get(canonicalize_name(name), [])]


def _deps(items) -> tuple[Dependency, ...]:
    result = []
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            extras = item.get("extra") or ()
            result.append(Dependency(canonicalize_name(item["name"]), tuple(extras), str(item.get("marker", ""))))
    return tuple(result)


_PARSED: OrderedDict[str, Lock] = OrderedDict()
"""The last few parses, by text: the session reads the project's uv.lock when it opens and again when the
grouping editor plans the files; the same text is one parse (a 10 MB lock takes about a second)."""
_PARSED_MAX = 4
_PARSED_LOCK = threading.Lock()


def parse_lock(text: str, source: str) -> Lock:
    """Parse the text of a uv.lock; a clear error if it is not one. The same text from the same source is
    parsed once (the `Lock` is frozen; callers never change its tables), whatever path it was read by."""
    with _PARSED_LOCK:
        found = _PARSED.get(text)
        if found is not None:
            if found.source != source:
                found = _PARSED[text] = replace(found, source=source)  # the same tables, named by this path
            _PARSED.move_to_end(text)
            return found
    lock = _parse_lock(text, source)
    with _PARSED_LOCK:
        _PARSED[text] = lock
        while len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return lock


def _parse_lock(text: str, source: str) -> Lock:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UvscopeError(f"{source}: not a valid uv.lock ({error})") from None
    packages: dict[str, list[LockPackage]] = defaultdict(list)
    raw_packages = data.get("package")
    if not isinstance(raw_packages, list):
        raise UvscopeError(f"{source}: not a uv.lock (no [[package]] entries)")
    for raw in raw_packages:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue
        package = LockPackage(
            name=canonicalize_name(raw["name"]),
            version=str(raw.get("version", "")),
            source=raw["source"] if isinstance(raw.get("source"), dict) else {},
            dependencies=_deps(raw.get("dependencies")),
            optional={str(k): _deps(v) for k, v in (raw.get("optional-dependencies") or {}).items()},
            groups={str(k): _deps(v) for k, v in (raw.get("dev-dependencies") or {}).items()},
        )
        packages[package.name].append(package)
    manifest = data["manifest"] if isinstance(data.get("manifest"), dict) else {}
    members: list[str] = [canonicalize_name(m) for m in manifest.get("members", []) if isinstance(m, str)]
    if not members:
        members = [name for name, versions in packages.items() if any(p.is_project for p in versions)]
    return Lock(source, int(data.get("version", 0) or 0), dict(packages), tuple(members), _wheel_sizes(data))


def _edges(lock: Lock, dependency: Dependency) -> list[Dependency]:
    edges: list[Dependency] = []
    for package in lock.packages.get(dependency.name, []):
        edges.extend(package.dependencies)
        for extra in dependency.extras:
            edges.extend(package.optional.get(extra, ()))
    return edges


def closure(lock: Lock, roots: list[Dependency], *, stop: frozenset[str] = frozenset()) -> set[str]:
    """Every package name reachable from `roots` (markers ignored: all platforms)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        dependency = stack.pop()
        if dependency.name in seen or dependency.name in stop:
            continue
        seen.add(dependency.name)
        stack.extend(_edges(lock, dependency))
    return seen


def closure_weights(lock: Lock, roots: dict, sizes: dict[str, int]) -> dict:
    """For each key -> direct dependency: (its closure, the closure's bytes, the bytes only it pulls in)."""
    reach = {key: closure(lock, [dependency]) for key, dependency in roots.items()}
    counts: dict[str, int] = defaultdict(int)
    for names in reach.values():
        for name in names:
            counts[name] += 1
    return {
        key: (names, sum(sizes.get(n, 0) for n in names), sum(sizes.get(n, 0) for n in names if counts[n] == 1))
        for key, names in reach.items()
    }


@dataclass(frozen=True)
class DirectDependency:
    """A direct dependency of a workspace member, in its runtime set or one group."""

    member: str
    group: str
    """`main` for runtime dependencies, else the group or `extra:NAME`."""
    dependency: Dependency


def direct_dependencies(lock: Lock) -> list[DirectDependency]:
    """The direct dependencies of every member, runtime first, then groups and extras."""
    result: list[DirectDependency] = []
    for member in lock.members:
        for package in lock.packages.get(member, []):
            result += [DirectDependency(member, MAIN, dep) for dep in package.dependencies]
            for group, deps in package.groups.items():
                result += [DirectDependency(member, group, dep) for dep in deps]
            for extra, deps in package.optional.items():
                result += [DirectDependency(member, f"extra:{extra}", dep) for dep in deps]
    return result


def buildable_members(lock: Lock) -> list[str]:
    """Members whose dependencies an image installs: every member with runtime dependencies
    (a non-packaged project is `virtual` in uv.lock but still has them)."""
    return [
        member
        for member in lock.members
        if any(package.dependencies for package in lock.packages.get(member, []))
        or not any("virtual" in package.source for package in lock.packages.get(member, []))
    ]


def package_groups(lock: Lock) -> dict[str, set[str]]:
    """For each package, the labels (`main`, group names, `extra:X`) whose closure reaches it."""
    labels: dict[str, set[str]] = defaultdict(set)
    by_label: dict[str, list[Dependency]] = defaultdict(list)
    for direct in direct_dependencies(lock):
        by_label[direct.group].append(direct.dependency)
    for label, roots in by_label.items():
        for name in closure(lock, roots):
            labels[name].add(label)
    for member in lock.members:
        labels[member].add(MAIN)
    return labels


@dataclass(frozen=True)
class Item:
    """A direct dependency the user can place in a group."""

    member: str
    name: str
    closure_bytes: int
    exclusive_bytes: int
    packages: tuple[str, ...] = ()
    """Its closure: every package installing it installs."""


def direct_runtime_roots(lock: Lock, member: str) -> list[Dependency]:
    """The member's runtime direct dependencies, as its pyproject.toml names them (a workspace member among them)."""
    return [d.dependency for d in direct_dependencies(lock) if d.member == member and d.group == MAIN]


def runtime_roots(lock: Lock, member: str, also: Sequence[Dependency] = ()) -> list[Dependency]:
    """The member's runtime direct dependencies (then `also`: those of the groups an image installs), what a group can pin.

    A workspace member among them is installed from its source, not pinned: its own runtime
    dependencies (and those of the extras asked of it) stand in for it, through any depth of members.
    """
    return [dependency for dependency, _ in _roots_and_origins(lock, member, also)]


def inherited_requirements(lock: Lock, member: str, also: Sequence[Dependency] = ()) -> dict[str, list[str]]:
    """Requirement strings, from uv.lock's edges, of the roots (`runtime_roots` with `also`) that reach `member`
    through another workspace member: a group of the member may hold them; its pyproject.toml does not name them."""
    found: dict[str, list[str]] = {}
    for dependency, origin in _roots_and_origins(lock, member, also):
        if origin != member:
            extras = f"[{','.join(dependency.extras)}]" if dependency.extras else ""
            marker = f"; {dependency.marker}" if dependency.marker else ""
            found.setdefault(dependency.name, []).append(f"{dependency.name}{extras}{marker}")
    return found


def _roots_and_origins(lock: Lock, member: str, also: Sequence[Dependency] = ()) -> list[tuple[Dependency, str]]:
    """(dependency, the member that names it) for `runtime_roots`: the member's runtime edges, then `also`, each
    workspace member among them expanded, in one walk of uv.lock's edges.

    A name reached twice is one root, the first one's, with the extras of both (and no marker if either has
    none): `torch[cuda]` of the member and plain `torch` of a sibling install the first."""
    edges: dict[tuple[str, str], list[Dependency]] = defaultdict(list)
    for direct in direct_dependencies(lock):
        edges[(direct.member, direct.group)].append(direct.dependency)
    members = set(lock.members)
    found: dict[str, tuple[Dependency, str]] = {}
    seen = {(member, MAIN)}
    pending: list[tuple[str, list[Dependency]]] = [(member, [*edges.get((member, MAIN), []), *also])]
    while pending:
        owner, dependencies = pending.pop(0)
        for dependency in dependencies:
            if dependency.name not in members:
                if dependency.name in found:
                    first, origin = found[dependency.name]
                    extras = tuple(sorted(set(first.extras) | set(dependency.extras)))
                    marker = first.marker if first.marker and dependency.marker else ""
                    found[dependency.name] = (Dependency(first.name, extras, marker), origin)
                else:
                    found[dependency.name] = (dependency, owner)
                continue
            for wanted in (MAIN, *(f"extra:{extra}" for extra in dependency.extras)):
                if (dependency.name, wanted) not in seen:
                    seen.add((dependency.name, wanted))
                    pending.append((dependency.name, list(edges.get((dependency.name, wanted), []))))
    return list(found.values())


def items_for(lock: Lock, sizes: dict[str, int], member: str, also: Sequence[Dependency] = (), *, pinnable: bool = True) -> list[Item]:
    """The member's runtime direct dependencies (and `also`: those of the groups an image installs) with their
    closure bytes, largest first. `pinnable`: what a group can hold (`runtime_roots`: another workspace member
    stands for its own dependencies); else the member's direct dependencies as its pyproject.toml names them."""
    if pinnable:
        roots = {root.name: root for root in runtime_roots(lock, member, also)}
    else:
        roots = {root.name: root for root in also}
        roots.update({root.name: root for root in direct_runtime_roots(lock, member)})
    weights = closure_weights(lock, roots, sizes)
    items = [Item(member, name, total, exclusive, tuple(sorted(names))) for name, (names, total, exclusive) in weights.items()]
    return sorted(items, key=lambda item: (-item.closure_bytes, item.name))


def wheel_sizes(lock_text: str, platform_hint: str = "manylinux") -> dict[str, int]:
    """Per-package bytes from uv.lock's wheel sizes (compressed: a floor for what installs), when no image is given."""
    try:
        data = tomllib.loads(lock_text)
    except tomllib.TOMLDecodeError as error:
        raise UvscopeError(f"uv.lock: not valid TOML ({error})") from None
    return _wheel_sizes(data, platform_hint)


def _wheel_sizes(data: dict, platform_hint: str = "manylinux") -> dict[str, int]:
    sizes: dict[str, int] = {}
    packages = data.get("package")
    for raw in packages if isinstance(packages, list) else []:  # a lock of another shape sizes nothing
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue
        listed = raw.get("wheels")
        wheels = [w for w in listed if isinstance(w, dict) and isinstance(w.get("size"), int)] if isinstance(listed, list) else []
        preferred = [w for w in wheels if platform_hint in str(w.get("url", "")) and "x86_64" in str(w.get("url", ""))]
        chosen = preferred or wheels
        if chosen:
            name = str(canonicalize_name(raw["name"]))
            sizes[name] = max(sizes.get(name, 0), max(int(w["size"]) for w in chosen))
    return sizes
