# A builder that installs the project non-editable; the runtime copies only the environment.
FROM {UV_BASE} AS build
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
WORKDIR /app
COPY pyproject.toml uv.lock /app/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-install-project --no-editable --no-dev
ADD . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-editable --no-dev

FROM {BASE}
COPY --from=build /app/.venv /app/.venv
ENTRYPOINT ["/app/.venv/bin/python", "-c", "import shapes_app"]
