"""The Dockerfile parser and the group-layer rewrite on the shapes people use."""

from __future__ import annotations

import pytest

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.plan.docker_rewrite import rewrite_dockerfile
from uvscope.analysis.plan.dockerfile import parse_dockerfile
from uvscope.analysis.plan.grouping import Group, Grouping
from uvscope.analysis.plan.rewrite_markers import BEGIN

HEAVY = Grouping((Group("heavy", ("torch",)),))
BEGIN_LINE = BEGIN + " (written by `uvscope optimize`; a re-run replaces everything down to uvscope:end)"

UV_DOCS = """\
# syntax=docker/dockerfile:1
ARG PYTHON=3.12
FROM ghcr.io/astral-sh/uv:python${PYTHON}-bookworm-slim AS app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    uv sync --locked --no-install-project --no-dev
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --locked --no-dev
CMD ["python", "-m", "app"]
"""

COPY_THEN_SYNC = """\
FROM python:3.12-slim
COPY --from=ghcr.io/astral-sh/uv:0.5.2 /uv /uvx /bin/
ENV UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /srv
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-install-project
COPY . .
RUN uv sync --frozen
"""

MULTI_STAGE = """\
FROM python:3.12 AS builder
RUN pip install uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-install-project
COPY . .
RUN uv sync --frozen
FROM python:3.12-slim
COPY --from=builder /app/.venv /app/.venv
"""


def test_parser_keeps_lines_and_understands_continuations_heredocs_and_escape():
    text = "# escape=`\nFROM alpine\nRUN echo a `\n    # comment inside\n    b\nCOPY <<EOF /x\nline\nEOF\n"
    parsed = parse_dockerfile(text)
    assert parsed.escape == "`"
    assert [(i.keyword, i.body) for i in parsed.instructions] == [("FROM", "alpine"), ("RUN", "echo a b"), ("COPY", "<<EOF /x")]
    assert "".join(parsed.lines) == text
    assert parsed.instructions[2].end == 8


@pytest.mark.parametrize("text", ["", "RUN echo\n", "FROM alpine\nRUN <<EOF\nnever closed\n", "FROM\n"])
def test_parser_rejects_what_is_not_a_dockerfile(text):
    with pytest.raises(UvscopeError):
        parse_dockerfile(text)


def _line(lines: list[str], prefix: str, start: int = 0) -> int:
    return next(i for i, line in enumerate(lines) if i >= start and line.startswith(prefix))


def test_uv_docs_bind_mount_pattern():
    result = rewrite_dockerfile(UV_DOCS, HEAVY, member_paths={"app": "."}, workspace=False)
    assert result.shape == "single-stage" and result.environment == "/app/.venv"
    lines = result.text.splitlines()
    # The export stage uses the same base (which ships uv) and comes before the install stage.
    assert lines.index("FROM ghcr.io/astral-sh/uv:python${PYTHON}-bookworm-slim AS uvscope-export") < lines.index(
        "FROM ghcr.io/astral-sh/uv:python${PYTHON}-bookworm-slim AS app"
    )
    assert lines[:2] == ["# syntax=docker/dockerfile:1", "ARG PYTHON=3.12"]  # directives and global ARGs stay on top
    assert any("uv export --frozen --no-header --no-annotate --no-emit-project --only-group heavy" in line for line in lines)
    install = lines.index("COPY --from=uvscope-export /uvscope/python /uvscope/heavy.txt /uvscope/")
    first_sync = _line(lines, "RUN --mount=type=cache,target=/root/.cache/uv \\", install + 2)
    assert lines.index("FROM ghcr.io/astral-sh/uv:python${PYTHON}-bookworm-slim AS app") < install < first_sync
    assert "uv pip install --python /app/.venv --no-deps -r /uvscope/heavy.txt" in result.text
    # the cache mount is carried, the bind mounts of pyproject.toml/uv.lock are not (they would key the layer on them)
    group_run = lines[install + 1]
    assert group_run.startswith("RUN --mount=type=cache,target=/root/.cache/uv ") and "type=bind" not in group_run
    parse_dockerfile(result.text)


def test_copy_then_sync_installs_before_the_project_copy_into_the_project_environment():
    result = rewrite_dockerfile(COPY_THEN_SYNC, HEAVY, member_paths={"app": "."}, workspace=False)
    lines = result.text.splitlines()
    install = lines.index("COPY --from=uvscope-export /uvscope/python /uvscope/heavy.txt /uvscope/")
    assert lines.index("FROM python:3.12-slim") < install < lines.index("COPY pyproject.toml uv.lock ./", install)
    assert "uv pip install --python /opt/venv" in result.text  # UV_PROJECT_ENVIRONMENT
    export_stage = lines[: lines.index("FROM python:3.12-slim")]
    assert "COPY --from=ghcr.io/astral-sh/uv:0.5.2 /uv /uvx /bin/" in export_stage


def test_multi_stage_copying_the_venv_gets_one_copy_per_group_then_the_rest():
    result = rewrite_dockerfile(MULTI_STAGE, HEAVY, member_paths={"app": "."}, workspace=False)
    assert result.shape == "multi-stage"
    lines = result.text.splitlines()
    # the group stage repeats the builder's steps up to the group install (BuildKit shares them)
    group_stage = lines.index("FROM python:3.12 AS uvscope-group-heavy")
    assert lines[group_stage + 1 : group_stage + 3] == ["RUN pip install uv", "WORKDIR /app"]
    rest = lines.index("FROM builder AS uvscope-rest")
    assert "uv pip uninstall --python /app/.venv -r /uvscope/heavy.txt" in lines[rest + 1]
    final = lines.index("FROM python:3.12-slim")
    assert group_stage < rest < final
    assert lines[final + 1 :] == [
        BEGIN_LINE,
        "# uvscope:original COPY --from=builder /app/.venv /app/.venv",
        "COPY --from=uvscope-group-heavy /app/.venv /app/.venv",
        "COPY --from=uvscope-rest /app/.venv /app/.venv",
        "# uvscope:end",
    ]
    assert "RUN pip install uv" in result.text.split("AS uvscope-export")[1].split("FROM python:3.12 AS builder")[0]


def test_workspace_member_export_uses_package_and_no_emit_workspace():
    text = COPY_THEN_SYNC.replace("uv sync --frozen --no-install-project", "uv sync --frozen --package api --no-install-workspace")
    result = rewrite_dockerfile(text, HEAVY, member_paths={"api": "packages/api", "root": "."}, workspace=True)
    assert "--no-emit-workspace --package api --only-group heavy" in result.text
    assert "COPY packages/api/pyproject.toml packages/api/pyproject.toml" in result.text


def test_no_uv_sync_is_a_clear_error():
    with pytest.raises(UvscopeError, match="`pip install -r`.*uvscope rewrites Dockerfiles that install the project with `uv sync`"):
        rewrite_dockerfile("FROM python\nRUN pip install -r requirements.txt\n", HEAVY, member_paths={}, workspace=False)
    with pytest.raises(UvscopeError, match="runs no `uv sync`"):
        rewrite_dockerfile("FROM python\nCOPY . /app\n", HEAVY, member_paths={}, workspace=False)
