# Seen in public projects: everything added, then one `uv sync` (no separate dependency step).
FROM {UV_BASE}

# Copy the project into the image
ADD . /app

# Sync the project into a new environment, using the frozen lockfile
WORKDIR /app
RUN uv sync --frozen --no-cache

ENV PATH="/app/.venv/bin:$PATH"
CMD ["python", "-c", "import shapes_app"]
