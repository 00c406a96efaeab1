"""The rewrite on every instruction form and stage layout, without an engine.

The engine tests (`test_optimize_shapes.py`) prove the result builds and keeps
the groups cached; these pin down what the text must look like where the
engine here (dockerd 20.10's built-in frontend) cannot build the shape:
heredoc RUN and upper-case stage names need a newer Dockerfile frontend.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.plan.build_shape import ProjectDockerfile, analyse_shape
from uvscope.analysis.plan.docker_rewrite import rewrite_dockerfile
from uvscope.analysis.plan.docker_stages import context_at, find_syncs
from uvscope.analysis.plan.dockerfile import parse_dockerfile
from uvscope.analysis.plan.grouping import Group, Grouping
from uvscope.analysis.plan.rewrite_markers import END, ORIGINAL, strip_generated

HEAVY = Grouping((Group("heavy", ("numpy",)),))
TWO = Grouping((Group("heavy", ("numpy",)), Group("ml", ("pandas",))))
SHAPES = sorted((Path(__file__).parent.parent / "shapes").glob("*.Dockerfile"))
TARGETS = {"multi-target": "runtime"}  # shapes whose image is `docker build --target` of a named stage


def _rewrite(text: str, grouping: Grouping = HEAVY, **kwargs):
    return rewrite_dockerfile(text, grouping, member_paths=kwargs.pop("member_paths", {"app": "."}), workspace=kwargs.pop("workspace", False), **kwargs)


def _instructions(text: str, stage_name: str) -> list[str]:
    dockerfile = parse_dockerfile(text)
    stage = next(s for s in dockerfile.stages if s.name.lower() == stage_name.lower())
    return [dockerfile.source(ins).strip() for _, ins in dockerfile.stage_instructions(stage.index)]


@pytest.mark.parametrize("path", SHAPES, ids=[p.stem for p in SHAPES])
def test_writing_twice_gives_the_same_file_and_stripping_gives_the_original(path):
    text = path.read_text()
    target = TARGETS.get(path.stem, "")
    once = _rewrite(ProjectDockerfile(text, target) if target else text, TWO, member_paths={"svc-a": "packages/svc-a", "svc-b": "packages/svc-b", "lib-b": "packages/lib-b"} if "workspace" in path.stem else {"app": "."}, workspace="workspace" in path.stem)
    twice = _rewrite(ProjectDockerfile(once.text, target) if target else once.text, TWO, member_paths={"svc-a": "packages/svc-a", "svc-b": "packages/svc-b", "lib-b": "packages/lib-b"} if "workspace" in path.stem else {"app": "."}, workspace="workspace" in path.stem)
    assert twice.text == once.text and twice.replaced_previous and not once.replaced_previous
    assert strip_generated(once.text) == (text, True)
    # a different grouping on a re-run replaces the old one: one export stage, never two
    other = _rewrite(ProjectDockerfile(once.text, target) if target else once.text, HEAVY) if "workspace" not in path.stem else None
    if other is not None:
        assert other.text.count("AS uvscope-export") == 1 and "--only-group ml" not in other.text


def test_a_dockerfile_read_once_is_today_as_written_and_the_user_file_without_uvscope_blocks():
    text = (Path(__file__).parent.parent / "shapes" / "example-multistage.Dockerfile").read_text()
    plain = ProjectDockerfile(text)
    assert not plain.replaced and plain.user is plain.current  # nothing to strip: one parse serves both
    rewritten = ProjectDockerfile(_rewrite(text, TWO).text)
    assert rewritten.replaced
    assert rewritten.user.lines == parse_dockerfile(text).lines  # what a rewrite starts from
    assert any(stage.name == "uvscope-export" for stage in rewritten.current.stages)  # what builds today
    assert rewritten.shape.multi_stage and rewritten.shape.sync.package is None
    assert _rewrite(rewritten.text, TWO).text == rewritten.text


def test_what_uvscope_0_1_wrote_is_recognised_and_replaced():
    legacy = (
        "FROM base AS uvscope-export\n"
        "WORKDIR /uvscope/project\n"
        "COPY pyproject.toml uv.lock ./\n"
        "RUN uv export --frozen --no-header --no-annotate --no-emit-project --only-group heavy -o /uvscope/heavy.txt\n"
        "\n"
        "FROM base\n"
        "WORKDIR /app\n"
        "# uvscope: dependency group 'heavy' in its own layer, reused while its pins do not change\n"
        "COPY --from=uvscope-export /uvscope/heavy.txt /uvscope/heavy.txt\n"
        "RUN uv venv --allow-existing /app/.venv \\\n"
        " && uv pip install --python /app/.venv --no-deps -r /uvscope/heavy.txt\n"
        "COPY pyproject.toml uv.lock ./\n"
        "RUN uv sync --frozen\n"
    )
    legacy = "# uvscope: export each dependency group's pins; a group's layer is rebuilt only when they change\n" + legacy
    original, found = strip_generated(legacy)
    assert found and original == "FROM base\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen\n"
    assert _rewrite(legacy).text.count("AS uvscope-export") == 1


def test_generated_lines_go_above_the_comment_that_describes_the_next_instruction():
    text = (
        "FROM base\n"
        "WORKDIR /app\n"
        "\n"
        "# Install dependencies first:\n"
        "# they change less often than the code.\n"
        "COPY pyproject.toml uv.lock ./\n"
        "RUN uv sync --frozen --no-install-project\n"
    )
    lines = _rewrite(text).text.splitlines()
    comment = lines.index("# Install dependencies first:")
    assert lines[comment + 1 : comment + 3] == ["# they change less often than the code.", "COPY pyproject.toml uv.lock ./"]
    assert lines[comment - 1] == END
    assert "FROM base AS uvscope-export" in lines and lines.index("FROM base AS uvscope-export") < lines.index("FROM base")


def test_escape_directive_continuations_use_the_files_escape_character():
    text = "# escape=`\nFROM base\nWORKDIR C:/app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen `\n    --no-install-project\n"
    result = _rewrite(text)
    assert result.text.startswith("# escape=`\n")
    assert " `\n && uv pip install" in result.text and " \\\n" not in result.text
    parsed = parse_dockerfile(result.text)
    assert parsed.escape == "`"
    runs = [ins.body for ins in parsed.instructions if ins.keyword == "RUN"]
    assert any(body.endswith("-r /uvscope/heavy.txt") and "&& uv pip install" in body for body in runs)


def test_exec_form_heredoc_and_upper_case_stage_names():
    text = (
        "ARG PYTHON=3.12\n"
        "FROM --platform=$BUILDPLATFORM python:${PYTHON}-slim AS Builder\n"
        "COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /bin/uv\n"
        "WORKDIR /app\n"
        "COPY pyproject.toml uv.lock ./\n"
        "RUN --mount=type=cache,target=/root/.cache/uv <<EOF\n"
        "set -e\n"
        "uv sync --frozen --no-install-project\n"
        "EOF\n"
        "COPY . .\n"
        'RUN ["uv", "sync", "--frozen"]\n'
        "FROM python:${PYTHON}-slim AS Runtime\n"
        "COPY --from=builder /app /app\n"
    )
    result = _rewrite(text)
    assert result.shape == "multi-stage"
    lines = result.text.splitlines()
    # the FROM flags and the global ARG's use come along into every generated stage
    assert "FROM --platform=$BUILDPLATFORM python:${PYTHON}-slim AS uvscope-export" in lines
    assert "FROM --platform=$BUILDPLATFORM python:${PYTHON}-slim AS uvscope-group-heavy" in lines
    # stage names match in any case; an older frontend reads `FROM Builder` as an image, so lower case
    assert "FROM builder AS uvscope-rest" in lines
    runtime = _instructions(result.text, "Runtime")
    assert runtime[1:] == [
        "COPY --from=uvscope-group-heavy /app/.venv /app/.venv",
        "COPY --from=uvscope-rest /app /app",
    ]
    builder = _instructions(result.text, "Builder")
    assert builder.index("COPY pyproject.toml uv.lock ./") > next(i for i, x in enumerate(builder) if "-r /uvscope/heavy.txt" in x)
    # the cache mount of the heredoc RUN is carried into the group's RUN
    assert any(x.startswith("RUN --mount=type=cache,target=/root/.cache/uv [ -e /app/.venv/bin/python ]") for x in builder)


def test_environment_user_and_workdir_come_from_parent_stages():
    text = (
        "FROM base AS common\n"
        "ENV VIRTUAL_ENV=/opt/venv\n"
        "WORKDIR /srv/app\n"
        "USER app\n"
        "FROM common AS builder\n"
        "COPY pyproject.toml uv.lock ./\n"
        "RUN uv sync --active --frozen --no-install-project\n"
        "FROM common\n"
        "COPY --from=builder /opt/venv /opt/venv\n"
    )
    dockerfile = parse_dockerfile(text)
    context = context_at(dockerfile, dockerfile.stages[1])
    assert (context.workdir, context.user, context.env["VIRTUAL_ENV"]) == ("/srv/app", "app", "/opt/venv")
    result = _rewrite(text)
    assert result.environment == "/opt/venv" and result.final_environment == "/opt/venv"
    assert "uv pip install --python /opt/venv --no-deps -r /uvscope/heavy.txt" in result.text
    assert "COPY --from=uvscope-group-heavy /opt/venv /opt/venv" in result.text


@pytest.mark.parametrize(
    "env, expected",
    [
        ("ENV UV_PROJECT_ENVIRONMENT=/usr/local", "/usr/local"),
        ("ENV UV_PROJECT_ENVIRONMENT=venv", "/code/venv"),
        ("ARG ENVDIR=/opt/env\nENV UV_PROJECT_ENVIRONMENT=${ENVDIR}", "/opt/env"),
        ("ENV OTHER=1", "/code/.venv"),
    ],
)
def test_the_environment_uv_sync_uses(env, expected):
    text = f"FROM base\nWORKDIR /code\n{env}\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen\n"
    assert find_syncs(parse_dockerfile(text))[0].environment == expected
    assert f"uv pip install --python {expected} " in _rewrite(text).text


def test_a_system_prefix_is_never_turned_into_a_venv():
    result = _rewrite("FROM python:3.12-slim\nENV UV_PROJECT_ENVIRONMENT=/usr/local\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen\n")
    # `uv venv` only runs where no interpreter exists yet; /usr/local/bin/python exists in python:slim
    assert "[ -e /usr/local/bin/python ] || {" in result.text


def test_uv_from_a_run_mount_is_carried_into_every_generated_step():
    mount = "--mount=from=ghcr.io/astral-sh/uv:0.8,source=/uv,target=/bin/uv"
    text = f"FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN {mount} uv sync --frozen\nFROM python:3.12-slim\nCOPY --from=0 /app/.venv /app/.venv\n"
    result = _rewrite(text)
    runs = [ins for ins in parse_dockerfile(result.text).instructions if ins.keyword == "RUN"]
    assert all(mount in ins.flags for ins in runs), [ins.flags for ins in runs]
    assert "FROM 1 AS uvscope-rest" in result.text  # stage 0 is stage 1 once the export stage is before it


def test_copies_with_user_flags_keep_them():
    text = "FROM base AS build\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen\nFROM base\nCOPY --link --chown=1000:1000 --chmod=755 --from=build /app/.venv /venv\n"
    lines = _rewrite(text).text.splitlines()
    assert lines[-4:] == [
        f"{ORIGINAL}COPY --link --chown=1000:1000 --chmod=755 --from=build /app/.venv /venv",
        "COPY --from=uvscope-group-heavy --link --chown=1000:1000 --chmod=755 /app/.venv /venv",
        "COPY --from=uvscope-rest --link --chown=1000:1000 --chmod=755 /app/.venv /venv",
        END,
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("FROM base\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n", "`pip install -r`"),
        ("FROM base\nRUN uv pip install numpy\n", "`uv pip install`"),
        ("FROM base\nRUN poetry install\n", "another tool"),
        (
            "FROM base AS build\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen && uv build\nFROM base\nCOPY --from=build /dist /dist\n",
            "neither derives from stage 'build' nor copies its environment /.venv",
        ),
        (
            "FROM base AS src\nWORKDIR /app\nCOPY . .\nFROM src AS build\nRUN uv sync --frozen\n",
            "copies the project's files before `uv sync` runs",
        ),
        ("FROM base\n# uvscope:begin (x)\nRUN true\n", "without its `# uvscope:end`"),
    ],
)
def test_what_cannot_be_rewritten_is_refused_with_one_line(text, message):
    with pytest.raises(UvscopeError, match=None) as error:
        _rewrite(text)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_shape_analysis_finds_the_sync_whose_environment_reaches_the_final_image():
    text = (
        "FROM base AS dev\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen\n"
        "FROM base AS build\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen --no-dev\n"
        "FROM base\nCOPY --from=build /app /app\n"
    )
    shape = analyse_shape(parse_dockerfile(text))
    assert shape.sync.stage.name == "build" and shape.multi_stage


def test_uv_installed_after_the_project_files_comes_along_into_the_group_steps():
    text = (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\n"
        "COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /bin/uv\nRUN uv sync --frozen\n"
    )
    lines = _rewrite(text).text.splitlines()
    group_run = next(i for i, line in enumerate(lines) if "-r /uvscope/heavy.txt" in line)
    first_uv = lines.index("COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /bin/uv")
    assert first_uv < group_run < lines.index("COPY pyproject.toml uv.lock ./")
    export = lines[: lines.index("FROM python:3.12-slim")]
    assert "COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /bin/uv" in export


def test_managed_python_installed_after_the_project_files_comes_along_before_the_groups():
    """standalone.Dockerfile's `uv python install 3.12`, moved after the lock's COPY: the groups' `uv venv`
    (`--python ">=3.11"` from requires-python) would otherwise download the newest CPython allowed, not the
    3.12 that `uv sync` and the final stage's `/python` get, or fail with UV_PYTHON_DOWNLOADS=manual."""
    text = (
        "FROM ghcr.io/astral-sh/uv:bookworm-slim AS builder\nENV UV_PYTHON_INSTALL_DIR=/python UV_PYTHON_PREFERENCE=only-managed\n"
        "WORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv python install 3.12\nRUN uv sync --locked --no-install-project\n"
        "COPY . /app\nRUN uv sync --locked\n"
        "FROM debian:bookworm-slim\nCOPY --from=builder /python /python\nCOPY --from=builder /app /app\n"
    )
    result = _rewrite(text)
    for stage in ("builder", "uvscope-group-heavy"):
        steps = _instructions(result.text, stage)
        group_run = next(i for i, step in enumerate(steps) if "-r /uvscope/heavy.txt" in step)
        assert "RUN uv python install 3.12" in steps[:group_run], (stage, steps)
        assert 'uv python install ${py:+"$py"}' not in steps[group_run]  # the hoisted step installs it
    assert strip_generated(result.text) == (text, True)
    # a bare `uv python install` reads .python-version from the project's files: it stays after them, and the
    # groups' venv installs the same request (.python-version's first line) itself, allowed under downloads=manual
    bare = text.replace("COPY pyproject.toml uv.lock ./", "COPY pyproject.toml uv.lock .python-version ./").replace("install 3.12", "install")
    inline = bare.replace("RUN uv python install\nRUN uv sync", "RUN uv python install && uv sync")
    assert inline != bare
    for variant in (bare, inline):
        result = _rewrite(variant)
        for stage in ("builder", "uvscope-group-heavy"):
            steps = _instructions(result.text, stage)
            group_run = next(i for i, step in enumerate(steps) if "-r /uvscope/heavy.txt" in step)
            assert not any("uv python install" in step for step in steps[:group_run]), steps
            venv = steps[group_run].index('uv venv ${py:+--python "$py"}')
            assert steps[group_run].index('uv python install ${py:+"$py"} && ') < venv, steps[group_run]
        assert strip_generated(result.text) == (variant, True)
    # nothing installs a managed Python after the project's files: the venv step is as it was
    early = text.replace(
        "COPY pyproject.toml uv.lock ./\nRUN uv python install 3.12\n", "RUN uv python install 3.12\nCOPY pyproject.toml uv.lock ./\n"
    )
    assert "uv python install ${py" not in _rewrite(early).text


def test_uv_installed_by_the_sync_run_itself_is_installed_before_the_groups():
    text = (
        "FROM python:3.11-slim AS builder\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\n"
        "RUN pip install uv \\\n && uv sync\nCOPY . .\n"
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY --from=builder /app/.venv /app/.venv\nCOPY . .\n"
    )
    result = _rewrite(text)
    for stage in ("uvscope-export", "uvscope-group-heavy"):
        steps = _instructions(result.text, stage)
        uv_at = steps.index("RUN pip install uv")
        first_uv_use = next(i for i, step in enumerate(steps) if "uv export" in step or "uv pip install" in step)
        assert uv_at < first_uv_use, (stage, steps)
    # the builder runs the user's own setup again later (not always twice-safe): it borrows the export stage's uv
    builder = _instructions(result.text, "builder")
    assert "RUN pip install uv" not in builder
    group_run = next(step for step in builder if "-r /uvscope/heavy.txt" in step)
    assert "--mount=from=uvscope-export,source=/uvscope/bin,target=/uvscope-bin" in group_run
    assert "/uvscope-bin/uv pip install" in group_run
    assert 'cp "$(command -v uv)" /uvscope/bin/uv' in result.text


def test_numeric_stage_references_follow_the_inserted_stages_and_come_back_on_a_re_run():
    text = (
        "ARG VENV=/srv/app/venv\n"
        "FROM python:3.12-slim\nWORKDIR /srv/app\nENV UV_PROJECT_ENVIRONMENT=/srv/app/venv\n"
        "COPY --from=ghcr.io/astral-sh/uv /uv /bin/uv\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --frozen --no-install-project\nCOPY src src\n"
        "FROM python:3.12-slim\nARG VENV\n"
        "COPY --from=0 ${VENV} ${VENV}\n"
        "COPY --from=0 /srv/app/src /srv/app/src\n"
        "RUN --mount=type=bind,from=0,source=/srv/app/src,target=/x ls /x\n"
    )
    result = _rewrite(text)
    parsed = parse_dockerfile(result.text)
    names = [stage.name for stage in parsed.stages]
    builder = names.index("")  # the user's unnamed builder, now after uvscope's export stage
    assert names[0] == "uvscope-export" and builder == 1
    final = [dockerfile_line.strip() for dockerfile_line in result.text.split("FROM python:3.12-slim\nARG VENV\n")[1].splitlines()]
    # the environment COPY (an ARG path) is split into the group and the rest; the other references now say 1
    assert "COPY --from=uvscope-group-heavy /srv/app/venv /srv/app/venv" in final
    assert "COPY --from=uvscope-rest ${VENV} ${VENV}" in final
    assert "COPY --from=1 /srv/app/src /srv/app/src" in final
    assert "RUN --mount=type=bind,from=1,source=/srv/app/src,target=/x ls /x" in final
    assert strip_generated(result.text) == (text, True)
    assert _rewrite(result.text).text == result.text


@pytest.mark.parametrize(
    "sync, left_out",
    [
        ("RUN uv sync --frozen --no-cache", True),  # uv-fastapi-example: the group's layer kept uv's 45 MB cache
        ("RUN uv sync --frozen", False),  # the user's sync keeps its cache in its layer: so does the group's
        ("RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen", False),  # the mount keeps it out already
    ],
)
def test_the_group_layer_keeps_uvs_cache_out_as_the_sync_does(sync, left_out):
    text = f"FROM base\nWORKDIR /app\nCOPY . /app\n{sync}\n"
    install = next(line for line in _rewrite(text).text.splitlines() if " pip install " in line)
    assert ("--no-cache" in install) is left_out, install


def test_flags_in_a_shell_variable_are_the_flags_uv_sync_gets():
    """`UV_SYNC_ARGS="..." && uv sync ${UV_SYNC_ARGS}` (docling-serve's Containerfile): the shell splits the
    expansion into words, so `--no-dev` is a flag of its own, and the dev group is not what the sync installs."""
    from uvscope.analysis.plan.sync_groups import synced_groups

    text = (
        'FROM base\nARG EXTRA=""\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\n'
        'RUN UV_SYNC_ARGS="--frozen --no-install-project --no-dev --all-extras" && uv sync ${UV_SYNC_ARGS} ${EXTRA} --no-extra flash-attn\n'
    )
    sync = find_syncs(parse_dockerfile(text))[0]
    assert sync.options == ("sync", "--frozen", "--no-install-project", "--no-dev", "--all-extras", "", "--no-extra", "flash-attn")
    pyproject = '[project]\nname = "app"\nversion = "1"\n[dependency-groups]\ndev = ["ruff"]\n'
    assert "dev" not in synced_groups(sync.options, pyproject_text=pyproject)


def test_a_umask_the_sync_runs_under_is_the_groups_too():
    """`umask 002 && uv sync` (OpenShift images: group-writable files): the group's files get the same permissions."""
    text = "FROM base\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN umask 002 && uv sync --frozen --no-dev\n"
    assert find_syncs(parse_dockerfile(text))[0].umask == "002"
    result = _rewrite(text).text
    install = next(line for line in result.splitlines() if line.startswith("RUN") and "/app/.venv/bin/python ] ||" in line)
    assert install.startswith("RUN umask 002; [ -e /app/.venv/bin/python ]")
    assert "umask" not in _rewrite(text.replace("umask 002 && ", "")).text
    from_arg = _rewrite(text.replace("WORKDIR /app", "ARG UMASK=027\nWORKDIR /app").replace("umask 002", "umask $UMASK")).text
    assert "RUN umask 027; [ -e /app/.venv/bin/python ]" in from_arg  # the ARG's value, never a quoted `$UMASK`
    unknown = _rewrite(text.replace("umask 002", "umask $UNSET")).text
    assert "RUN [ -e /app/.venv/bin/python ]" in unknown


def test_a_final_stage_that_copies_parts_of_the_environment_is_refused_naming_them():
    """saleor's Dockerfile: `UV_PROJECT_ENVIRONMENT=/usr/local`, and the final stage copies site-packages and bin."""
    text = (
        "FROM python:3.12 AS build-python\nENV UV_PROJECT_ENVIRONMENT=/usr/local\nWORKDIR /app\n"
        "COPY pyproject.toml uv.lock ./\nRUN uv sync --frozen --no-install-project\n"
        "FROM python:3.12-slim\nCOPY --from=build-python /usr/local/lib/python3.12/site-packages/ /usr/local/lib/python3.12/site-packages/\n"
        "COPY --from=build-python /usr/local/bin/ /usr/local/bin/\n"
    )
    with pytest.raises(UvscopeError) as refused:
        _rewrite(text)
    assert str(refused.value).startswith(
        "the final image copies parts of the environment /usr/local from stage 'build-python' "
        "(/usr/local/lib/python3.12/site-packages/, /usr/local/bin/), not the whole of it"
    )
    # a tools stage's sync comes first and reaches nothing: the refusal still names the copied parts of the other
    tools = text.replace("FROM python:3.12 AS build-python\n", "FROM python:3.12 AS tools\nRUN uv sync --frozen --project /tools\n\nFROM python:3.12 AS build-python\n", 1)
    with pytest.raises(UvscopeError, match=r"copies parts of the environment /usr/local from stage 'build-python'"):
        _rewrite(tools)




SPLIT_VENV = (
    "FROM base AS builder\n"
    "WORKDIR /app\n"
    "COPY pyproject.toml uv.lock ./\n"
    "RUN uv sync --locked --no-install-project\n"
    "FROM builder AS app-rest\n"
    "RUN rm -rf /app/.venv/lib/python3.12/site-packages/torch \\\n"
    "    /app/.venv/lib/python3.12/site-packages/nvidia\n"
    "FROM base\n"
    "COPY --from=builder /app/.venv/lib/python3.12/site-packages/torch /app/.venv/lib/python3.12/site-packages/torch\n"
    "COPY --from=builder /app/.venv/lib/python3.12/site-packages/nvidia /app/.venv/lib/python3.12/site-packages/nvidia\n"
    "COPY --from=app-rest /app /app\n"
)


def test_trees_the_final_stage_copies_itself_stay_out_of_the_groups_copy():
    """prime-rl's final stage copies site-packages/torch and /nvidia from the builder on their own, then the rest of
    /app from a stage that `rm -rf`s them (the built-in frontend's `COPY --exclude`): the group's stage removes the
    same trees, so its COPY does not bring torch a second time."""
    result = _rewrite(SPLIT_VENV)
    group = _instructions(result.text, "uvscope-group-heavy")
    removal = "RUN rm -rf /app/.venv/lib/python3.12/site-packages/torch \\\n    /app/.venv/lib/python3.12/site-packages/nvidia"
    assert group[-1] == removal, group
    assert "FROM app-rest AS uvscope-rest" in result.text
    final = result.text.split("FROM base\n")[-1]
    assert "COPY --from=uvscope-group-heavy /app/.venv /app/.venv\nCOPY --from=uvscope-rest /app /app\n" in final
    assert strip_generated(result.text) == (SPLIT_VENV, True)
    assert _rewrite(result.text).text == result.text


@pytest.mark.parametrize(
    "between",
    ["COPY extra.txt /app/\n", "RUN uv pip install six\n", "RUN rm -rf /tmp/x && uv sync --locked\n"],
)
def test_a_copy_source_stage_that_adds_files_is_not_replayed_on_the_group(between):
    text = SPLIT_VENV.replace("FROM builder AS app-rest\n", f"FROM builder AS app-rest\n{between}")
    group = _instructions(_rewrite(text).text, "uvscope-group-heavy")
    assert not any(step.startswith("RUN rm -rf") for step in group), group


def test_excludes_of_the_environments_copy_are_rebased_onto_the_groups_source():
    """`COPY --from=builder --exclude=.venv/lib/.../torch /app /app` (Dockerfile syntax 1.19): the patterns are
    relative to `/app`; the group's COPY starts at `/app/.venv`, so the same trees are `lib/.../torch` there."""
    text = (
        "FROM base AS builder\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --locked\n"
        "FROM base\n"
        "COPY --from=builder --exclude=.venv/lib/python3.12/site-packages/torch --exclude=./src/big --exclude=**/*.pyc /app /app\n"
    )
    lines = _rewrite(text).text.splitlines()
    assert (
        "COPY --from=uvscope-group-heavy --exclude=lib/python3.12/site-packages/torch --exclude=**/*.pyc /app/.venv /app/.venv"
        in lines
    )
    assert (
        "COPY --from=uvscope-rest --exclude=.venv/lib/python3.12/site-packages/torch --exclude=./src/big --exclude=**/*.pyc /app /app"
        in lines
    )
