# UV_PROJECT_ENVIRONMENT=/opt/venv, a non-editable install, the runtime copies /opt/venv with --chown.
FROM {UV_BASE} AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /src
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-install-project --no-dev
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev --no-editable

FROM {BASE} AS runtime
RUN useradd -m app
COPY --from=build --chown=app /opt/venv /opt/venv
USER app
ENTRYPOINT ["/opt/venv/bin/python", "-c", "import shapes_app"]
