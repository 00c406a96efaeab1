"""The optimizer on public uv projects' own Dockerfiles (`tests/realworld/NAME/`, see each ADAPTED.md).

Each project's `case.toml` says which Dockerfile, members, heavy group and
expected shape it has, and whether (and on which engine) this machine builds
it; the tests discover every `tests/realworld/*/case.toml`.

Without an engine (always run, every project): each real Dockerfile is
rewritten with a group of one of its own direct dependencies; the rewrite must
parse, write twice to the same file, strip back to the original byte for byte,
and put the group's layer before the first instruction that brings the
project's files into the install stage (a COPY from the context, a bind mount
of it, or a COPY from a stage that copied them, like prime-rl's `manifests`
stage).

On the engine: `optimize --prove` (version bump + one light dependency) on
each project with `[engine] build = true`, measured from `docker save` by the
test; then `optimize --write` into the project's copy and a real build of the
written files, which must run and hold the group layer the proof kept. The projects with `ci = true` (the two small uv-docker-example ones on
docker 20.10) run in the default `uv run pytest`; all of them run with
`UVSCOPE_TESTS_REALWORLD=all`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from uvscope.analysis.plan.docker_rewrite import rewrite_dockerfile
from uvscope.analysis.plan.dockerfile import parse_dockerfile
from uvscope.analysis.plan.grouping import Group, Grouping
from uvscope.analysis.plan.rewrite_markers import BEGIN, strip_generated

CORPUS = Path(__file__).parent.parent / "realworld"
ENGINES = {"docker20", "docker26"}


@dataclass(frozen=True)
class Case:
    """One project's `case.toml`: what the engine-free checks expect and how the engine test builds it."""

    project: str
    dockerfile: str
    members: dict[str, str]
    workspace: bool
    group: str
    shape: str
    environment: str
    first_read: str
    build: bool
    run: str
    ci: bool
    engine: str
    known_gap: str | None = None
    saves: float = 10.0
    """How many times less than the original the revised file must re-create: 10 unless the project's whole
    closure is too small for a group to save that much (`[engine] saves`, with the reason in ADAPTED.md)."""


def load_case(folder: Path) -> Case:
    """Reads and checks `folder/case.toml` (a missing key or a build=false without a reason fails loudly)."""
    data = tomllib.loads((folder / "case.toml").read_text())
    engine = data["engine"]
    assert engine["build"] or engine.get("reason"), f"{folder.name}: build = false needs a reason"
    assert engine["engine"] in ENGINES, f"{folder.name}: engine must be one of {sorted(ENGINES)}"
    assert (folder / data["dockerfile"]).is_file(), f"{folder.name}: no {data['dockerfile']}"
    return Case(
        folder.name,
        data["dockerfile"],
        dict(data["members"]),
        data["workspace"],
        data["group"],
        data["shape"],
        data["environment"],
        data["first_read"],
        engine["build"],
        engine["run"],
        engine["ci"],
        engine["engine"],
        engine.get("known_gap"),
        float(engine.get("saves", 10.0)),
    )


CASES = [load_case(toml.parent) for toml in sorted(CORPUS.glob("*/case.toml"))]
BUILT = [case for case in CASES if case.build]
ALL = os.environ.get("UVSCOPE_TESTS_REALWORLD") == "all"


@pytest.mark.parametrize("case", CASES, ids=[c.project for c in CASES])
def test_real_dockerfile_is_rewritten_before_its_project_files(case):
    members, workspace, environment = case.members, case.workspace, case.environment
    text = (CORPUS / case.project / case.dockerfile).read_text()
    grouping = Grouping((Group("heavy", tuple(case.group.split(","))),))
    once = rewrite_dockerfile(text, grouping, member_paths=members, workspace=workspace)
    assert (once.shape, once.environment) == (case.shape, environment)
    assert once.text != text
    assert rewrite_dockerfile(once.text, grouping, member_paths=members, workspace=workspace).text == once.text
    assert strip_generated(once.text) == (text, True)
    parsed = parse_dockerfile(once.text)
    sources = [parsed.source(ins).strip() for ins in parsed.instructions]
    install = next(i for i, s in enumerate(sources) if "--no-deps -r /uvscope/heavy.txt" in s and parsed.instructions[i].keyword == "RUN")
    read = next(
        i
        for i, s in enumerate(sources)
        if s.startswith(case.first_read) and "/uvscope/" not in s and parsed.instructions[i].stage == parsed.instructions[install].stage
    )
    assert install < read, (sources[install], sources[read])
    assert f"--python {environment} " in sources[install]
    # a stage per group (the multi-stage shapes) starts as the install stage does, from its base with its steps before
    # the group's layer: standalone.Dockerfile's `uv python install 3.12` into /python, which the group's venv links to
    stage = parsed.instructions[install].stage
    before = [s for i, s in enumerate(sources) if parsed.instructions[i].stage == stage and i < install]
    for group_stage in (s for s in parsed.stages if s.name.startswith("uvscope-group-")):
        own = [s for i, s in enumerate(sources) if parsed.instructions[i].stage == group_stage.index]
        assert own[0].rsplit(" AS ", 1)[0] == before[0].rsplit(" AS ", 1)[0], (own[0], before[0])
        assert own[1 : len(before)] == before[1:], (own, before)


def _engine_params():
    """Every buildable project: the `ci = true` ones always, the others only with UVSCOPE_TESTS_REALWORLD=all;
    an optional `[engine] known_gap = "..."` names a measured shortfall of uvscope's and expects the proof to fail."""
    skip = pytest.mark.skip(reason="the other real projects' engine proofs run with UVSCOPE_TESTS_REALWORLD=all")
    params = []
    for case in BUILT:
        marks = [] if case.ci or ALL else [skip]
        if case.known_gap:  # strict: the day uvscope closes the gap, the test says so
            marks.append(pytest.mark.xfail(reason=case.known_gap, strict=True))
        params.append(pytest.param(case, id=case.project, marks=marks))
    return params


@pytest.mark.engine
@pytest.mark.parametrize("case", _engine_params())
def test_real_project_keeps_its_group_layer_on_the_engine(tmp_path, case):
    """`optimize --prove` on the project's own Dockerfile: the revised file keeps the group's layer through a
    version bump + one light dependency, re-creates under 3% of the final image and a tenth of what the
    original re-creates (`case.saves`), and the revised image still runs the project's own import; `uvscope report` of that
    image attributes at least 99% of its site-packages bytes to distributions."""
    import harness
    from realworld_bases import CUDA_STANDINS, MANAGED_STANDIN, PYENV_VERSIONS, ensure_standins, managed_python_source

    engine = harness.DOCKER26 if case.engine == "docker26" else harness.DEFAULT
    dockerfile_text = (CORPUS / case.project / case.dockerfile).read_text()
    if MANAGED_STANDIN in dockerfile_text and managed_python_source() is None:
        pytest.skip(
            f"{MANAGED_STANDIN}'s stand-in needs a pyenv CPython 3.12 under {PYENV_VERSIONS} (uv-managed Python downloads are out of reach)"
        )
    if any(name in dockerfile_text for name in CUDA_STANDINS) and managed_python_source() is None:
        pytest.skip(f"the nvidia/cuda stand-ins carry a pyenv CPython 3.12 from {PYENV_VERSIONS}: there is none here")
    ensure_standins(engine)
    context = tmp_path / case.project
    shutil.copytree(CORPUS / case.project, context, ignore=shutil.ignore_patterns("ADAPTED.md", "case.toml"))
    path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    if any(name in dockerfile_text for name in CUDA_STANDINS):
        # prime-rl's `requires-python = "~=3.12.0"`: the re-lock needs a CPython 3.12 (uv cannot download one here),
        # the pyenv build the stand-ins carry; after this machine's own 3.11, so it is found only when 3.12 is asked for
        path = f"{path}:{managed_python_source() / 'bin'}"
    env = engine.env(PATH=path, UVSCOPE_DOCKER=engine.cli)
    args = [
        "optimize",
        "--project",
        str(context),
        "--dockerfile",
        str(context / case.dockerfile),
        "--group",
        f"heavy={case.group}",
        "--prove",
        "--no-push",  # the pushes are proved by test_prove_push.py; here the re-created bytes
        "--format",
        "json",
        "--keep-images",
        "--docker-build-option=--network=host",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "uvscope.app.cli", *args], cwd=context, capture_output=True, text=True, timeout=3600, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    proof = json.loads(result.stdout[result.stdout.index("{\n") :])
    rows = {row["dockerfile"]: row for row in proof["results"]}
    try:
        revised, original = rows["revised"], rows["original"]
        saved = harness.saved_images(revised["images"]["before"], revised["images"]["after"], engine=engine)
        before = {diff_id for diff_id, _, _ in saved[revised["images"]["before"]]}
        after = saved[revised["images"]["after"]]
        recreated = sum(size for diff_id, size, _ in after if diff_id not in before)
        total = sum(size for _, size, _ in after)
        report = subprocess.run(
            [sys.executable, "-m", "uvscope.app.cli", "report", revised["images"]["after"], "--format", "json"],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert report.returncode == 0, report.stderr[-2000:]
        attribution = json.loads(report.stdout)["attribution"]
        coverage = attribution["attributed_bytes"] / attribution["site_packages_bytes"]
        mb = lambda n: f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e6:.2f} MB"
        print(
            f"\n| {case.project} | `{case.dockerfile}` | {case.shape} | {mb(total)} | {mb(original['recreated_bytes'])} "
            f"({original['recreated_bytes'] / original['image_bytes']:.1%}) | {mb(recreated)} ({recreated / total:.2%}) | kept | {coverage:.1%} |"
        )
        assert coverage >= 0.99, attribution["unattributed"]
        marker = f"site-packages/{case.group.split(',')[0].replace('-', '_')}/__init__.py"
        holders = [d for d, _, entries in saved[revised["images"]["before"]] if any(e.name.endswith(marker) for e in entries)]
        assert len(holders) == 1 and holders[0] in {d for d, _, _ in after}, f"{case.group}'s layer was re-created"
        assert recreated <= 0.03 * total, (recreated, total)
        assert original["recreated_bytes"] > case.saves * recreated
        assert revised["groups_kept"] == {"heavy": True}
        _assert_runs_its_import(case, revised["images"]["after"], engine)
        written = _write_and_rebuild(case, context, env, engine)
        rows["written"] = {"images": {"written": written}}
        layers = {diff_id for diff_id, _, _ in harness.saved_images(written, engine=engine)[written]}
        assert holders[0] in layers, "the written files' build does not hold the proved group layer"
    finally:
        for row in rows.values():
            for tag in row["images"].values():
                harness.docker("image", "rm", "--no-prune", tag, check=False, engine=engine)


def _assert_runs_its_import(case: Case, image: str, engine) -> None:
    """The image's environment runs the project's own import, offline."""
    import harness

    python = f"{case.environment}/bin/python"
    ran = harness.docker(
        "run", "--rm", "--network", "none", "--entrypoint", python, image, "-c", f"{case.run}; print('ok')", check=False, engine=engine
    )
    assert ran.stdout.strip() == "ok", ran.stderr[-2000:]


def _write_and_rebuild(case: Case, context: Path, env: dict[str, str], engine) -> str:
    """`optimize --write` into the project copy, then a real build of the written files, as a user does after
    the proof; the written Dockerfile carries the group, a second `--write` changes nothing, and the image runs
    the project's own import. Returns the image's tag."""
    import harness

    dockerfile = context / case.dockerfile
    args = ["optimize", "--project", str(context), "--dockerfile", str(dockerfile), "--group", f"heavy={case.group}"]
    cli = [sys.executable, "-m", "uvscope.app.cli", *args]
    wrote = subprocess.run([*cli, "--write"], cwd=context, capture_output=True, text=True, timeout=900, env=env)
    assert wrote.returncode == 0, wrote.stderr[-2000:]
    text = dockerfile.read_text()
    assert BEGIN in text and "-r /uvscope/heavy.txt" in text
    files = {path: path.read_bytes() for path in context.rglob("*") if path.is_file()}
    again = subprocess.run([*cli, "--write"], cwd=context, capture_output=True, text=True, timeout=900, env=env)
    assert again.returncode in (0, 3) and files == {path: path.read_bytes() for path in context.rglob("*") if path.is_file()}
    tag = f"uvscope-test/written-{case.project.lower()}:{os.getpid()}"
    build = ["buildx", "build", "--load"] if engine is harness.DOCKER26 else ["build"]
    built = harness.docker(*build, "--network", "host", "-f", str(dockerfile), "-t", tag, str(context), check=False, engine=engine)
    assert built.returncode == 0, built.stderr[-3000:]
    _assert_runs_its_import(case, tag, engine)
    return tag


def test_corpus_files_are_recorded():
    """Every corpus project says where its files come from and what this machine changed."""
    for project in {case.project for case in CASES}:
        adapted = (CORPUS / project / "ADAPTED.md").read_text()
        assert "commit" in adapted and "github.com/" in adapted, project
    assert BEGIN  # the marker the rewrite writes
