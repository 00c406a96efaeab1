"""`uvscope optimize --write` proven with real rebuilds on the engine, through a source change too.

(Every Dockerfile shape is proven by `test_optimize_shapes.py`; this one writes the files with
`--write`, then changes the version, adds a dependency and changes the source, and checks that
BuildKit reports the group's step CACHED each time.)

The original Dockerfile (the uv docs' pattern) and the revised one are built,
then the project gets (a) a version bump, (b) a new light dependency, (c) a
source change, each followed by `uv lock` and a rebuild of both. With the
revised Dockerfile the group's layer keeps its diff_id and BuildKit reports
its step cached, and new layers stay under 5% of the image; the original
re-creates its dependency layer in (a) and (b).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from harness import CA_BUNDLE, IMAGES, docker, ensure_base_image, uv_binary

from uvscope.analysis.packages.uvlock import parse_lock
from uvscope.analysis.read.sources import open_source

pytestmark = pytest.mark.engine

UV = str(Path(sys.executable).parent / "uv")


def _uvscope(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    return subprocess.run(
        [sys.executable, "-m", "uvscope.app.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )


def _context(tmp: Path, fixture: str, name: str) -> Path:
    folder = tmp / name
    shutil.copytree(IMAGES / fixture, folder)
    shutil.copy(uv_binary(), folder / "uv")
    shutil.copy(CA_BUNDLE, folder / "ca-certificates.crt")
    return folder


def _build(folder: Path, tag: str) -> tuple[str, list[str], list[int], list[str]]:
    result = docker("build", "--network", "host", "--progress", "plain", "-t", tag, str(folder), check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = open_source(tag, "docker").meta()
    return result.stderr, list(meta.diff_ids), [size or 0 for size in meta.layer_sizes], list(meta.created_by)


def _cached_steps(output: str) -> set[str]:
    """Titles of the BuildKit steps reported CACHED in plain progress output."""
    titles = dict(re.findall(r"^#(\d+) \[[^\]]*\] (.*)$", output, re.M))
    return {titles[number] for number in re.findall(r"^#(\d+) CACHED$", output, re.M) if number in titles}


def _lock(folder: Path) -> None:
    subprocess.run([UV, "lock", "-q"], cwd=folder, check=True, capture_output=True, timeout=600)


def _versions(folder: Path) -> dict[str, list[str]]:
    lock = parse_lock((folder / "uv.lock").read_text(), "uv.lock")
    return {name: sorted(p.version for p in packages) for name, packages in lock.packages.items()}


def _change(folders: list[Path], pyproject: str, change: str, step: int) -> None:
    for folder in folders:
        path = folder / pyproject
        text = path.read_text()
        if change == "bump":
            text = re.sub(r'^version = "([^"]+)"', f'version = "0.1.{step}"', text, count=1, flags=re.M)
            path.write_text(text)
        elif change == "light":
            text = text.replace("dependencies = [", 'dependencies = [\n    "idna>=3.4",', 1)
            path.write_text(text)
        if change in ("bump", "light"):
            _lock(folder)
        else:
            for source in folder.rglob("__init__.py"):
                source.write_text(source.read_text().replace("source-1", "source-2"))


def _new_bytes(before: list[str], after: list[str], sizes: list[int]) -> int:
    known = set(before)
    return sum(size for diff_id, size in zip(after, sizes) if diff_id not in known)


def _layer(created_by: list[str], diff_ids: list[str], needle: str) -> str:
    matches = [diff for command, diff in zip(created_by, diff_ids) if needle in command]
    assert len(matches) == 1, (needle, created_by)
    return matches[0]


def _optimize_and_check_pyproject(folder: Path, pyproject: str, group: str, package: str | None) -> None:
    before_text = (folder / pyproject).read_text()
    before_versions = _versions(folder)
    args = ["optimize", "--project", str(folder), "--group", group, "--write"]
    if package:
        args += ["--package", package]
    result = _uvscope(*args, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "uv export --frozen" in result.stdout and "wrote" in result.stdout
    after_text = (folder / pyproject).read_text()
    before, after = tomllib.loads(before_text), tomllib.loads(after_text)
    assert {k: v for k, v in after.items() if k != "dependency-groups"} == {k: v for k, v in before.items() if k != "dependency-groups"}
    assert after["dependency-groups"]["heavy"] and before.get("dependency-groups", {}).get("dev") == after["dependency-groups"].get("dev")
    # only lines were added, and all inside [dependency-groups]: every other byte is unchanged
    import difflib

    matcher = difflib.SequenceMatcher(a=before_text.splitlines(), b=after_text.splitlines(), autojunk=False)
    opcodes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert opcodes and all(op[0] == "insert" for op in opcodes)
    after_lines = after_text.splitlines()
    for _, _, _, start, end in opcodes:
        header = next(line for line in reversed(after_lines[:start]) if line.startswith("["))
        inserted = [line for line in after_lines[start:end] if line.strip()]
        assert header == "[dependency-groups]" or inserted[0] == "[dependency-groups]", after_lines[start:end]
    check = subprocess.run([UV, "lock", "--check"], cwd=folder, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert _versions(folder) == before_versions


def _prove(tmp_path: Path, fixture: str, pyproject: str, group: str, heavy_import: str, package: str | None = None) -> None:
    ensure_base_image()
    original = _context(tmp_path, fixture, "original")
    revised = _context(tmp_path, fixture, "revised")
    _optimize_and_check_pyproject(revised, pyproject, group, package)
    tag = f"uvscope-test/optimize-{fixture}"
    _, orig_ids, _, orig_cmds = _build(original, f"{tag}-orig:0")
    _, rev_ids, rev_sizes, rev_cmds = _build(revised, f"{tag}-rev:0")
    heavy = _layer(rev_cmds, rev_ids, "-r /uvscope/heavy.txt")
    orig_deps = _layer(orig_cmds, orig_ids, "--no-install-project" if fixture != "workspace" else "--no-install-workspace")
    for step, change in enumerate(("bump", "light", "source"), start=1):
        _change([original, revised], pyproject, change, step)
        _, new_orig_ids, new_orig_sizes, new_orig_cmds = _build(original, f"{tag}-orig:{step}")
        output, new_rev_ids, new_rev_sizes, new_rev_cmds = _build(revised, f"{tag}-rev:{step}")
        assert _layer(new_rev_cmds, new_rev_ids, "-r /uvscope/heavy.txt") == heavy, change
        assert any("heavy.txt" in title and "uv pip install" in title for title in _cached_steps(output)), change
        new = _new_bytes(rev_ids, new_rev_ids, new_rev_sizes)
        original_new = _new_bytes(orig_ids, new_orig_ids, new_orig_sizes)
        print(f"{fixture} {change}: revised rebuilt {new} of {sum(new_rev_sizes)} bytes; original rebuilt {original_new}")
        assert new <= 0.05 * sum(new_rev_sizes), (change, new, sum(new_rev_sizes))
        needle = "--no-install-project" if fixture != "workspace" else "--no-install-workspace"
        rebuilt = _layer(new_orig_cmds, new_orig_ids, needle) != orig_deps
        assert rebuilt == (change in ("bump", "light")), change
        orig_ids, rev_ids = new_orig_ids, new_rev_ids
        orig_deps = _layer(new_orig_cmds, new_orig_ids, needle)
    ran = docker("run", "--rm", "--network", "none", "--entrypoint", "/app/.venv/bin/python", f"{tag}-rev:3", "-c",
                 f"import {heavy_import}, idna; print('ok')")
    assert ran.stdout.strip() == "ok"


def test_workspace_member_image(tmp_path):
    _prove(tmp_path, "workspace", "packages/api/pyproject.toml", "heavy=six", "six, api, worker", package="api")
