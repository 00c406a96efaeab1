#!/usr/bin/env bash
# Build the Debian base image the integration tests start from, once per engine.
# No image registry is reachable here, so the base comes from debootstrap + `docker import`.
set -euo pipefail
name="${1:-uvscope-test-base:bookworm}"
if docker image inspect "$name" >/dev/null 2>&1; then
  exit 0
fi
root=$(mktemp -d /tmp/uvscope-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$name" >/dev/null
echo "built $name"
