# The environment is an existing virtualenv activated by VIRTUAL_ENV: `uv sync --active`.
FROM {UV_BASE}
ENV VIRTUAL_ENV=/opt/venv UV_LINK_MODE=copy
ENV PATH="$VIRTUAL_ENV/bin:$PATH"
RUN uv venv $VIRTUAL_ENV
WORKDIR /srv/service
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --active --frozen --no-install-project
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv uv sync --active --frozen
CMD ["python", "-c", "import shapes_app"]
