# Seen in public projects: uv installed with pip in the same RUN as `uv sync`; the runtime copies the .venv.
# ─── Builder stage ───────────────────────────────────────────────────────────
FROM {BASE} AS builder
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN python3 -m venv /opt/tools && /opt/tools/bin/pip install -q uv \
 && ln -s /opt/tools/bin/uv /usr/local/bin/uv \
 && uv sync --frozen --no-dev --no-install-project

COPY . .

# ─── Final (runtime) stage ───────────────────────────────────────────────────
FROM {BASE}
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}"
COPY . .
CMD ["python", "-c", "import numpy"]
