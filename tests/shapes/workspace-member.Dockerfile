# One image per workspace member: the builder syncs only svc-a's closure, the runtime copies the environment.
FROM {UV_BASE} AS builder
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY packages/svc-a/pyproject.toml packages/svc-a/pyproject.toml
COPY packages/svc-b/pyproject.toml packages/svc-b/pyproject.toml
COPY packages/lib-b/pyproject.toml packages/lib-b/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --package svc-a --no-install-workspace --no-editable
COPY packages /app/packages
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --package svc-a --no-editable

FROM {BASE}
COPY --from=builder /app/.venv /app/.venv
CMD ["/app/.venv/bin/python", "-c", "import svc_a, lib_b, numpy, pandas"]
