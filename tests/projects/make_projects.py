"""The hostile-project corpus: uv projects that once made `uvscope optimize --write` lose or damage bytes.

Each `Case` says how to make the project (in a folder it is given), which
arguments and environment `optimize` gets, which fake `uv` (if any) is first
on PATH, and what must happen: the exit code, a piece of the one-line message,
and which files may differ afterwards (every other file, its bytes and its
metadata, must be exactly as before). `tests/test_projects.py` runs them all.

Run `python tests/projects/make_projects.py DIR` to make every project in DIR
(uv.lock files are made with the real `uv lock`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PYPROJECT = """\
# The service's project file; comments everywhere.
[project]
name = "svc"  # the service
version = "1.0.0"
requires-python = ">=3.11"
dependencies = [
    "idna>=3.4",  # international names
    "attrs>=22; python_version<'3.12'",
    "attrs>=23; python_version>='3.12'",  # newer on 3.12
    "six",
]

[tool.example]
keep = "me"  # untouched
"""

DOCKERFILE = """\
FROM python:3.12-slim
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /bin/
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev
"""

DOCKERFILE_COPIES_VENV = """\
FROM python:3.12-slim AS builder
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /bin/
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev

FROM python:3.12-slim
COPY --from=builder /app/.venv /app/.venv
"""

HEAVY = ["--group", "heavy=idna,attrs"]

FAKE_FAILS = 'print("error: No solution found when resolving dependencies", file=sys.stderr); sys.exit(1)'
FAKE_READ_ONLY_LOCK = 'print("error: failed to write uv.lock: Permission denied (os error 13)", file=sys.stderr); sys.exit(2)'
FAKE_CHANGES_VERSIONS = """
if sys.argv[1:] == ["lock"]:
    text = open("uv.lock").read()
    start = text.index('name = "idna"\\nversion = "')
    end = text.index('"', start + 25)
    open("uv.lock", "w").write(text[: start + 25] + "0.0.1" + text[end:])
"""
FAKE_EDITS_PYPROJECT = """
with open("pyproject.toml", "a") as handle:
    handle.write("# saved by the user while uv lock ran\\n")
print("error: interrupted resolution", file=sys.stderr)
sys.exit(1)
"""
FAKE_HANGS = """
import time
open(os.environ["FAKE_UV_STARTED"], "w").close()
time.sleep(120)
"""
FAKE_ONLY_CHECKS = """
if "--check" in sys.argv:
    print("error: The lockfile at `uv.lock` needs to be updated", file=sys.stderr)
    sys.exit(1)
"""


@dataclass
class Case:
    """One hostile project and what `optimize` must do with it."""

    name: str
    make: Callable[[Path], None]
    args: list[str] = field(default_factory=lambda: list(HEAVY) + ["--write"])
    code: int = 0
    message: str = ""
    """A piece of the one-line stderr message (errors), or of stdout (success)."""
    changed: tuple[str, ...] = ()
    """Files whose bytes must change (type, owner, group, mode and link count kept)."""
    created: tuple[str, ...] = ()
    fake_uv: str | None = None
    """Python code run as `uv` (first on PATH), or None for the real uv."""
    env: dict[str, str] = field(default_factory=dict)
    signal_after_start: int | None = None
    """Send this signal to uvscope once the fake uv has started."""
    needs_root: bool = False
    needs_tmpfs: bool = False
    check: Callable[[Path], None] | None = None
    """More assertions on the project afterwards."""
    no_lock: bool = False
    """Do not make a uv.lock with the real uv (the case makes its own files)."""
    after_lock: Callable[[Path], None] | None = None
    """A step made after the real `uv lock` (links, owners, modes, a broken pyproject.toml)."""


SUCCESS_CHANGES = ("pyproject.toml", "uv.lock", "Dockerfile")


def _write(folder: Path, name: str, data: str | bytes) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _standard(folder: Path, pyproject: str | bytes = PYPROJECT, dockerfile: str | None = DOCKERFILE) -> None:
    _write(folder, "pyproject.toml", pyproject)
    if dockerfile is not None:
        _write(folder, "Dockerfile", dockerfile)


def _groups(folder: Path, name: str = "pyproject.toml") -> dict:
    import tomllib

    return tomllib.loads((folder / name).read_bytes().decode().removeprefix("\ufeff")).get("dependency-groups", {})


def _heavy_has_every_string(folder: Path) -> None:
    heavy = _groups(folder)["heavy"]
    for wanted in ("idna>=3.4", "attrs>=22; python_version<'3.12'", "attrs>=23; python_version>='3.12'"):
        assert wanted in heavy, (wanted, heavy)
    assert "--only-group heavy" in (folder / "Dockerfile").read_text()


def _every_original_line_kept(original: str) -> Callable[[Path], None]:
    def check(folder: Path) -> None:
        new = (folder / "pyproject.toml").read_bytes().decode()
        missing = [line for line in original.splitlines() if line not in new.splitlines()]
        assert missing == [], missing
        _heavy_has_every_string(folder)

    return check


def _merged(folder: Path) -> None:
    text = (folder / "pyproject.toml").read_text()
    assert '"six>=1.16",  # do not remove' in text
    assert _groups(folder)["heavy"][:2] == ["six>=1.16", "idna>=3.4"]
    assert _groups(folder)["heavy"].count("idna>=3.4") == 1
    _heavy_has_every_string(folder)


def _crlf_kept(folder: Path) -> None:
    data = (folder / "pyproject.toml").read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") and b"heavy" in data


def _bom_kept(folder: Path) -> None:
    assert (folder / "pyproject.toml").read_bytes().startswith(b"\xef\xbb\xbf")
    _heavy_has_every_string(folder)


def _existing_group_merged(folder: Path) -> None:
    assert _groups(folder)["ml"] == ["six", "idna>=3.4"], _groups(folder)


def _inline_kept(folder: Path) -> None:
    _heavy_has_every_string(folder)
    assert _groups(folder)["dev"] == ["six"]
    assert (folder / "pyproject.toml").read_text().startswith("dependency-groups = { dev = [\"six\"]")


def _include_kept(folder: Path) -> None:
    _heavy_has_every_string(folder)
    assert _groups(folder)["heavy"][0] == {"include-group": "base"}
    assert "# base first" in (folder / "pyproject.toml").read_text()


def _user_edit_kept(folder: Path) -> None:
    text = (folder / "pyproject.toml").read_text()
    assert text.endswith("# saved by the user while uv lock ran\n") and "heavy" in text


def _immutable(folder: Path) -> None:
    subprocess.run(["chattr", "+i", str(folder / "uv.lock")], check=True)


def _latin1(folder: Path) -> None:
    _write(folder, "pyproject.toml", PYPROJECT.replace("# the service", "# caf\u00e9").encode("latin-1"))


def _broken_toml(folder: Path) -> None:
    _write(folder, "pyproject.toml", "[project\nname=")


def _immutable_folder(folder: Path) -> None:
    subprocess.run(["chattr", "+i", str(folder)], check=True)


def _one_heavy_group(folder: Path) -> None:
    _heavy_has_every_string(folder)
    assert (folder / "Dockerfile").read_text().count("--only-group heavy") == 1


def _workspace(folder: Path) -> None:
    _write(folder, "pyproject.toml", '[project]\nname = "ws"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
           'dependencies = []\n\n[tool.uv.workspace]\nmembers = ["packages/*"]  # every package\n')
    _write(folder, "packages/api/pyproject.toml", '[project]\nname = "api"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
           'dependencies = ["idna>=3.4", "attrs>=23"]  # api deps\n')
    _write(folder, "packages/worker/pyproject.toml", '[project]\nname = "worker"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
           'dependencies = ["six"]\n')


def _symlinked(folder: Path) -> None:
    _write(folder, "config/pyproject.toml", PYPROJECT)
    _write(folder, "config/Dockerfile", DOCKERFILE)
    os.symlink("config/pyproject.toml", folder / "pyproject.toml")
    os.symlink("config/Dockerfile", folder / "Dockerfile")


def _link_lock_into_config(folder: Path) -> None:
    if not (folder / "uv.lock").is_symlink():
        os.replace(folder / "uv.lock", folder / "config" / "uv.lock")
        os.symlink("config/uv.lock", folder / "uv.lock")


def _owned_by_someone_else(folder: Path) -> None:
    for name in ("pyproject.toml", "uv.lock", "Dockerfile"):
        os.chown(folder / name, 1234, 2345)
        os.chmod(folder / name, 0o664)


def _hard_linked(folder: Path) -> None:
    os.link(folder / "uv.lock", folder / "uv.lock.bak")
    os.link(folder / "pyproject.toml", folder / "pyproject.toml.bak")


def _both_names_agree(folder: Path) -> None:
    assert (folder / "uv.lock").read_bytes() == (folder / "uv.lock.bak").read_bytes()
    assert (folder / "pyproject.toml").stat().st_ino == (folder / "pyproject.toml.bak").stat().st_ino


def _read_only(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        os.chmod(folder / name, 0o444)

    return make


def _lock_mentions_heavy(folder: Path) -> None:
    assert "heavy" in (folder / "uv.lock").read_text()
    _heavy_has_every_string(folder)


def _uvscope_copy_kept(folder: Path) -> None:
    assert (folder / "Dockerfile.uvscope").read_text() == "# reviewed and hand-edited\n"
    assert "--only-group heavy" in (folder / "Dockerfile").read_text()


def cases() -> list[Case]:
    """Every case of the corpus. `make` is called on an empty folder; the runner then locks it with the real uv."""
    crlf = PYPROJECT.replace("\n", "\r\n")
    tabs = PYPROJECT.replace("    ", "\t")
    no_newline = PYPROJECT.rstrip("\n")
    with_group = PYPROJECT.replace("[tool.example]", '[dependency-groups]\nheavy = [\n  "six>=1.16",  # do not remove\n  "idna>=3.4",\n]\n\n[tool.example]')
    dev_group = PYPROJECT.replace("[tool.example]", '[dependency-groups]\ndev = ["six"]  # tests\n\n[tool.example]')
    ml_group = PYPROJECT.replace("[tool.example]", '[dependency-groups]\nml = ["six"]  # models\n\n[tool.example]')
    dotted = 'dependency-groups.dev = ["six"]  # dotted\n' + PYPROJECT
    inline = 'dependency-groups = { dev = ["six"] }  # inline\n' + PYPROJECT
    include = PYPROJECT.replace("[tool.example]", '[dependency-groups]\nbase = ["six"]\nheavy = [{include-group = "base"}]  # base first\n\n[tool.example]')
    return [
        # -- written, and only where intended ------------------------------------------------
        Case("plain", lambda f: _standard(f), changed=SUCCESS_CHANGES, message="wrote",
             check=_every_original_line_kept(PYPROJECT)),
        Case("existing-group-merged", lambda f: _standard(f, with_group), changed=SUCCESS_CHANGES, check=_merged),
        Case("existing-group-merged", lambda f: _standard(f, ml_group), args=["--group", "ml=idna", "--write"],
             changed=SUCCESS_CHANGES, check=_existing_group_merged),
        Case("dotted-groups", lambda f: _standard(f, dotted), changed=SUCCESS_CHANGES, check=_every_original_line_kept(dotted)),
        Case("inline-groups", lambda f: _standard(f, inline), changed=SUCCESS_CHANGES,
             check=_inline_kept),
        Case("include-group", lambda f: _standard(f, include), changed=SUCCESS_CHANGES,
             check=_include_kept),
        Case("crlf", lambda f: _standard(f, crlf), changed=SUCCESS_CHANGES, check=_crlf_kept),
        Case("tabs", lambda f: _standard(f, tabs), changed=SUCCESS_CHANGES, check=_every_original_line_kept(tabs)),
        Case("no-final-newline", lambda f: _standard(f, no_newline), changed=SUCCESS_CHANGES, check=_every_original_line_kept(no_newline)),
        Case("utf8-bom", lambda f: _standard(f, b"\xef\xbb\xbf" + PYPROJECT.encode()), changed=SUCCESS_CHANGES, check=_bom_kept),
        Case("repeated-group-option", lambda f: _standard(f), args=["--group", "heavy=idna", "--group", "heavy=attrs", "--write"],
             changed=SUCCESS_CHANGES, check=_one_heavy_group),
        Case("symlinks", _symlinked, changed=("config/pyproject.toml", "config/uv.lock", "config/Dockerfile"), after_lock=_link_lock_into_config),
        Case("owned-by-another-user", lambda f: _standard(f), changed=SUCCESS_CHANGES, needs_root=True, after_lock=_owned_by_someone_else),
        Case("hard-links", lambda f: _standard(f), changed=SUCCESS_CHANGES + ("uv.lock.bak", "pyproject.toml.bak"),
             check=_both_names_agree, after_lock=_hard_linked),
        Case("uv-frozen-in-environment", lambda f: _standard(f), changed=SUCCESS_CHANGES, check=_lock_mentions_heavy,
             env={"UV_FROZEN": "1", "UV_LOCKED": "1", "UV_NO_SYNC": "1"}),
        Case("dockerfile-uvscope-exists", lambda f: (_standard(f, dockerfile=DOCKERFILE_COPIES_VENV),
                                                     _write(f, "Dockerfile.uvscope", "# reviewed and hand-edited\n")),
             changed=SUCCESS_CHANGES, check=_uvscope_copy_kept),
        Case("workspace-package", _workspace, args=["--package", "api", "--group", "heavy=idna", "--write"],
             changed=("packages/api/pyproject.toml", "uv.lock")),
        # -- usage errors: exit 2, one line, nothing written ----------------------------------
        Case("group-without-name", lambda f: _standard(f), args=["--group", "=idna", "--write"], code=2, message="--group wants NAME=PKG"),
        Case("group-without-packages", lambda f: _standard(f), args=["--group", "heavy=", "--write"], code=2, message="--group wants NAME=PKG"),
        Case("group-without-equals", lambda f: _standard(f), args=["--group", "heavy", "--write"], code=2, message="--group wants NAME=PKG"),
        # uv's default group, which `uv sync --no-dev` leaves out: a layer of it would be empty (issue 15).
        Case("dev-group-refused", lambda f: _standard(f, dev_group), args=["--group", "dev=idna", "--write"], code=2,
             message="'dev' is uv's default group"),
        Case("package-in-two-groups", lambda f: _standard(f), args=["--group", "a=idna", "--group", "b=idna", "--write"], code=2,
             message="idna is in two groups"),
        Case("latin-1-pyproject", lambda f: _standard(f), code=2, message="is not UTF-8 text (byte 0xe9", after_lock=_latin1),
        Case("not-valid-toml", lambda f: _standard(f), code=2, message="not valid TOML", after_lock=_broken_toml),
        Case("not-a-runtime-dependency", lambda f: _standard(f), args=["--group", "heavy=numpy", "--write"], code=2,
             message="numpy not in [project.dependencies]"),
        Case("no-pyproject", lambda f: _write(f, "uv.lock", "version = 1\n"), code=2, message="no pyproject.toml in", no_lock=True),
        Case("no-uv-lock", lambda f: _standard(f), code=2, message="run `uv lock` first", no_lock=True),
        # -- refusals: nothing written --------------------------------------------------------
        Case("read-only-pyproject", lambda f: _standard(f), code=2, message="pyproject.toml is read-only", after_lock=_read_only("pyproject.toml")),
        Case("read-only-lock", lambda f: _standard(f), code=2, message="uv.lock is read-only", after_lock=_read_only("uv.lock")),
        Case("uv-cannot-write-the-lock", lambda f: _standard(f), code=2, fake_uv=FAKE_READ_ONLY_LOCK,
             message="uv lock failed: error: failed to write uv.lock: Permission denied (os error 13); pyproject.toml, uv.lock and Dockerfile are as they were"),
        Case("immutable-lock", lambda f: _standard(f), code=2, message="uv lock failed", needs_root=True, after_lock=_immutable),
        Case("immutable-folder", lambda f: _standard(f), code=2, needs_root=True, after_lock=_immutable_folder,
             message="uv lock failed"),
        Case("disk-full", lambda f: _standard(f), code=2, message="No space left on device", fake_uv=FAKE_FAILS, needs_tmpfs=True),
        # -- a fake uv that fails, lies, edits, hangs or is interrupted -------------------------
        Case("uv-fails", lambda f: _standard(f), code=2, fake_uv=FAKE_FAILS,
             message="uv lock failed: error: No solution found when resolving dependencies; pyproject.toml, uv.lock and Dockerfile are as they were"),
        Case("uv-changes-versions", lambda f: _standard(f), code=2, fake_uv=FAKE_CHANGES_VERSIONS,
             message="uv lock would change package versions (idna"),
        Case("uv-only-checks", lambda f: _standard(f), code=2, fake_uv=FAKE_ONLY_CHECKS,
             message="uv lock did not bring uv.lock up to date"),
        Case("uv-edits-pyproject", lambda f: _standard(f), code=2, fake_uv=FAKE_EDITS_PYPROJECT, changed=("pyproject.toml",),
             message="uv.lock and Dockerfile are as they were; pyproject.toml changed by someone else meanwhile and left as it is",
             check=_user_edit_kept),
        Case("uv-hangs", lambda f: _standard(f), code=2, fake_uv=FAKE_HANGS, env={"UVSCOPE_LOCK_TIMEOUT": "2"},
             message="uv lock did not finish in 2 s and was stopped; pyproject.toml, uv.lock and Dockerfile are as they were"),
        # -- the failure path keeps links, owners and hard links too --------------------------
        Case("symlinks-uv-changes-versions", _symlinked, code=2, fake_uv=FAKE_CHANGES_VERSIONS, after_lock=_link_lock_into_config,
             message="uv lock would change package versions (idna"),
        Case("owned-by-another-user-uv-fails", lambda f: _standard(f), code=2, fake_uv=FAKE_FAILS, needs_root=True,
             after_lock=_owned_by_someone_else, message="uv lock failed"),
        Case("hard-links-uv-changes-versions", lambda f: _standard(f), code=2, fake_uv=FAKE_CHANGES_VERSIONS,
             after_lock=_hard_linked, message="uv lock would change package versions (idna"),
        Case("sigint-during-lock", lambda f: _standard(f), code=130, fake_uv=FAKE_HANGS, signal_after_start=2,
             message="interrupted by SIGINT: pyproject.toml, uv.lock and Dockerfile are as they were"),
        Case("sigterm-during-lock", lambda f: _standard(f), code=143, fake_uv=FAKE_HANGS, signal_after_start=15,
             message="interrupted by SIGTERM: pyproject.toml, uv.lock and Dockerfile are as they were"),
    ]




def clean_uv_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("UV_")}
    env["UV_CACHE_DIR"] = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")
    env["UV_NO_PROGRESS"] = "1"
    return env


def make(case: Case, folder: Path, uv: str = "uv") -> None:
    """Make `case`'s project in `folder` (created), locked by the real uv unless the case says otherwise."""
    folder.mkdir(parents=True)
    case.make(folder)
    if not case.no_lock:
        subprocess.run([uv, "lock"], cwd=folder, env=clean_uv_environment(), check=True, capture_output=True, timeout=300)
    if case.after_lock is not None:
        case.after_lock(folder)


if __name__ == "__main__":
    root = Path(sys.argv[1])
    for case in cases():
        if not (case.needs_root and os.geteuid() != 0) and not case.needs_tmpfs:
            make(case, root / case.name)
            print(root / case.name)
