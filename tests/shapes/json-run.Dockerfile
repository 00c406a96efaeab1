# Exec-form RUN instructions.
FROM {UV_BASE}
ENV UV_LINK_MODE=copy
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN ["uv", "sync", "--frozen", "--no-install-project", "--no-dev"]
COPY . .
RUN ["uv", "sync", "--frozen", "--no-dev"]
CMD ["/app/.venv/bin/python", "-c", "import shapes_app"]
