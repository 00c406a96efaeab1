#!/bin/bash
# Stand-in for prime-rl's script (tests/realworld/prime-rl/ADAPTED.md): upstream resolves the verifiers and renderers
# submodules' versions from their git metadata; here there is none, so it prints their pyproject versions as the
# shell assignments the Dockerfile `eval`s. Usage: docker-editable-pretend-versions.sh --shell APP_DIR
set -euo pipefail
[ "${1:-}" = "--shell" ] || { echo "usage: $0 --shell APP_DIR" >&2; exit 2; }
app="${2:-/app}"
version() { sed -n 's/^version = "\(.*\)"$/\1/p' "$1" | head -n 1; }
echo "export VERIFIERS_PRETEND_VERSION=$(version "$app/deps/verifiers/pyproject.toml")"
echo "export RENDERERS_PRETEND_VERSION=$(version "$app/deps/renderers/pyproject.toml")"
