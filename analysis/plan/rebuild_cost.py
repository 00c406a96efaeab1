"""What a change to the project re-creates in the final image, worked out from the Dockerfile itself.

The same walk runs on the user's Dockerfile ("today") and on uvscope's
revision ("with the groups"), so the preview never promises what the file
does not do. It follows BuildKit's cache rules as they play out for these
builds:

- a step whose inputs changed re-runs, and so does every `RUN` after it in
  its stage chain (a re-run `RUN` writes new files: a new layer);
- a `COPY` is keyed on what it copies: it makes the same layer again when
  its own files did not change, whatever ran before it;
- `COPY --from=stage` copies that stage's files: a stage whose steps re-ran
  changes them, except uvscope's export stage, whose output (a group's
  pins) a bump, a new light dependency or a source change leaves as it was.

A layer's bytes are the Python packages it installs (from the image's
per-package sizes, or uv.lock's wheel sizes), twice that when uv ran without
a cache mount (its cache of unpacked wheels stays in the layer), and the
project's own files.
Other steps (`apt-get`, ...) are not counted: the figures are the Python
part, which is what the groups move.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from ..packages.uvlock import Dependency, Lock, closure
from .docker_stages import context_at, copy_sources, covers, find_syncs
from .dockerfile import Dockerfile, Instruction, Stage
from .rewrite_markers import EXPORT_DIR, EXPORT_STAGE
from .sync_groups import option_values, synced_extras, synced_groups

CHANGES = ("version bump", "light dependency added", "application source changed")
LOCK_CHANGE = "lock change"
"""A past change of uv.lock (the history planner's step): the lock and pyproject.toml change, and the
exported pins of exactly the groups that install a package the change touched."""
_METADATA = {"pyproject.toml", "uv.lock", ".python-version"}
_PINS = re.compile(r"(^|/)(requirements[\w.-]*\.txt|constraints[\w.-]*\.txt|[\w.-]*\.lock)$")


@dataclass(frozen=True)
class Layer:
    """One step of a stage chain as the walk sees it."""

    stage: int
    index: int
    keyword: str
    recreated: bool
    packages: frozenset[str] = frozenset()
    project: bool = False
    cached: bool = False
    """uv ran without a cache mount or `--no-cache`: its cache (the unpacked wheels) stays in the layer too."""


@dataclass
class _StageState:
    layers: list[Layer] = field(default_factory=list)
    installed: set[str] = field(default_factory=set)
    project_installed: bool = False
    dirty: bool = False
    """Some step of the chain re-ran (its later RUNs re-run too)."""


@dataclass(frozen=True)
class RebuildCost:
    """Bytes a typical change re-creates in the final image, today and with the groups."""

    change: str
    today: int
    proposed: int


class _Walk:
    def __init__(
        self,
        dockerfile: Dockerfile,
        change: str,
        lock: Lock,
        member: str,
        sizes: dict[str, int],
        group_packages: dict[str, set[str]],
        member_dirs: frozenset[str] = frozenset(),
        touched: frozenset[str] | None = None,
    ):
        self.dockerfile = dockerfile
        self.touched = touched
        self.member_dirs = member_dirs
        self.change = change
        self.lock = lock
        self.member = member
        self.sizes = sizes
        self.group_packages = group_packages
        self.states: dict[int, _StageState] = {}
        syncs = find_syncs(dockerfile)
        self.environment = syncs[0].environment if syncs else "/.venv"
        self.project_dir = syncs[0].project_dir if syncs else "/"

    # -- what a change touches ------------------------------------------------------------------

    def _touches(self, source: str) -> bool:
        clean = posixpath.normpath(source.rstrip("/") or ".")
        name = posixpath.basename(clean)
        metadata_change = self.change != "application source changed"
        if clean in (".", "*", "/") or clean.endswith("/*"):
            return True
        if name in _METADATA:
            return metadata_change
        if _PINS.search(clean):
            return False
        if not metadata_change:
            return True
        # a folder holding a workspace member's pyproject.toml changes with a bump too
        return any(clean == d or clean.startswith(d + "/") or d.startswith(clean + "/") for d in self.member_dirs)

    # -- stages ---------------------------------------------------------------------------------

    def stage(self, stage: Stage) -> _StageState:
        if stage.index in self.states:
            return self.states[stage.index]
        parent = self.dockerfile.parent(stage)
        inherited = self.stage(parent) if parent is not None else _StageState()
        state = _StageState(list(inherited.layers), set(inherited.installed), inherited.project_installed, inherited.dirty)
        for index, instruction in self.dockerfile.stage_instructions(stage.index)[1:]:
            self._step(stage, index, instruction, state)
        self.states[stage.index] = state
        return state

    def _pins_changed(self, sources) -> bool:
        """Whether a lock change alters one of the exported pin files in `sources`."""
        if self.touched is None:
            return False  # a bump, a new light dependency or a source change leaves every group's pins as they were
        for source in sources:
            match = re.fullmatch(re.escape(EXPORT_DIR) + r"/([\w.-]+)\.txt", posixpath.normpath(source))
            if match and self.touched & self.group_packages.get(match.group(1), set()):
                return True
        return False

    def _from_stage_changed(self, reference: str, stage: Stage, sources=()) -> tuple[Stage | None, bool]:
        source = self.dockerfile.find_stage(reference, stage.index)
        if source is None:
            return None, False
        if source.name.lower() == EXPORT_STAGE:
            return source, self._pins_changed(sources)  # a group's pins change only with its own packages
        return source, any(layer.recreated for layer in self.stage(source).layers)

    def _step(self, stage: Stage, index: int, instruction: Instruction, state: _StageState) -> None:
        keyword = instruction.keyword
        if keyword in ("COPY", "ADD"):
            sources, destination = copy_sources(instruction)
            reference = instruction.flag("from")
            if reference is None:
                changed = any(self._touches(source) for source in sources)
                project = any(not _PINS.search(s) and posixpath.basename(s.rstrip("/")) not in _METADATA for s in sources)
                state.layers.append(Layer(stage.index, index, keyword, changed, project=project))
                state.dirty = state.dirty or changed
                return
            source_stage, changed = self._from_stage_changed(reference, stage, sources)
            packages: set[str] = set()
            project = False
            if source_stage is not None:
                source_state = self.stage(source_stage)
                if any(covers(source, self.environment) for source in sources):
                    packages = set(source_state.installed)
                    project = source_state.project_installed
                project = project or any(
                    covers(source, self.project_dir) or covers(self.project_dir, source)
                    for source in sources
                    if source_stage.name.lower() != EXPORT_STAGE
                )
            state.layers.append(Layer(stage.index, index, keyword, changed, frozenset(packages), project and changed))
            state.installed |= packages
            state.dirty = state.dirty or changed
            return
        if keyword != "RUN":
            return
        triggered = False
        for flag in instruction.flags:
            if not flag.startswith("--mount="):
                continue
            spec = dict(part.partition("=")[::2] for part in flag[len("--mount=") :].split(",") if part)
            if spec.get("type", "bind") != "bind":
                continue
            if "from" in spec:
                triggered |= self._from_stage_changed(spec["from"], stage, [spec.get("source", spec.get("src", "."))])[1]
            else:
                triggered |= self._touches(spec.get("source", spec.get("src", ".")))
        recreated = state.dirty or triggered
        state.dirty = recreated
        added, project = self._installs(stage, index, instruction, state)
        cached = bool(added) and self._cache_stays(stage, index, instruction)
        state.layers.append(Layer(stage.index, index, keyword, recreated, frozenset(added), project, cached))

    def _cache_stays(self, stage: Stage, index: int, instruction: Instruction) -> bool:
        if any(flag.startswith("--mount=") and "type=cache" in flag for flag in instruction.flags):
            return False
        if re.search(r"--no-cache\b|UV_NO_CACHE=(1|true)", instruction.script()):
            return False
        environment = context_at(self.dockerfile, stage, index).env
        return environment.get("UV_NO_CACHE", "").lower() not in ("1", "true", "yes") and "uv " in instruction.script()

    # -- what a RUN installs --------------------------------------------------------------------

    def _installs(self, stage: Stage, index: int, instruction: Instruction, state: _StageState) -> tuple[set[str], bool]:
        script = instruction.script()
        added: set[str] = set()
        project = False
        for segment in re.split(r"&&|\|\||;|\n", script):
            try:
                words = shlex.split(segment)
            except ValueError:
                words = segment.split()
            names: set[str]
            if "uv" in words and "sync" in words:
                options = words[words.index("sync") :]
                group = next(iter(option_values(options, "--only-group")), None)
                excluded = {canonicalize_name(v) for v in option_values(options, "--no-install-package")}
                if group:
                    names = self._group_closure(group)
                else:
                    names = self._sync_closure(options, context_at(self.dockerfile, stage, index).env)
                    if "--no-install-project" not in options and "--no-install-workspace" not in options:
                        project = project or "--no-editable" in options
                new = names - excluded - state.installed
                added |= new
                state.installed |= new
            elif "install" in words and ("pip" in words or "pip3" in words):
                requirements = option_values(words, "-r") + option_values(words, "--requirement")
                names = set()
                for path in requirements:
                    match = re.fullmatch(re.escape(EXPORT_DIR) + r"/([\w.-]+)\.txt", path)
                    if match:
                        names |= self.group_packages.get(match.group(1), set())
                position = words.index("install")
                for word in words[position + 1 :]:
                    if not word.startswith("-") and word not in requirements and re.match(r"[A-Za-z0-9]", word):
                        name = canonicalize_name(re.split(r"[\[<>=!~;@ ]", word, maxsplit=1)[0])
                        if name in self.lock.packages:
                            names |= {name} if "--no-deps" in words else closure(self.lock, [Dependency(name)])
                new = names - state.installed
                added |= new
                state.installed |= new
            elif "uninstall" in words and ("pip" in words or "pip3" in words):
                for path in option_values(words, "-r") + option_values(words, "--requirement"):
                    match = re.fullmatch(re.escape(EXPORT_DIR) + r"/([\w.-]+)\.txt", path)
                    if match:
                        state.installed -= self.group_packages.get(match.group(1), set())
        if project:
            state.project_installed = True
        return added, project

    def _sync_closure(self, options: list[str], env: dict[str, str]) -> set[str]:
        """What `uv sync` with these options installs: the runtime dependencies, the default `dev` group
        unless left out, and the extras and groups asked for."""
        packages = self.lock.packages.get(self.member, [])
        roots = [dep for package in packages for dep in package.dependencies]
        groups, extras = synced_groups(options, env), synced_extras(options)
        for package in packages:
            roots += [dep for name, deps in package.groups.items() if name in groups for dep in deps]
            roots += [dep for name, deps in package.optional.items() if "*" in extras or canonicalize_name(name) in extras for dep in deps]
        return closure(self.lock, roots) - set(self.lock.members)

    def _group_closure(self, group: str) -> set[str]:
        if group in self.group_packages:
            return set(self.group_packages[group])
        roots = [dep for package in self.lock.packages.get(self.member, []) for dep in package.groups.get(group, ())]
        return closure(self.lock, roots) - set(self.lock.members)

    # -- the answer -----------------------------------------------------------------------------

    def final_layers(self) -> list[Layer]:
        return self.stage(self.dockerfile.final).layers

    def recreated_bytes(self, project_bytes: int, sizes: Mapping[str, int] | None = None) -> int:
        """Bytes of the final image's re-created layers, packages sized by `sizes` (default: the walk's own)."""
        sizes = self.sizes if sizes is None else sizes
        total = 0
        for layer in self.final_layers():
            if layer.recreated:
                total += sum(sizes.get(name, 0) for name in layer.packages) * (2 if layer.cached else 1)
                if layer.project:
                    total += project_bytes
        return total


def recreated_in_final_image(
    dockerfile: Dockerfile,
    changes: Sequence[str | frozenset[str]],
    lock: Lock,
    member: str,
    sizes: dict[str, int],
    project_bytes: int,
    group_packages: dict[str, set[str]] | None = None,
    member_dirs: frozenset[str] = frozenset(),
    step_sizes: Sequence[Mapping[str, int] | None] | None = None,
) -> list[int]:
    """Bytes of Python packages and project files each change re-creates in the final image of `dockerfile`.

    A change is one of `CHANGES`, or a past change of uv.lock (`LOCK_CHANGE`): the
    packages whose pins it touched. A lock change is walked once per set of
    groups whose pins it alters (nothing else in the walk depends on it).
    `step_sizes` (one per change, None for today's `sizes`) sizes each change's
    packages and project as they were then.
    """
    groups = group_packages if group_packages is not None else _lock_groups(lock, member)
    walks: dict[tuple[str, frozenset[str]], _Walk] = {}
    figures: dict[tuple[str, frozenset[str]], int] = {}
    result = []
    for index, change in enumerate(changes):
        key: tuple[str, frozenset[str]]
        touched: frozenset[str] | None
        if isinstance(change, str):
            key, touched = (change, frozenset()), None
        elif not change:
            result.append(0)
            continue
        else:
            altered = frozenset(name for name, packages in groups.items() if change & packages)
            key, touched = (LOCK_CHANGE, altered), frozenset().union(*(groups[name] for name in altered))
        if key not in walks:
            walks[key] = _Walk(dockerfile, key[0], lock, member, sizes, groups, member_dirs, touched)
        then = step_sizes[index] if step_sizes is not None else None
        if then is not None:
            result.append(walks[key].recreated_bytes(then.get(member, project_bytes), then))
            continue
        if key not in figures:
            figures[key] = walks[key].recreated_bytes(project_bytes)
        result.append(figures[key])
    return result


def kept_packages(
    dockerfile: Dockerfile,
    lock: Lock,
    member: str,
    group_packages: dict[str, set[str]] | None = None,
    member_dirs: frozenset[str] = frozenset(),
) -> set[str]:
    """Packages the final image holds in layers that a version bump leaves as they were:
    what the Dockerfile already isolates (a stage or an earlier layer of its own, or uvscope's groups)."""
    walk = _Walk(dockerfile, CHANGES[0], lock, member, {}, group_packages or _lock_groups(lock, member), member_dirs)
    kept: set[str] = set()
    for layer in walk.final_layers():
        if not layer.recreated:
            kept |= layer.packages
    return kept


def rebuild_costs(
    original: Dockerfile,
    revised: Dockerfile,
    lock: Lock,
    member: str,
    sizes: dict[str, int],
    project_bytes: int,
    group_packages: dict[str, set[str]],
    member_dirs: frozenset[str] = frozenset(),
) -> tuple[RebuildCost, ...]:
    """Today and with the groups, for a version bump, a new light dependency and a source change."""
    today = recreated_in_final_image(original, CHANGES, lock, member, sizes, project_bytes, None, member_dirs)
    proposed = recreated_in_final_image(revised, CHANGES, lock, member, sizes, project_bytes, group_packages, member_dirs)
    return tuple(RebuildCost(*figures) for figures in zip(CHANGES, today, proposed))


def _lock_groups(lock: Lock, member: str) -> dict[str, set[str]]:
    """The member's dependency groups in uv.lock, each without what an earlier one installs (uvscope's export order)."""
    result: dict[str, set[str]] = {}
    seen: set[str] = set()
    for package in lock.packages.get(member, []):
        for group, deps in package.groups.items():
            names = closure(lock, list(deps)) - set(lock.members) - seen
            result[group] = names
            seen |= names
    return result


def group_packages_for(layers) -> dict[str, set[str]]:
    """Group -> packages from `grouping.plan_layers` (the rest excluded)."""
    return {layer.name: set(layer.packages) for layer in layers[:-1]}
