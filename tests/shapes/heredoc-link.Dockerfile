# A heredoc RUN and COPY --link, as BuildKit 0.13's own Dockerfile frontend builds them (docker 26 with buildx;
# no `# syntax=` line: that would pull a frontend image). 20.10's BuildKit cannot build this file.
FROM {UV_BASE}
ENV UV_LINK_MODE=copy
WORKDIR /app
COPY --link pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv <<EOT
set -e
uv sync --frozen --no-install-project --no-dev
EOT
COPY --link . .
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev
CMD ["/app/.venv/bin/python", "-c", "import shapes_app"]
