#!/usr/bin/env bash
# What users pay on the torch-sized image: the preview's estimate of the bytes pushed after a change (from the
# image's measured, cached compressed layer sizes), and with PROVE=1 the measured proof: bytes pushed to a
# loopback registry and the rebuild on a cold CI builder, original vs revised Dockerfile.
#   bash bench/build-torch-image.sh && bash bench/prove-torch.sh            # the estimate (a few minutes, once)
#   PROVE=1 bash bench/prove-torch.sh                                       # the proof: needs root and ~30 GB free
# (PROVE=1 builds three more torch-sized images, pushes about 10 GB to two scratch registries and rebuilds on a
# throwaway dockerd: about 35 minutes and 30 GB of disk on the 2-core test machine; the README has its figures.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
uvscope=${UVSCOPE:-uvscope}
context=$(mktemp -d /tmp/uvscope-torch-proof.XXXXXX)
trap 'rm -rf "$context"' EXIT
cp "$here/torch/pyproject.toml" "$here/torch/uv.lock" "$here/torch/Dockerfile" "$context/"
cp /etc/ssl/certs/ca-certificates.crt "$context/"
cp "$(python3 -c 'from uv import find_uv_bin; print(find_uv_bin())' 2>/dev/null || command -v uv)" "$context/uv"
if [ "${PROVE:-0}" = 1 ]; then
  UVSCOPE_DOCKER=${UVSCOPE_DOCKER:-/usr/bin/docker} "$uvscope" optimize --project "$context" --group heavy=torch \
    --prove --prove-cold --docker-build-option=--network=host "$@"
else
  "$uvscope" optimize --project "$context" --group heavy=torch --image uvscope-bench/torch:latest "$@"
fi
