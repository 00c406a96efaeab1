"""Layers-to-be: dependency groups that get their own cached layer, and what they save.

A `Grouping` is an ordered list of groups (bottom layer first); every direct
dependency not in a group is in "the rest", installed by the final
`uv sync`. Moves are pure functions returning a new `Grouping`; the session's
drag and drop and `uvscope optimize --group` both call them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from packaging.utils import canonicalize_name

from ..errors import GroupingError  # noqa: F401  (raised here; defined with the other errors)
from ..packages.uvlock import Dependency, Lock, closure, items_for, runtime_roots

REST = "rest"
"""Name of the implicit last layer: everything `uv sync` installs after the groups."""
HEAVY_MIN_BYTES = 20_000_000
"""A direct dependency whose closure is at least this large is a candidate for its own layer."""


DEV_GROUP = "dev"
DEV_REFUSAL = "'dev' is uv's default group, which `uv sync --no-dev` leaves out: its layer would be empty in the image; choose another name"


@dataclass(frozen=True)
class Group:
    """A dependency group that gets its own layer."""

    name: str
    packages: tuple[str, ...] = ()
    """Direct dependencies (canonical names) whose closure this layer installs."""


@dataclass(frozen=True)
class Grouping:
    """Groups in layer order, bottom first; the rest is implicit."""

    groups: tuple[Group, ...] = ()

    def names(self) -> list[str]:
        return [group.name for group in self.groups]

    def group_of(self, package: str) -> str:
        """The group holding `package`, or `REST`."""
        package = canonicalize_name(package)
        return next((group.name for group in self.groups if package in group.packages), REST)

    def _index(self, name: str) -> int:
        for index, group in enumerate(self.groups):
            if group.name == name:
                return index
        raise GroupingError(f"no group {name!r}")

    def move(self, package: str, target: str, position: int | None = None) -> Grouping:
        """Move a direct dependency into group `target` (or `REST`), at `position` in it."""
        package = canonicalize_name(package)
        if target != REST:
            self._index(target)
        groups = [replace(group, packages=tuple(p for p in group.packages if p != package)) for group in self.groups]
        if target != REST:
            index = next(i for i, group in enumerate(groups) if group.name == target)
            packages = list(groups[index].packages)
            packages.insert(len(packages) if position is None else max(0, min(position, len(packages))), package)
            groups[index] = replace(groups[index], packages=tuple(packages))
        return Grouping(tuple(groups))

    def add_group(self, name: str, position: int | None = None) -> Grouping:
        """A new empty group (a valid dependency-group name), at `position` (default: on top)."""
        name = name.strip()
        if not name or name == REST or name in self.names():
            raise GroupingError(f"cannot name a group {name!r}")
        if (
            str(canonicalize_name(name)) != name.lower().replace("_", "-").replace(".", "-")
            or not name[0].isalnum()
            or not name[-1].isalnum()
        ):
            raise GroupingError(f"{name!r} is not a valid group name (letters, digits and . _ - inside, e.g. ml-libs)")
        if canonicalize_name(name) == DEV_GROUP:
            raise GroupingError(DEV_REFUSAL)
        groups = list(self.groups)
        groups.insert(len(groups) if position is None else position, Group(name))
        return Grouping(tuple(groups))

    def rename_group(self, old: str, new: str) -> Grouping:
        """Rename a group, keeping its place and packages."""
        index = self._index(old)
        renamed = Grouping(self.groups[:index] + self.groups[index + 1 :]).add_group(new, index)
        groups = list(renamed.groups)
        groups[index] = Group(new, self.groups[index].packages)
        return Grouping(tuple(groups))

    def delete_group(self, name: str) -> Grouping:
        """Remove a group; its packages go back to the rest."""
        index = self._index(name)
        return Grouping(self.groups[:index] + self.groups[index + 1 :])

    def reorder(self, name: str, delta: int) -> Grouping:
        """Move a group `delta` places up (towards the top layer) or down."""
        index = self._index(name)
        target = max(0, min(len(self.groups) - 1, index + delta))
        groups = list(self.groups)
        groups.insert(target, groups.pop(index))
        return Grouping(tuple(groups))


@dataclass(frozen=True)
class LayerPlan:
    """One layer-to-be: the packages it installs and their bytes."""

    name: str
    packages: tuple[str, ...]
    bytes: int


@dataclass(frozen=True)
class ChangeCost:
    """Bytes a typical change rebuilds and re-pushes, today and with the proposed grouping."""

    change: str
    today: int
    proposed: int


@dataclass(frozen=True)
class Preview:
    """The layers a grouping makes and what typical changes would cost."""

    layers: tuple[LayerPlan, ...]
    costs: tuple[ChangeCost, ...]


def union_bytes(lock: Lock, sizes: dict[str, int], member: str, names) -> int:
    """Bytes of the union of the closures of `member`'s direct dependencies `names`: a package
    two of them need is counted once (the size of the set, never the sum of closures)."""
    roots = {root.name: root for root in runtime_roots(lock, member)}
    reached = closure(lock, [roots[name] for name in names if name in roots]) - set(lock.members)
    return sum(sizes.get(name, 0) for name in reached)


def plan_layers(grouping: Grouping, lock: Lock, sizes: dict[str, int], member: str) -> list[LayerPlan]:
    """Each group's layer (what it installs that lower groups did not), then the rest."""
    roots = {root.name: root for root in runtime_roots(lock, member)}
    members = set(lock.members)
    installed: set[str] = set()
    plans = []
    for group in grouping.groups:
        # a package from an extra the image installs is not a runtime root: its own closure then
        names = closure(lock, [roots.get(name, Dependency(name)) for name in group.packages if name in lock.packages]) - installed - members
        installed |= names
        plans.append(LayerPlan(group.name, tuple(sorted(names)), sum(sizes.get(n, 0) for n in names)))
    rest = closure(lock, list(roots.values())) - installed - members
    plans.append(LayerPlan(REST, tuple(sorted(rest)), sum(sizes.get(n, 0) for n in rest)))
    return plans


def preview(grouping: Grouping, lock: Lock, sizes: dict[str, int], member: str, project_bytes: int = 0) -> Preview:
    """Layers of `grouping` and the bytes a version bump, a new light dependency and a
    source change rebuild today (one dependency layer) and with the groups.

    Today's figure assumes the usual uv Dockerfile: dependencies installed in one
    layer keyed on pyproject.toml and uv.lock, the project after. With groups,
    each group's layer is keyed on its exported pins only, so the first two
    changes rebuild just the rest.
    """
    layers = plan_layers(grouping, lock, sizes, member)
    everything = sum(layer.bytes for layer in layers)
    rest = layers[-1].bytes
    costs = (
        ChangeCost("version bump", everything + project_bytes, rest + project_bytes),
        ChangeCost("light dependency added", everything + project_bytes, rest + project_bytes),
        ChangeCost("application source changed", project_bytes, project_bytes),
    )
    return Preview(tuple(layers), costs)


def suggest(
    lock: Lock,
    sizes: dict[str, int],
    member: str,
    churn: dict[str, int] | None = None,
    name: str = "heavy",
    min_bytes: int = HEAVY_MIN_BYTES,
    also: Sequence[Dependency] = (),
) -> Grouping:
    """Heavy, rarely changing closures in one bottom group (empty when nothing is heavy).

    `churn` (package -> how many lock commits changed it) keeps packages that
    change more often than most out of the cached layer. `also`: the direct
    dependencies of the dependency groups the image installs.
    """
    items = items_for(lock, sizes, member, also)
    typical = sorted((churn or {}).values())[len(churn) // 2] if churn else None
    heavy = [
        item.name for item in items if item.closure_bytes >= min_bytes and (typical is None or (churn or {}).get(item.name, 0) <= typical)
    ]
    return Grouping((Group(name, tuple(heavy)),)) if heavy else Grouping()


def parse_group_option(text: str) -> tuple[str, list[str]]:
    """`heavy=torch,transformers` -> ("heavy", ["torch", "transformers"])."""
    name, sep, packages = text.partition("=")
    if not sep:
        raise GroupingError(
            f"--group wants NAME=PKG[,PKG...], got {text!r}: a group needs the packages it installs (e.g. {text.strip() or 'heavy'}=torch)"
        )
    if not name.strip() or not packages.strip():
        raise GroupingError(f"--group wants NAME=PKG[,PKG...], got {text!r}")
    if canonicalize_name(name.strip()) == DEV_GROUP:
        raise GroupingError(f"--group {text!r}: {DEV_REFUSAL}")
    return name.strip(), [canonicalize_name(p.strip()) for p in packages.split(",") if p.strip()]
