"""`optimize --prove` on docker 26's BuildKit 0.13 (buildx): a heredoc `RUN <<EOT` and `COPY --link`, shapes
20.10 cannot build. `--prove` builds with `docker buildx build --load` there (`build_command`), reads the four
images back from the containerd image store, and the groups' layer must survive the change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import harness
import pytest

from uvscope.analysis.plan.prove import build_command

pytestmark = pytest.mark.engine

SHAPES = Path(__file__).parent.parent / "shapes"


def test_build_command_per_client(docker26):
    """buildx present (the 26 CLI): `buildx build --load`; 20.10's client, which has no buildx and carries BuildKit
    itself: `docker build`; podman: `podman build`."""
    assert build_command(docker26.cli) == ([docker26.cli, "buildx", "build", "--load"], "docker")
    assert build_command(harness.DOCKER) == ([harness.DOCKER, "build"], "docker")
    podman = str(harness.ENGINES_BIN / "podman5")
    assert build_command(podman) == ([podman, "build"], "podman")


def _light_project(tmp_path: Path, engine: harness.Engine) -> Path:
    """The shapes project with numpy as its one heavy package (pandas left out: four builds stay quick), re-locked,
    with the heredoc + `COPY --link` Dockerfile on the uv base copied into `engine`."""
    context = tmp_path / "heredoc-link"
    shutil.copytree(SHAPES / "project", context)
    pyproject = context / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "pandas>=2.2",  # heavy\n', ""))
    subprocess.run([harness.uv_binary(), "lock", "-q"], cwd=context, check=True, capture_output=True, timeout=600)
    base = engine.copy_from_default(harness.uv_base_image())
    (context / "Dockerfile").write_text((SHAPES / "heredoc-link.Dockerfile").read_text().replace("{UV_BASE}", base))
    return context


def _prove(context: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"}
    args = [
        "optimize",
        "--project",
        str(context),
        "--prove",
        "--format",
        "json",
        "--group",
        "heavy=numpy",
        "--docker-build-option=--network=host",
    ]
    return subprocess.run(
        [sys.executable, "-m", "uvscope.app.cli", *args], cwd=context, capture_output=True, text=True, timeout=1200, env=env
    )


def test_heredoc_and_copy_link_prove_on_docker26(docker26, tmp_path):
    context = _light_project(tmp_path, docker26)
    result = _prove(context, docker26.env(UVSCOPE_DOCKER=docker26.cli, XDG_CACHE_HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr[-3000:]
    proof = json.loads(result.stdout[result.stdout.index("{\n") :])
    rows = {row["dockerfile"]: row for row in proof["results"]}
    revised, original = rows["revised"], rows["original"]
    assert revised["groups_kept"] == {"heavy": True}
    assert revised["recreated_share"] <= 0.03
    assert original["recreated_bytes"] > 10 * revised["recreated_bytes"]
    assert set(original["diff_ids"]["before"]) != set(original["diff_ids"]["after"])
    tags = [tag for row in rows.values() for tag in row["images"].values()]
    assert len(tags) == 4 and not [
        tag for tag in tags if harness.docker("image", "inspect", tag, check=False, engine=docker26).returncode == 0
    ]


def test_prove_with_podman(podman5, tmp_path):
    """`UVSCOPE_DOCKER=podman`: podman 5 (buildah 1.39) builds a heredoc `RUN` through its service, uvscope reads
    the images back through CONTAINER_HOST, and the group keeps its layer. `COPY --link`, which that buildah
    refuses, ends the proof with one line naming the file and the step."""
    context = _light_project(tmp_path, podman5)
    env = {**os.environ, "UVSCOPE_DOCKER": podman5.cli, "CONTAINER_HOST": harness.PODMAN5_HOST, "XDG_CACHE_HOME": str(tmp_path)}
    refused = _prove(context, env)
    lines = [line for line in refused.stderr.strip().splitlines() if "error" in line]
    assert refused.returncode != 0 and len(lines) == 1, refused.stderr
    assert "cannot build the original Dockerfile" in lines[0] and "COPY --link" in lines[0], lines
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("COPY --link ", "COPY "))
    result = _prove(context, env)
    assert result.returncode == 0, result.stderr[-3000:]
    proof = json.loads(result.stdout[result.stdout.index("{\n") :])
    rows = {row["dockerfile"]: row for row in proof["results"]}
    assert rows["revised"]["groups_kept"] == {"heavy": True}
    assert rows["original"]["recreated_bytes"] > 10 * rows["revised"]["recreated_bytes"]
    tags = [tag for row in rows.values() for tag in row["images"].values()]
    assert len(tags) == 4 and not [
        tag for tag in tags if harness.docker("image", "inspect", tag, check=False, engine=podman5).returncode == 0
    ]
