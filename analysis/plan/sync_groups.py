"""Which dependency groups a `uv sync` installs, read from its options, the build's environment and the
project's `[tool.uv] default-groups`, as uv decides it.

uv installs the default groups (`dev`, unless `default-groups` says otherwise) plus each `--group`,
minus `--no-dev`/`--no-default-groups` (and their `UV_NO_DEV`/`UV_NO_DEFAULT_GROUPS`) and each
`--no-group`; `--only-group`/`--only-dev` install those groups alone; `--all-groups` installs every
group. A group's packages are in the image as surely as `[project.dependencies]` are, so the optimizer
may group them too.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from ..errors import UvscopeError
from ..packages.uvlock import Dependency, Lock
from .build_shape import ProjectDockerfile
from .docker_stages import context_at

TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SyncedGroups:
    """The dependency groups one or more `uv sync` commands install."""

    names: frozenset[str] = frozenset()
    """Group names, normalized."""
    every: bool = False
    """`--all-groups` (or `default-groups = "all"`): every group the project declares but `excluded`."""
    excluded: frozenset[str] = frozenset()
    """`--no-group`, and `dev` under `--no-dev`."""

    def __contains__(self, group: str) -> bool:
        name = str(canonicalize_name(group))
        return name not in self.excluded and (self.every or name in self.names)

    def __or__(self, other: SyncedGroups) -> SyncedGroups:
        """What either sync installs: a group one leaves out and the other installs stays installed."""
        excluded = frozenset(n for n in self.excluded | other.excluded if n not in self and n not in other)
        return SyncedGroups(self.names | other.names, self.every or other.every, excluded)

    def label(self) -> str:
        """How a message names them: `all groups`, `all groups but dev`, `dev, docs` or `none`."""
        if self.every:
            return "all groups" + (f" but {', '.join(sorted(self.excluded))}" if self.excluded else "")
        return ", ".join(sorted(self.names - self.excluded)) or "none"


def _declared_default_groups(pyproject_text: str | None):
    """`[tool.uv] default-groups` as written (None: not set, or not readable)."""
    try:
        tool = tomllib.loads(pyproject_text or "").get("tool", {}).get("uv", {})
    except (tomllib.TOMLDecodeError, AttributeError):
        return None
    return tool.get("default-groups") if isinstance(tool, dict) else None


def default_groups(pyproject_text: str | None) -> tuple[frozenset[str], bool]:
    """`[tool.uv] default-groups` (a list, or `"all"`); `dev` when the project does not say."""
    value = _declared_default_groups(pyproject_text)
    if value == "all":
        return frozenset(), True
    if isinstance(value, list):
        return frozenset(str(canonicalize_name(item)) for item in value if isinstance(item, str)), False
    return frozenset({"dev"}), False


def synced_groups(options: Sequence[str], env: Mapping[str, str] | None = None, pyproject_text: str | None = None) -> SyncedGroups:
    """The groups `uv sync OPTIONS` installs in a build whose environment is `env`."""
    env = env or {}
    words = list(options)
    only = option_values(words, "--only-group") + (["dev"] if "--only-dev" in words else [])
    if only:
        return SyncedGroups(frozenset(str(canonicalize_name(name)) for name in only))
    defaults, every = default_groups(pyproject_text)
    if "--no-default-groups" in words or env.get("UV_NO_DEFAULT_GROUPS", "").lower() in TRUE:
        defaults, every = frozenset(), False
    names = set(defaults) | {str(canonicalize_name(name)) for name in option_values(words, "--group")}
    if "--dev" in words:
        names.add("dev")
    every = every or "--all-groups" in words
    excluded = {str(canonicalize_name(name)) for name in option_values(words, "--no-group")}
    excluded |= {str(canonicalize_name(name)) for name in env.get("UV_NO_GROUP", "").replace(",", " ").split()}
    if "--no-dev" in words or env.get("UV_NO_DEV", "").lower() in TRUE:
        excluded.add("dev")
    return SyncedGroups(frozenset(names), every, frozenset(excluded))


def synced_extras(options: Sequence[str]) -> frozenset[str]:
    """The extras `uv sync OPTIONS` installs, normalized (`--all-extras` as `*`)."""
    extras = {str(canonicalize_name(name)) for name in option_values(options, "--extra")}
    return frozenset(extras | ({"*"} if "--all-extras" in options else set()))


def dockerfile_extras(docker: ProjectDockerfile | None) -> frozenset[str]:
    """The extras the Dockerfile's `uv sync` installs: their packages can be grouped too."""
    try:
        syncs = docker.syncs if docker is not None else []
    except UvscopeError:
        return frozenset()
    return frozenset().union(*(synced_extras(sync.options) for sync in syncs))


def dockerfile_groups(docker: ProjectDockerfile | None, *pyproject_texts: str) -> SyncedGroups:
    """The dependency groups the Dockerfile's `uv sync` installs (`dev` by default): their packages can be grouped too.
    `default-groups` is the first of `pyproject_texts` (the member's, then the workspace root's) that sets it."""
    if docker is None:
        return SyncedGroups()
    try:
        syncs = docker.syncs
    except UvscopeError:
        return SyncedGroups()
    pyproject_text = next((text for text in pyproject_texts if _declared_default_groups(text) is not None), None)
    found = SyncedGroups()
    for sync in syncs:
        found |= synced_groups(sync.options, context_at(docker.user, sync.stage, sync.index).env, pyproject_text)
    return found


def group_roots(lock: Lock, member: str, synced: SyncedGroups) -> tuple[Dependency, ...]:
    """The member's dependencies from the groups its sync installs (`synced`), as uv.lock lists them: what a
    group may hold besides `[project.dependencies]`, and what the suggestion weighs with them."""
    return tuple(dep for locked in lock.packages.get(member, []) for name, deps in locked.groups.items() if name in synced for dep in deps)


def option_values(words: Sequence[str], name: str) -> list[str]:
    """Every value of option `name` in `words` (`--name V` and `--name=V`), in order."""
    found = []
    for position, word in enumerate(words):
        if word == name and position + 1 < len(words):
            found.append(words[position + 1])
        elif word.startswith(name + "="):
            found.append(word.split("=", 1)[1])
    return found
