"""Match installed distributions to uv.lock: status, groups, closures, what is missing and why."""

from __future__ import annotations

import os
import posixpath
from collections import defaultdict
from dataclasses import dataclass

from ..errors import UvscopeError
from ..image.model import Image
from .attribution import Attribution, Distribution
from .member import choose_member
from .uvlock import MAIN, Lock, items_for, package_groups, parse_lock


def _read_lock_file(path: str) -> Lock:
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_lock(handle.read(), path)
    except (OSError, UnicodeDecodeError) as error:
        raise UvscopeError(f"cannot read {path}: {error}") from None


def _image_lock(image: Image, warnings: list[str] | None = None) -> Lock | None:
    candidates = []
    for candidate, visible in image.files.items():
        if posixpath.basename(candidate) == "uv.lock" and "-packages/" not in candidate:
            data = image.layers[visible.layer].contents.metadata.get(candidate)
            if data is not None:
                candidates.append((candidate.count("/"), candidate, data))
    if not candidates:
        return None
    _, candidate, data = min(candidates)
    try:
        return parse_lock(data.decode("utf-8", "replace"), f"image:/{candidate}")
    except UvscopeError as error:
        if warnings is None:
            raise
        warnings.append(f"{error}; packages are shown without lock information")
        return None


def _project_lock(project: str, warnings: list[str]) -> Lock | None:
    """DIR/uv.lock, or None with a warning when it is missing or broken (the image is still analysed)."""
    path = os.path.join(project, "uv.lock")
    if not os.path.isfile(path):
        warnings.append(f"no uv.lock in {project}")
        return None
    try:
        return _read_lock_file(path)
    except UvscopeError as error:
        warnings.append(str(error))
        return None


def _pinned(lock: Lock, installed: set[str]) -> int:
    return sum(name in lock.packages for name in installed)


def lock_mismatch(image: Image, project: str, project_lock: Lock, image_lock: Lock | None, installed: set[str]) -> str | None:
    """Why `project_lock` does not describe `image` (it was built from another project), or None.

    The image's own uv.lock names its members: none of them in the project's
    lock means another project. Without one, an image none of whose
    installed distributions the project's lock pins is not the project's.
    """
    ours = ", ".join(project_lock.members) or "no members"
    if image_lock is not None and not set(image_lock.members) & set(project_lock.members):
        theirs = ", ".join(image_lock.members) or "no members"
        return f"{image.meta.ref} was not built from {project} (its uv.lock is for {theirs}; {project}'s is for {ours})"
    if image_lock is None and installed and _pinned(project_lock, installed) == 0:
        return f"{image.meta.ref} was not built from {project}: none of its {len(installed)} installed packages is in {project}/uv.lock ({ours})"
    return None


@dataclass(frozen=True)
class LockChoice:
    """The uv.lock an image is compared with, and what the user should know about the choice."""

    lock: Lock | None
    warnings: tuple[str, ...] = ()
    mismatch: str = ""
    """Non-empty when `--project` names a project the image was not built from (one line)."""


def choose_lock(image: Image, attribution: Attribution, project: str | None = None) -> LockChoice:
    """The uv.lock to compare with: `project`'s, else the current folder's or the image's.

    Without `--project`, the current folder's lock is used when it describes
    the image at least as well as the lock the image carries (more installed
    packages pinned), so running uvscope from an unrelated checkout still
    finds the image's own lock. A missing or broken project lock, or one of
    another project, is a warning: the image's own lock is used instead.
    """
    warnings: list[str] = []
    installed = {dist.name for dist in attribution.distributions}
    inside = _image_lock(image, warnings)
    if project is not None:
        chosen = _project_lock(project, warnings)
        if chosen is None:
            fallback = "compared with the image's own uv.lock" if inside is not None else "packages are shown without lock information"
            warnings[-1] += f"; {fallback}"
            return LockChoice(inside, tuple(warnings))
        mismatch = lock_mismatch(image, project, chosen, inside, installed)
        if mismatch is None:
            return LockChoice(chosen, tuple(warnings))
        fallback = "figures come from the image's own uv.lock" if inside is not None else "packages are shown without lock information"
        return LockChoice(inside, tuple(warnings) + (f"{mismatch}; {fallback}",), mismatch)
    candidates = []
    local = os.path.join(os.path.abspath(os.getcwd()), "uv.lock")
    if os.path.isfile(local):
        try:
            candidates.append(_read_lock_file(local))
        except UvscopeError as error:
            warnings.append(f"{error} (ignored)")
    if inside is not None:
        candidates.append(inside)
    if not candidates:
        return LockChoice(None, tuple(warnings))
    return LockChoice(max(candidates, key=lambda lock: _pinned(lock, installed)), tuple(warnings))


@dataclass(frozen=True)
class LockStatus:
    """How one installed distribution relates to the lock."""

    status: str
    """`match`, `version-mismatch` or `absent` (installed outside the lock)."""
    version: str
    """The locked version (or versions, comma separated), `` when absent."""
    groups: tuple[str, ...]
    """`main`, group names and `extra:X` whose dependencies reach it."""


@dataclass(frozen=True)
class Closure:
    """Bytes that a direct dependency pulls in, over the lock graph."""

    member: str
    group: str
    name: str
    packages: tuple[str, ...]
    bytes: int
    exclusive_bytes: int
    """Bytes of packages only this direct dependency pulls in (what moving it would move)."""


@dataclass(frozen=True)
class LockMatch:
    """The lock read against the image."""

    lock: Lock
    environment: str
    """The environment compared with the lock (the one holding most locked packages)."""
    statuses: dict[tuple[str, str], LockStatus]
    missing: dict[str, str]
    """Locked packages not installed -> why, when it can be told."""
    dev_present: tuple[str, ...]
    """Installed packages that only a non-runtime group reaches (e.g. `dev`)."""
    closures: tuple[Closure, ...]
    """The runtime direct dependencies of `member`, weighed over what is installed, largest first."""
    sizes: dict[str, int]
    """Bytes of each package installed in `environment`: what grouping and closures weigh."""
    member: str | None = None
    """The workspace member the image was built for (`member.choose_member`), None when nothing tells."""

    def mismatches(self) -> list[tuple[str, str]]:
        """(name, status) of each package installed in `environment` that uv.lock does not pin at its version.

        The one list behind the `lock-mismatch` finding and the `require-lock-match` CI rule.
        """
        return [
            (name, status.status) for (env, name), status in self.statuses.items() if env == self.environment and status.status != "match"
        ]

    def closure_of(self, name: str) -> Closure | None:
        """The largest closure of the direct dependency `name` (it may be direct in several groups)."""
        return next((item for item in self.closures if item.name == name), None)


def match_lock(attribution: Attribution, lock: Lock, hint: str | None = None) -> LockMatch:
    """Compare what is installed with what `lock` pins, for the member the image was built for.

    `hint` names that member (`--package`, a Dockerfile's or the image history's
    `uv sync --package`); without it `choose_member` infers it from what is installed.
    Closures and their shared/exclusive bytes cover that member's runtime
    dependencies only: a package another member (not in the image) also
    needs is still exclusive here.
    """
    per_env: dict[str, dict[str, Distribution]] = defaultdict(dict)
    for dist in attribution.distributions:
        per_env[dist.environment][dist.name] = dist
    environment = max(per_env, key=lambda env: (sum(name in lock.packages for name in per_env[env]), env), default="")
    labels = package_groups(lock)
    statuses: dict[tuple[str, str], LockStatus] = {}
    for dist in attribution.distributions:
        versions = lock.versions(dist.name)
        if not versions:
            status = "absent"
        elif dist.version in versions:
            status = "match"
        else:
            status = "version-mismatch"
        statuses[dist.key] = LockStatus(status, ",".join(versions), tuple(sorted(labels.get(dist.name, ()))))
    installed = per_env.get(environment, {})
    missing = {}
    for name in sorted(lock.packages):
        if name in installed:
            continue
        reached = labels.get(name, set())
        project = next((p for p in lock.packages[name] if p.is_project), None)
        if project is not None:
            if "virtual" in project.source:
                missing[name] = (
                    "the project itself (not packaged: nothing to install)"
                    if project.dependencies
                    else "virtual workspace root (not installable)"
                )
            elif len(lock.members) > 1:
                missing[name] = "workspace member not installed (uv sync --package selects others)"
            else:
                missing[name] = "the project itself is not installed (--no-install-project)"
        elif not reached:
            missing[name] = "only reachable through an extra that is not requested"
        elif MAIN not in reached:
            missing[name] = "only in " + ", ".join(
                sorted(f"group {g}" if not g.startswith("extra:") else g.replace(":", " ") for g in reached)
            )
        else:
            missing[name] = "runtime dependency not installed (platform marker or --no-install option)"
    dev_present = tuple(sorted(name for name in installed if labels.get(name) and MAIN not in labels[name]))
    sizes = {name: dist.bytes for name, dist in installed.items()}
    member = choose_member(lock, installed, hint if hint in lock.members else None)
    closures = (
        tuple(
            Closure(member, MAIN, item.name, item.packages, item.closure_bytes, item.exclusive_bytes)
            for item in items_for(lock, sizes, member, pinnable=False)
        )
        if member is not None
        else ()
    )
    return LockMatch(lock, environment, statuses, missing, dev_present, closures, sizes, member)
