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
from .docker_rewrite import ProjectDockerfile
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
        kept = lambda side, name: name in side  # noqa: E731 - what either sync installs stays installed
        excluded = frozenset(n for n in self.excluded | other.excluded if not kept(self, n) and not kept(other, n))
        return SyncedGroups(self.names | other.names, self.every or other.every, excluded)

    def label(self) -> str:
        """How a message names them: `all groups`, `all groups but dev`, `dev, docs` or `none`."""
        if self.every:
            return "all groups" + (f" but {', '.join(sorted(self.excluded))}" if self.excluded else "")
        return ", ".join(sorted(self.names - self.excluded)) or "none"


def default_groups(pyproject_text: str | None) -> tuple[frozenset[str], bool]:
    """`[tool.uv] default-groups` (a list, or `"all"`); `dev` when the project does not say."""
    try:
        tool = tomllib.loads(pyproject_text or "").get("tool", {}).get("uv", {})
    except (tomllib.TOMLDecodeError, AttributeError):
        tool = {}
    value = tool.get("default-groups") if isinstance(tool, dict) else None
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


def dockerfile_extras(docker: ProjectDockerfile | None) -> frozenset[str]:
    """The extras the Dockerfile's `uv sync` installs (`--extra X`, `--all-extras` as `*`): their packages can be grouped too."""
    if docker is None:
        return frozenset()
    try:
        syncs = docker.syncs
    except UvscopeError:
        return frozenset()
    extras: set[str] = set()
    for sync in syncs:
        words = list(sync.options)
        extras |= {str(canonicalize_name(words[i + 1])) for i, word in enumerate(words[:-1]) if word == "--extra"}
        extras |= {str(canonicalize_name(word.split("=", 1)[1])) for word in words if word.startswith("--extra=")}
        if "--all-extras" in words:
            extras.add("*")
    return frozenset(extras)


def dockerfile_groups(docker: ProjectDockerfile | None, pyproject_text: str) -> SyncedGroups:
    """The dependency groups the Dockerfile's `uv sync` installs (`dev` by default): their packages can be grouped too."""
    if docker is None:
        return SyncedGroups()
    try:
        syncs = docker.syncs
    except UvscopeError:
        return SyncedGroups()
    found = SyncedGroups()
    for sync in syncs:
        found |= synced_groups(sync.options, context_at(docker.user, sync.stage, sync.index).env, pyproject_text)
    return found


def option_values(words: Sequence[str], name: str) -> list[str]:
    """Every value of option `name` in `words` (`--name V` and `--name=V`), in order."""
    found = []
    for position, word in enumerate(words):
        if word == name and position + 1 < len(words):
            found.append(words[position + 1])
        elif word.startswith(name + "="):
            found.append(word.split("=", 1)[1])
    return found
