"""The optimizer on public uv projects' own Dockerfiles (`tests/realworld/NAME/`, see each ADAPTED.md).

Without an engine (always run): each real Dockerfile is rewritten with a group
of one of its own direct dependencies; the rewrite must parse, write twice to
the same file, strip back to the original byte for byte, and put the group's
layer before the first instruction that brings the project's files into the
install stage (a COPY from the context, a bind mount of it, or a COPY from a
stage that copied them, like prime-rl's `manifests` stage).

On the engine: `optimize --prove` (group `heavy=fastapi`, version bump + `six`)
on the projects this machine can build, measured from `docker save` by the
test: the ones marked for CI in every run, all of them with
`UVSCOPE_TESTS_REALWORLD=all`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from uvscope.analysis.plan.docker_rewrite import BEGIN, rewrite_dockerfile, strip_generated
from uvscope.analysis.plan.dockerfile import parse_dockerfile
from uvscope.analysis.plan.grouping import Group, Grouping

CORPUS = Path(__file__).parent.parent / "realworld"

CASES = [
    # project, Dockerfile, members (name -> folder), workspace, group, shape, environment, first project-file read
    ("uv-docker-example-Dockerfile", "Dockerfile", {"uv-docker-example": "."}, False, "fastapi", "single-stage", "/app/.venv", "RUN --mount"),
    ("uv-docker-example-multistage", "Dockerfile", {"uv-docker-example": "."}, False, "fastapi", "multi-stage", "/app/.venv", "RUN --mount"),
    ("uv-docker-example-standalone", "Dockerfile", {"uv-docker-example": "."}, False, "fastapi", "multi-stage", "/app/.venv", "RUN --mount"),
    ("uv-fastapi-example", "Dockerfile", {"uv-fastapi-example": "."}, False, "fastapi", "single-stage", "/app/.venv", "COPY . /app"),
    ("full-stack-fastapi-template", "backend/Dockerfile", {"app": "backend"}, True, "sqlmodel", "single-stage", "/app/.venv", "RUN --mount"),
    ("prime-rl", "Dockerfile.cuda", {"prime-rl": ".", "prime-rl-configs": "packages/prime-rl-configs"}, True, "torch", "multi-stage", "/app/.venv",
     "COPY --from=manifests"),
    ("lerobot", "Dockerfile.user", {"lerobot": "."}, False, "torch", "single-stage", "/lerobot/.venv", "COPY --chown=user_lerobot"),
]


@pytest.mark.parametrize("project, dockerfile, members, workspace, group, shape, environment, first_read", CASES, ids=[c[0] for c in CASES])
def test_real_dockerfile_is_rewritten_before_its_project_files(project, dockerfile, members, workspace, group, shape, environment, first_read):
    text = (CORPUS / project / dockerfile).read_text()
    grouping = Grouping((Group("heavy", (group,)),))
    once = rewrite_dockerfile(text, grouping, member_paths=members, workspace=workspace)
    assert (once.shape, once.environment) == (shape, environment)
    assert once.text != text
    assert rewrite_dockerfile(once.text, grouping, member_paths=members, workspace=workspace).text == once.text
    assert strip_generated(once.text) == (text, True)
    parsed = parse_dockerfile(once.text)
    sources = [parsed.source(ins).strip() for ins in parsed.instructions]
    install = next(i for i, s in enumerate(sources) if "--no-deps -r /uvscope/heavy.txt" in s and parsed.instructions[i].keyword == "RUN")
    read = next(i for i, s in enumerate(sources) if s.startswith(first_read) and "/uvscope/" not in s and parsed.instructions[i].stage == parsed.instructions[install].stage)
    assert install < read, (sources[install], sources[read])
    assert f"--python {environment} " in sources[install]


ENGINE = [
    # project, the final image's interpreter, the image's own import, in every CI run (else with the flag)
    ("uv-docker-example-multistage", "python", "import fastapi, uv_docker_example", True),
    ("uv-docker-example-Dockerfile", "python", "import fastapi, uv_docker_example", False),
    ("uv-fastapi-example", "/app/.venv/bin/python", "import fastapi, app.main", True),
]
EVERY_PROJECT = os.environ.get("UVSCOPE_TESTS_REALWORLD") == "all"


@pytest.mark.engine
@pytest.mark.parametrize(
    "project, python, imports",
    [
        pytest.param(*case[:3], id=case[0], marks=[] if case[3] or EVERY_PROJECT else [pytest.mark.skip(reason="with UVSCOPE_TESTS_REALWORLD=all")])
        for case in ENGINE
    ],
)
def test_real_project_keeps_its_group_layer_on_the_engine(tmp_path, project, python, imports):
    from harness import DOCKER, docker, saved_images
    from realworld_bases import ensure_standins

    ensure_standins()
    context = tmp_path / project
    shutil.copytree(CORPUS / project, context, ignore=shutil.ignore_patterns("ADAPTED.md"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}", "UVSCOPE_DOCKER": DOCKER}
    args = ["optimize", "--project", str(context), "--group", "heavy=fastapi", "--prove", "--format", "json", "--keep-images",
            "--docker-build-option=--network=host"]
    result = subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], cwd=context, capture_output=True, text=True, timeout=1800, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    proof = json.loads(result.stdout[result.stdout.index("{\n") :])
    rows = {row["dockerfile"]: row for row in proof["results"]}
    try:
        revised, original = rows["revised"], rows["original"]
        saved = saved_images(revised["images"]["before"], revised["images"]["after"], original["images"]["after"])
        before = {diff_id for diff_id, _, _ in saved[revised["images"]["before"]]}
        after = saved[revised["images"]["after"]]
        recreated = sum(size for diff_id, size, _ in after if diff_id not in before)
        total = sum(size for _, size, _ in after)
        holders = [d for d, _, entries in saved[revised["images"]["before"]] if any(e.name.endswith("site-packages/fastapi/__init__.py") for e in entries)]
        assert len(holders) == 1 and holders[0] in {d for d, _, _ in after}, "fastapi's layer was re-created"
        assert recreated <= 0.03 * total, (recreated, total)
        assert original["recreated_bytes"] > 10 * recreated
        assert total <= 1.01 * sum(size for _, size, _ in saved[original["images"]["after"]]), "the revised image grew"
        assert revised["groups_kept"] == {"heavy": True}
        ran = docker("run", "--rm", "--network", "none", "--entrypoint", python, revised["images"]["after"], "-c", f"{imports}; print('ok')", check=False)
        assert ran.stdout.strip() == "ok", ran.stderr[-2000:]
        print(f"{project}: {total} bytes; re-created original {original['recreated_bytes']}, revised {recreated}")
    finally:
        for row in rows.values():
            for tag in row["images"].values():
                docker("image", "rm", "--no-prune", tag, check=False)


def test_corpus_files_are_recorded():
    """Every corpus project says where its files come from and what this machine changed."""
    for project in {case[0] for case in CASES}:
        adapted = (CORPUS / project / "ADAPTED.md").read_text()
        assert "commit" in adapted and "github.com/" in adapted, project
    assert BEGIN  # the marker the rewrite writes
