# WORKDIR, ENV and a non-root USER set in a parent stage; the builder and the runtime derive from it.
FROM {UV_BASE} AS base
RUN useradd --create-home --uid 1000 app && mkdir /app && chown app:app /app
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
WORKDIR /app
USER app

FROM base AS builder
COPY --chown=app:app pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/home/app/.cache/uv,uid=1000 uv sync --frozen --no-install-project --no-dev
COPY --chown=app:app . .
RUN --mount=type=cache,target=/home/app/.cache/uv,uid=1000 uv sync --frozen --no-dev

FROM base
COPY --from=builder /app /app
CMD ["/app/.venv/bin/python", "-c", "import shapes_app"]
