# Stage names in any case: `AS Builder`, `--from=builder`.
FROM {UV_BASE} AS Builder
ENV UV_LINK_MODE=copy
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-install-project --no-dev
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev

FROM {BASE} AS Runtime
COPY --from=builder /app /app
CMD ["/app/.venv/bin/python", "-c", "import shapes_app"]
