"""Re-locking after the groups are written: `uv lock` in an environment that cannot turn it into a mere check,
verified by `uv lock --check`, and every file of the change written all or nothing through the journal
(`journal.py`), which puts back each file that still holds what uvscope wrote if anything fails."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from ..errors import UvscopeError
from ..journal import Journal
from ..packages.uvlock import parse_lock
from .project_files import ProjectFile, read_project_file


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
    """What uv said went wrong, on one line: its `error:` (or `×`) headline and the root cause under it (the last
    `├─▶`/`╰─▶`/`Caused by:` line), else its last line (uv ends with `hint:` lines: what might help, not what failed)."""
    lines = [line.strip() for line in (result.stderr or result.stdout or "").splitlines() if line.strip()]
    if not lines:
        return f"exit code {result.returncode}, no output"
    for position, line in enumerate(lines):
        if line.startswith(("error:", "×")):
            said = line.removeprefix("×").strip()
            causes = []
            for later in lines[position + 1 :]:
                if not later.startswith(("├─▶", "╰─▶", "Caused by:")):
                    break
                cause = later.removeprefix("├─▶").removeprefix("╰─▶").removeprefix("Caused by:").strip()
                if cause:
                    causes.append(cause)
            if causes:
                said = f"{said.rstrip(':')}: {causes[-1]}"
            return said if len(said) <= 400 else said[:399] + "…"
    return lines[-1]


_PINNED_UV = re.compile(rb"ghcr\.io/astral-sh/uv:(\d+\.\d+(?:\.\d+)?)\b")


def _uv_version(uv: str, folder: str) -> str:
    """`uv --version`'s version (e.g. `0.13.9`), run in the project's `folder` as `uv lock` was; "" when it does not say."""
    try:
        said = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30, env=uv_environment(), cwd=folder).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    found = re.search(r"\b(\d+\.\d+\.\d+)\b", said)
    return found.group(1) if found else ""


def _version_hint(uv: str, dockerfile: bytes | None, folder: str) -> str:
    """Which uv re-locked, and the uv the Dockerfile builds with when it pins another: a newer uv may resolve
    the same constraints to other packages (a new lock revision, other markers)."""
    ran = _uv_version(uv, folder)
    pinned = _PINNED_UV.search(dockerfile or b"")
    hint = f"; uv {ran} re-locked" if ran else ""
    if pinned and ran and not (ran + ".").startswith(pinned.group(1).decode() + "."):
        hint += f", the Dockerfile builds with uv {pinned.group(1).decode()}: with that uv first on PATH the lock may keep its versions"
    return hint


def relock(journal: Journal, lock_path: str, uv: str, dockerfile: bytes | None = None) -> str:
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
        raise UvscopeError(f"uv lock would change package versions ({names}){_version_hint(uv, dockerfile, folder)}")
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
        lock_text = relock(journal, lock_path, uv, then.data if then is not None else None)
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
