"""Which workspace member an image was built for: one decision, used by every view.

The report, the findings, the session, the grouping editor and `optimize`
all ask `choose_member`, so they never disagree about the project an image
belongs to. A hint (`--package`, or `uv sync --package X` in the Dockerfile
or in the image's own build history) wins; otherwise the member whose runtime
closure best matches what is installed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

from packaging.utils import canonicalize_name

from ..errors import UvscopeError
from .uvlock import Dependency, Lock, buildable_members, closure

_SYNC = re.compile(r"\buv\s+sync\b(?P<args>[^\n&|;]*)")


def package_hint(text: str | None) -> str | None:
    """The member named by the last `uv sync ... --package X` in a Dockerfile or a build command, if any."""
    if not text:
        return None
    found = None
    for match in _SYNC.finditer(text.replace("\\\n", " ")):
        try:
            words = shlex.split(match.group("args"), comments=False)
        except ValueError:
            words = match.group("args").split()
        for index, word in enumerate(words):
            if word == "--package" and index + 1 < len(words):
                found = words[index + 1]
            elif word.startswith("--package="):
                found = word.partition("=")[2]
    return str(canonicalize_name(found)) if found else None


def history_hint(created_by: Iterable[str]) -> str | None:
    """The member the image's own build history names (`uv sync --package X` in a RUN), the last one wins."""
    found = None
    for command in created_by:
        hint = package_hint(command)
        if hint:
            found = hint
    return found


def member_closure(lock: Lock, member: str) -> set[str]:
    """What installing `member` installs: itself (unless virtual) and its runtime closure."""
    names = closure(lock, [Dependency(member)])
    virtual = {name for name in names if any("virtual" in package.source for package in lock.packages.get(name, []))}
    return names - virtual


def choose_member(lock: Lock, installed: Iterable[str] = (), hint: str | None = None) -> str | None:
    """The member the image was built for, or None when nothing tells (several members, nothing installed).

    `hint` (from `--package` or a Dockerfile) must name a member of the lock; it
    is an error otherwise. Without one, a single buildable member is the answer;
    with several, the one whose runtime closure is closest (Jaccard) to the
    installed set, ties to the one matching more packages, then by name.
    """
    candidates = buildable_members(lock)
    if hint:
        name = str(canonicalize_name(hint))
        if name not in lock.members:
            raise UvscopeError(f"no workspace member {hint!r}; members: {', '.join(sorted(lock.members))}")
        return name
    if len(candidates) == 1:
        return candidates[0]
    present = {str(canonicalize_name(name)) for name in installed}
    if not candidates or not present:
        return None

    def score(member: str) -> tuple[float, int, str]:
        wanted = member_closure(lock, member)
        common = len(wanted & present)
        union = len(wanted | present) or 1
        return (common / union, common, member)

    best = max(candidates, key=score)
    return best if score(best)[1] else None
