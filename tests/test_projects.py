"""Every hostile project of `tests/projects/make_projects.py` through `uvscope optimize --write`.

For each: the exit code, exactly one line on stderr for an error (never a
traceback or an internal error), and a byte-and-metadata snapshot of every
file of the project before and after: refusals change nothing at all (not
even an inode), successes change only the files the case names, keeping
their type, owner, group, mode and link count; no temporary file is left.
Success cases use the real `uv` (and then `uv lock --check` must pass);
failure cases put a fake `uv` first on PATH.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "projects"))

from make_projects import DOCKERFILE, PYPROJECT, Case, cases, clean_uv_environment, make  # noqa: E402

REAL_UV = shutil.which("uv")
CASES = {case.name: case for case in cases()}


def snapshot(root: Path) -> dict[str, dict]:
    """Every file, folder and link under `root`: kind, owner, group, mode, links, inode, link target, bytes."""
    result = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            st = os.lstat(path)
            entry = {
                "kind": stat.S_IFMT(st.st_mode),
                "mode": stat.S_IMODE(st.st_mode),
                "owner": (st.st_uid, st.st_gid),
                "nlink": st.st_nlink,
                "inode": st.st_ino,
            }
            if stat.S_ISLNK(st.st_mode):
                entry["link"] = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                entry["bytes"] = path.read_bytes()
            result[str(path.relative_to(root))] = entry
    return result


def _fake_uv(folder: Path, code: str) -> Path:
    folder.mkdir()
    uv = folder / "uv"
    uv.write_text(f"#!{sys.executable}\nimport os, sys\n{code}\n")
    uv.chmod(0o755)
    return folder


def _mount_tmpfs(folder: Path) -> None:
    folder.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {result.stderr.strip()}")


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.fixture
def project(request, tmp_path):
    case: Case = request.param
    if case.needs_root and os.geteuid() != 0:
        pytest.skip("needs root (owners of other users, immutable files)")
    if case.fake_uv is None and REAL_UV is None and case.code == 0:
        pytest.skip("the real uv is not on PATH")
    base = tmp_path
    if case.needs_tmpfs:
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs for the full-disk case needs root")
        base = tmp_path / "tmpfs"
        _mount_tmpfs(base)
    folder = base / "project"
    try:
        make(case, folder, REAL_UV or "uv")
        if case.needs_tmpfs:
            _fill(base)
        yield case, folder
    finally:
        if case.after_lock is not None and case.after_lock.__name__.startswith("_immutable"):
            subprocess.run(["chattr", "-i", str(folder), str(folder / "uv.lock")], capture_output=True)
        if case.needs_tmpfs:
            subprocess.run(["umount", str(base)], capture_output=True)


def _run(case: Case, folder: Path, tmp_path: Path) -> tuple[int, str, str]:
    env = dict(os.environ)
    env.update(clean_uv_environment())
    env.update(case.env)
    env.pop("UVSCOPE_DEBUG", None)
    started = tmp_path / "fake-uv-started"
    env["FAKE_UV_STARTED"] = str(started)
    if case.fake_uv is not None:
        env["PATH"] = f"{_fake_uv(tmp_path / 'bin', case.fake_uv)}:{env['PATH']}"
    command = [sys.executable, "-m", "uvscope.app.cli", "optimize", "--project", str(folder), *case.args]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if case.signal_after_start is not None:
        deadline = time.monotonic() + 60
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(case.signal_after_start)
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


@pytest.mark.parametrize("project", list(CASES.values()), ids=list(CASES), indirect=True)
def test_hostile_project(project, tmp_path):
    case, folder = project
    before = snapshot(folder)
    code, out, err = _run(case, folder, tmp_path)
    after = snapshot(folder)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == case.code, (code, out, err)
    if case.code != 0:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("uvscope: error: "), err
        assert case.message in lines[0], lines[0]
    else:
        assert err.strip() == "", err
        assert case.message in out
    assert sorted(after) == sorted(set(before) | set(case.created)), "files appeared or vanished"
    for name in case.created:
        assert after[name]["kind"] == stat.S_IFREG
    for name, old in before.items():
        new = after[name]
        if name in case.changed:
            assert new["bytes"] != old["bytes"], f"{name} should have changed"
            for key in ("kind", "mode", "owner", "nlink"):
                assert new[key] == old[key], f"{name}: {key} {old[key]} -> {new[key]}"
        else:
            assert new == old, f"{name} changed: {[key for key in old if old[key] != new.get(key)]}"
    if case.check is not None:
        case.check(folder)
    if case.code == 0 and case.fake_uv is None:
        check = subprocess.run([REAL_UV, "lock", "--check"], cwd=folder, env=clean_uv_environment(), capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_rerun_gives_the_same_files_as_one_run(tmp_path):
    """`--write` twice gives the same files as once: the group is already there, the Dockerfile's own blocks are replaced."""
    if REAL_UV is None:
        pytest.skip("the real uv is not on PATH")
    case = Case("rerun", lambda f: ((f / "pyproject.toml").write_text(PYPROJECT), (f / "Dockerfile").write_text(DOCKERFILE)))
    folder = tmp_path / "project"
    make(case, folder, REAL_UV)
    code, _, err = _run(case, folder, tmp_path)
    assert code == 0, err
    once = snapshot(folder)
    code, out, err = _run(case, folder, tmp_path)
    assert code == 0, err
    assert "nothing to write" in out
    twice = snapshot(folder)
    assert {name: {k: v for k, v in e.items() if k != "inode"} for name, e in twice.items()} == {
        name: {k: v for k, v in e.items() if k != "inode"} for name, e in once.items()
    }
