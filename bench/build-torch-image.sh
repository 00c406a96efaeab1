#!/usr/bin/env bash
# Build the large image the README's benchmark figures come from: torch with its CUDA
# wheels from PyPI in one `uv sync` layer (about 6 GB; needs the engine and network to PyPI).
#   bash bench/build-torch-image.sh && uv run python bench/bench.py uvscope-bench/torch:latest
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PATH="/usr/bin:$PATH" bash "$here/../tests/images/build-base.sh"
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/torch/pyproject.toml" "$here/torch/uv.lock" "$here/torch/Dockerfile" "$context/"
cp /etc/ssl/certs/ca-certificates.crt "$context/"
cp "$(python3 -c 'from uv import find_uv_bin; print(find_uv_bin())' 2>/dev/null || command -v uv)" "$context/uv"
DOCKER_BUILDKIT=1 /usr/bin/docker build --network host -t uvscope-bench/torch:latest "$context"
