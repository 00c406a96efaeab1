#!/usr/bin/env bash
# Build the large image the README's benchmark figures come from: torch with its CUDA
# wheels from PyPI in one `uv sync` layer (about 6 GB; needs the engine and network to PyPI).
#   bash bench/build-torch-image.sh && uv run python bench/bench.py uvscope-bench/torch:latest
# On another engine, name its client and socket (docker 26 with the containerd image store, from tests/setup-engine.sh):
#   DOCKER=/var/cache/uvscope-engines/bin/docker26 DOCKER_HOST=unix:///run/uvscope-engines/docker26.sock bash bench/build-torch-image.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
docker=${DOCKER:-/usr/bin/docker}
if ! "$docker" image inspect uvscope-test-base:bookworm >/dev/null 2>&1; then
  if [ -n "${DOCKER_HOST:-}" ] && /usr/bin/docker -H unix:///var/run/docker.sock image inspect uvscope-test-base:bookworm >/dev/null 2>&1; then
    /usr/bin/docker -H unix:///var/run/docker.sock save uvscope-test-base:bookworm | "$docker" load -q   # the same base on both engines
  else
    PATH="/usr/bin:$PATH" bash "$here/../tests/images/build-base.sh"
  fi
fi
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/torch/pyproject.toml" "$here/torch/uv.lock" "$here/torch/Dockerfile" "$context/"
cp /etc/ssl/certs/ca-certificates.crt "$context/"
cp "$(python3 -c 'from uv import find_uv_bin; print(find_uv_bin())' 2>/dev/null || command -v uv)" "$context/uv"
DOCKER_BUILDKIT=1 "$docker" build --network host -t uvscope-bench/torch:latest "$context"
