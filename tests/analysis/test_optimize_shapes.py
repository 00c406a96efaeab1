"""`uvscope optimize --prove` on the Dockerfile shapes people write, checked against the engine.

Each shape under `tests/shapes/` is a real Dockerfile (the uv docs' intermediate
layers, the uv Docker example's multistage build, a non-editable `.venv` copy,
a workspace member, `--active`, a system prefix with uv from a RUN mount, a
parent stage with WORKDIR and a non-root USER, exec-form RUN). `--prove`
builds the original and the revised Dockerfile, bumps the version and adds a
light dependency, and rebuilds both. The test then reads the four images
itself, from `docker save` (not through uvscope): the layer that holds each
group's packages must be the same layer (same diff_id, computed here from the
tar) before and after the change, at most 3% of the final image's bytes may be
new, and the revised image must import everything. The original Dockerfile,
as `--prove` measured it, must re-create its dependency layer, so the test
can tell the difference.

The proofs are the suite's longest work (four builds each), so the selected
shapes' proofs start together when the first of these tests runs, a few at a
time (UVSCOPE_TESTS_PROOFS, default 3): the engine exports one image while
another's `uv sync` installs. Each proof tags its images with its own run id.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from harness import BASE_IMAGE, CA_BUNDLE, DOCKER, docker, python_slim_image, saved_images, uv_base_image, uv_binary_image

pytestmark = pytest.mark.engine

SHAPES = Path(__file__).parent.parent / "shapes"
MAX_SHARE = 0.03
GROUP_FOLDERS = ("site-packages/numpy/", "site-packages/pandas/")
"""A file under these (sources, bytecode, libraries) belongs to the groups."""


def _context(tmp: Path, shape: str, project: str) -> Path:
    folder = tmp / shape
    shutil.copytree(SHAPES / project, folder)
    text = (SHAPES / f"{shape}.Dockerfile").read_text()
    images = {"UV_BASE": uv_base_image(), "BASE": BASE_IMAGE, "PYSLIM": python_slim_image(), "UVBIN": uv_binary_image()}
    for key, value in images.items():
        text = text.replace("{" + key + "}", value)
    (folder / "Dockerfile").write_text(text)
    shutil.copy(CA_BUNDLE, folder / "ca-certificates.crt")  # for shapes that install uv with pip from PyPI
    return folder


def _uvscope(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}", "UVSCOPE_DOCKER": DOCKER}
    return subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=1800, env=env)


def _layers(saved: list, needles: tuple[str, ...]) -> list[tuple[str, int, set[str]]]:
    """(diff_id, bytes, needles found) of each layer of an image read by `harness.saved_images`."""
    result = []
    for diff_id, size, entries in saved:
        found = {needle for entry in entries for needle in needles if entry.name.endswith(needle)}
        if any(folder in entry.name and not entry.isdir() for entry in entries for folder in GROUP_FOLDERS):
            found.add("group file")
        result.append((diff_id, size, found))
    return result


def _measure(before_tag: str, after_tag: str, needles: tuple[str, ...]):
    saved = saved_images(before_tag, after_tag)  # one `docker save`: the layers both share are read once
    before, after = _layers(saved[before_tag], needles), _layers(saved[after_tag], needles)
    known = {diff_id for diff_id, _, _ in before}
    recreated = sum(size for diff_id, size, _ in after if diff_id not in known)
    total = sum(size for _, size, _ in after)
    holders = {needle: [diff_id for diff_id, _, found in before if needle in found] for needle in needles}
    after_ids = {diff_id for diff_id, _, _ in after}
    recreated_group_files = any("group file" in found for diff_id, _, found in after if diff_id not in known)
    return recreated, total, holders, after_ids, recreated_group_files


CASES = [
    # shape, project template, groups, --package, what the final image must import, its python
    ("docs-intermediate", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/app/.venv/bin/python"),
    ("example-multistage", "project", ["heavy=numpy", "ml=pandas"], None, "shapes_app", "/app/.venv/bin/python"),
    ("venv-no-editable", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/app/.venv/bin/python"),
    # attrs reaches svc-a through the member lib-b: a group can hold it all the same (its own: it is light)
    ("workspace-member", "workspace", ["heavy=numpy,pandas", "base=attrs"], "svc-a", "svc_a, lib_b, attrs", "/app/.venv/bin/python"),
    ("active-venv", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/opt/venv/bin/python"),
    ("system-prefix", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/usr/local/bin/python"),
    ("parent-workdir-user", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/app/.venv/bin/python"),
    ("json-run", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/app/.venv/bin/python"),
    ("as-builder", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/app/.venv/bin/python"),
    # shapes seen in public projects
    ("add-all-then-sync", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/app/.venv/bin/python"),
    ("pip-uv-in-sync-run", "project", ["heavy=numpy,pandas"], None, "numpy", "/app/.venv/bin/python"),
    ("opt-venv-no-editable", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/opt/venv/bin/python"),
    # the image is a named stage, not the last one: `optimize --target runtime`, proved as `docker build --target`
    ("multi-target", "project", ["heavy=numpy,pandas"], None, "shapes_app", "/app/.venv/bin/python"),
]
TARGETS = {"multi-target": "runtime"}
CI_SHAPES = {"docs-intermediate", "example-multistage", "workspace-member", "active-venv", "system-prefix", "multi-target"}
"""The shapes every run proves on the engine (one of each way the environment reaches the image); the others
with UVSCOPE_TESTS_SHAPES=all. Every shape's rewrite is checked without the engine by test_rewrite_forms.py."""
ALL_SHAPES = os.environ.get("UVSCOPE_TESTS_SHAPES") == "all"


def _shape_params():
    skip = pytest.mark.skip(reason="the other shapes' engine proofs run with UVSCOPE_TESTS_SHAPES=all")
    return [pytest.param(*case, id=case[0], marks=[] if case[0] in CI_SHAPES or ALL_SHAPES else [skip]) for case in CASES]


PARALLEL = int(os.environ.get("UVSCOPE_TESTS_PROOFS", "3"))
TEST_NAME = "test_groups_keep_their_layer_in_the_final_image"


@pytest.fixture(scope="module")
def proofs(request, tmp_path_factory):
    """shape -> (context, its files before, the running `optimize --prove`) for every shape this session selected."""
    selected = {
        item.callspec.params["shape"]
        for item in request.session.items
        if item.originalname == TEST_NAME and item.get_closest_marker("skip") is None
    }
    pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="prove")
    started: dict[str, tuple[Path, dict[Path, bytes], Future]] = {}
    for shape, project, groups, package, _, _ in CASES:
        if shape not in selected:
            continue
        context = _context(tmp_path_factory.mktemp("shapes"), shape, project)
        before_files = {path: path.read_bytes() for path in context.rglob("*") if path.is_file()}
        args = ["optimize", "--project", str(context), "--prove", "--no-push", "--format", "json", "--keep-images",
                "--docker-build-option=--network=host"]
        for group in groups:
            args += ["--group", group]
        if package:
            args += ["--package", package]
        if shape in TARGETS:
            args += ["--target", TARGETS[shape]]
        started[shape] = (context, before_files, pool.submit(_uvscope, *args, cwd=context))
    yield started
    pool.shutdown(cancel_futures=True)
    for _, _, future in started.values():  # a proof whose test did not run (a failure stopped the session) keeps no image
        if future.done() and not future.cancelled() and future.exception() is None:
            result = future.result()
            if result.returncode == 0 and "{\n" in result.stdout:
                for row in json.loads(result.stdout[result.stdout.index("{\n") :])["results"]:
                    for tag in row["images"].values():
                        docker("image", "rm", "--no-prune", tag, check=False)


@pytest.mark.parametrize("shape, project, groups, package, imports, python", _shape_params())
def test_groups_keep_their_layer_in_the_final_image(proofs, shape, project, groups, package, imports, python):
    context, before_files, running = proofs[shape]
    result = running.result()
    assert result.returncode == 0, result.stderr[-3000:]
    proof = json.loads(result.stdout[result.stdout.index("{\n") :])
    # --prove works in scratch copies: the project is untouched
    assert {path: path.read_bytes() for path in context.rglob("*") if path.is_file()} == before_files
    rows = {row["dockerfile"]: row for row in proof["results"]}
    needles = ("site-packages/numpy/__init__.py", "site-packages/pandas/__init__.py")

    revised = rows["revised"]
    recreated, total, holders, after_ids, group_files = _measure(revised["images"]["before"], revised["images"]["after"], needles)
    print(f"{shape}: revised re-created {recreated} of {total} bytes ({recreated / total:.2%})")
    for needle, diff_ids in holders.items():
        assert len(diff_ids) == 1, (needle, diff_ids)  # each heavy package lives in exactly one layer
        assert diff_ids[0] in after_ids, f"{needle}'s layer was re-created"
    assert recreated <= MAX_SHARE * total, (recreated, total)
    assert not group_files, "a re-created layer holds files of the groups (bytecode re-written by `uv sync`?)"
    assert all(revised["groups_kept"].values()) and set(revised["groups_kept"]) == {g.split("=")[0] for g in groups}
    assert revised["recreated_share"] <= MAX_SHARE

    original = rows["original"]
    # the original, as --prove measured it (the revised one above was measured here, from docker save)
    o_recreated = original["recreated_bytes"]
    print(f"{shape}: original re-created {o_recreated} of {original['image_bytes']} bytes ({original['recreated_share']:.2%})")
    assert set(original["diff_ids"]["before"]) != set(original["diff_ids"]["after"])
    assert o_recreated > 10 * recreated

    # the preview (worked out from the Dockerfile, sizes from the original image) agrees with the engine
    predicted = proof["predicted_bump"]
    assert predicted is not None
    for said, measured in ((predicted["today"], o_recreated), (predicted["with_groups"], recreated)):
        assert abs(said - measured) <= max(2_000_000, 0.05 * measured), (said, measured)

    # the report's "heavy dependencies share a layer" fires on the original and not on the revised image
    for tag, expected in ((original["images"]["after"], True), (revised["images"]["after"], False)):
        report = _uvscope("report", tag, "--format", "json", "--project", str(context), cwd=context)
        assert report.returncode == 0, report.stderr[-2000:]
        ids = {finding["id"] for finding in json.loads(report.stdout)["findings"]}
        assert ("heavy-layer-shared" in ids) == expected, (tag, ids)

    ran = docker("run", "--rm", "--network", "none", "--entrypoint", python, revised["images"]["after"], "-c",
                 f"import numpy, pandas, attrs, {imports}, {proof['change'].split('new dependency ')[1]}; print('ok')", check=False)
    assert ran.stdout.strip() == "ok", ran.stderr[-2000:]
    for row in rows.values():
        for tag in row["images"].values():
            docker("image", "rm", "--no-prune", tag, check=False)
