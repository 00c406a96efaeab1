"""The git history of uv.lock: which packages each commit added, removed or changed.

Read with `git log` and `git show COMMIT:path` only: the checkout is never
touched. The grouping suggestion uses it to keep often-changing packages out
of cached layers, and `uvscope history --lock-history` reports it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ReadCancelled, UvscopeError
from .uvlock import parse_lock

MAX_COMMITS = 500


@dataclass(frozen=True)
class LockCommit:
    """One commit that changed uv.lock, and how."""

    commit: str
    date: str
    subject: str
    added: dict[str, str]
    """name -> version."""
    removed: dict[str, str]
    changed: dict[str, tuple[str, str]]
    """name -> (old version, new version)."""
    versions: dict[str, str] = field(default_factory=dict)
    """Every package the commit's uv.lock pins: name -> version(s) (what `added` and `changed` compare)."""
    wheel_bytes: dict[str, int] = field(default_factory=dict)
    """The commit's uv.lock wheel sizes (`uvlock.wheel_sizes`): the planner sizes older versions with them."""

    @property
    def touched(self) -> set[str]:
        return set(self.added) | set(self.removed) | set(self.changed)


def _git(folder: str, *args: str) -> str:
    try:
        result = subprocess.run(["git", "-C", folder, *args], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UvscopeError(f"git could not run in {folder}: {error}") from None
    if result.returncode != 0:
        raise UvscopeError(f"git {args[0]} failed in {folder}: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    return result.stdout


def _read_lock(text: str, source: str) -> tuple[dict[str, str], dict[str, int]]:
    """A commit's uv.lock, parsed once: its pins (name -> version(s)) and wheel sizes; empty if it is not a lock."""
    try:
        lock = parse_lock(text, source)
    except UvscopeError:
        return {}, {}
    return {name: ",".join(versions) for name, versions in lock.pins().items()}, lock.wheel_sizes


def lock_history(folder: str, limit: int = MAX_COMMITS, cancelled: Callable[[], bool] | None = None) -> list[LockCommit]:
    """Commits that changed `folder/uv.lock`, oldest first, with their package changes.

    `cancelled()` is asked before each `git show` (one per commit): when it says yes the read
    stops with `ReadCancelled`, so a session that is closed does not wait for the rest.
    """
    if not os.path.isdir(folder):
        raise UvscopeError(f"no such folder: {folder}")
    top = _git(folder, "rev-parse", "--show-toplevel").strip()
    path = os.path.relpath(os.path.join(os.path.abspath(folder), "uv.lock"), top)
    log = _git(top, "log", f"-n{limit}", "--format=%H%x1f%cI%x1f%s", "--", path)
    entries = [line.split("\x1f") for line in log.splitlines() if line.count("\x1f") == 2]
    commits: list[LockCommit] = []
    previous: dict[str, str] = {}
    for commit, date, subject in reversed(entries):
        if cancelled is not None and cancelled():
            raise ReadCancelled
        try:
            text = _git(top, "show", f"{commit}:{path}")
        except UvscopeError:
            text = ""  # the commit deleted uv.lock
        current, wheels = _read_lock(text, f"{commit[:10]}:{path}")
        commits.append(
            LockCommit(
                commit,
                date,
                subject,
                added={n: v for n, v in current.items() if n not in previous},
                removed={n: v for n, v in previous.items() if n not in current},
                changed={n: (previous[n], v) for n, v in current.items() if n in previous and previous[n] != v},
                versions=current,
                wheel_bytes=wheels if current else {},
            )
        )
        previous = current
    return commits


def churn(commits: list[LockCommit]) -> dict[str, int]:
    """How many commits touched each package (its first appearance excluded)."""
    counts: dict[str, int] = {}
    for index, commit in enumerate(commits):
        for name in commit.touched if index else ():
            counts[name] = counts.get(name, 0) + 1
        for name in commit.added if index == 0 else ():
            counts.setdefault(name, 0)
    return counts


def is_git_checkout(folder: str) -> bool:
    """Whether `folder` is inside a git work tree (without raising)."""
    try:
        return _git(folder, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except UvscopeError:
        return False
