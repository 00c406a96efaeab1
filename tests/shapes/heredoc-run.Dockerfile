# syntax=docker/dockerfile:1
# A heredoc RUN.
FROM {UV_BASE}
ENV UV_LINK_MODE=copy
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv <<EOT
set -e
uv sync --frozen --no-install-project --no-dev
EOT
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev
CMD ["/app/.venv/bin/python", "-c", "import shapes_app"]
