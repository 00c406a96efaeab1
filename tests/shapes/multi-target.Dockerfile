# Several images from one Dockerfile, chosen with `docker build --target` (as OpenHands' agent server does):
# `runtime` copies the environment; the last stage ships something else built from the same builder.
FROM {UV_BASE} AS builder
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --locked --no-install-project --no-dev
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev

FROM {BASE} AS runtime
COPY --from=builder /app /app
ENV PATH="/app/.venv/bin:$PATH"
WORKDIR /app
CMD ["python", "-c", "import shapes_app"]

FROM {BASE} AS source
COPY --from=builder /app/src /src
CMD ["ls", "/src"]
