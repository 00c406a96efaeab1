#!/usr/bin/env bash
# Install and start what the engine tests need on this machine (root, Debian):
# Debian's docker.io (dockerd 20.10 + BuildKit), debootstrap for the base image,
# skopeo for OCI layouts and pushes, chromium for the HTML report, docker-registry and apache2-utils
# (htpasswd) for the registry tests, tmux for the session in a real terminal. Idempotent: a running engine is left alone.
set -euo pipefail
need=()
command -v dockerd >/dev/null || need+=(docker.io)
[ -x /usr/bin/docker ] || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v skopeo >/dev/null || need+=(skopeo)
command -v chromium >/dev/null || need+=(chromium)   # the HTML report is tested in a real headless browser
command -v docker-registry >/dev/null || need+=(docker-registry)   # registry source tests (started on loopback by the tests)
command -v htpasswd >/dev/null || need+=(apache2-utils)   # htpasswd for the registry behind basic auth
command -v tmux >/dev/null || need+=(tmux)   # the session in a real terminal: `q` during a stream read ends the process
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! /usr/bin/docker info >/dev/null 2>&1; then
  echo "starting dockerd"
  nohup dockerd --iptables=false --bridge=none >/tmp/uvscope-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    /usr/bin/docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
if ! /usr/bin/docker info >/dev/null 2>&1; then
  echo "the Docker Engine did not start; see /tmp/uvscope-dockerd.log" >&2
  tail -20 /tmp/uvscope-dockerd.log >&2 || true
  exit 1
fi
echo "Docker Engine $(/usr/bin/docker version --format '{{.Server.Version}}') is running"
