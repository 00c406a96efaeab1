#!/usr/bin/env bash
# Build a synthetic image of about FILES files for bench/bench.py's growth table, on top of
# BASE (default: the tests' Debian base image), in one layer of fake installed distributions.
#   bash bench/build-synthetic-image.sh 50000 [BASE] [TAG]
# e.g. BASE=uvscope-bench/torch:latest gives the torch image plus FILES more files (the >= 45k image).
set -euo pipefail
files="${1:?number of files}"
base="${2:-uvscope-test-base:bookworm}"
tag="${3:-uvscope-bench/synthetic:$files}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ "$base" = "uvscope-test-base:bookworm" ]; then PATH="/usr/bin:$PATH" bash "$here/../tests/images/build-base.sh"; fi
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/synthetic/generate.py" "$context/"
cat > "$context/Dockerfile" <<DOCKERFILE
FROM $base
RUN --mount=type=bind,source=generate.py,target=/tmp/generate.py python3 /tmp/generate.py $files /app/.venv
DOCKERFILE
DOCKER_BUILDKIT=1 /usr/bin/docker build --network host -q -t "$tag" "$context" >/dev/null
echo "$tag"
