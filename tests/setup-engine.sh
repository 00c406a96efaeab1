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
command -v curl >/dev/null || need+=(curl)   # pings the podman 5 service
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

# The engines users run today, next to 20.10 and without touching the host's packages: Debian trixie's
# docker.io 26.1.5 (containerd image store), docker-buildx 0.13.1, containerd 1.7.24 and podman 5.4.2, in a
# trixie root debootstrapped once under $ENGINES (40 s and 637 MB on a fresh machine), each run in that root (chroot, in a mount
# namespace of its own with /proc, /sys, /dev bound in) on its own socket and data-root:
#   dockerd 26: unix:///run/uvscope-engines/docker26.sock, data-root /var/lib/uvscope-docker26
#   podman 5:   unix:///run/uvscope-engines/podman5.sock (`podman system service`), storage /var/lib/uvscope-podman5
# Host-side clients: $ENGINES/bin/docker26 (the 26.1.5 CLI with buildx 0.13.1) and $ENGINES/bin/podman5.
# UVSCOPE_MODERN_ENGINES=0 leaves them out.
ENGINES=${UVSCOPE_ENGINES_DIR:-/var/cache/uvscope-engines}
ROOT=$ENGINES/trixie
RUN=/run/uvscope-engines
if [ "${UVSCOPE_MODERN_ENGINES:-1}" != 0 ]; then
  if [ ! -x "$ROOT/usr/sbin/dockerd" ] || [ ! -x "$ROOT/usr/bin/podman" ] || [ ! -x "$ROOT/usr/bin/docker" ]; then
    echo "debootstrapping a trixie root for docker 26 and podman 5 in $ROOT"
    rm -rf "$ROOT.partial"
    mkdir -p "$ENGINES"
    if ! debootstrap --variant=minbase \
      --include=docker.io,docker-cli,docker-buildx,containerd,runc,podman,crun,conmon,netavark,ca-certificates,iptables \
      trixie "$ROOT.partial" http://deb.debian.org/debian >"$ENGINES/debootstrap.log" 2>&1; then
      echo "debootstrap of the trixie engine root failed; see $ENGINES/debootstrap.log" >&2
      exit 1
    fi
    rm -rf "$ROOT.partial"/var/cache/apt/archives/*.deb
    mv "$ROOT.partial" "$ROOT"
  fi
  mkdir -p "$ROOT/etc/docker" "$ROOT/etc/containers"
  echo '{"features": {"containerd-snapshotter": true}, "cgroup-parent": "/uvscope-docker26"}' >"$ROOT/etc/docker/daemon.json"
  # crun refuses a hybrid cgroup tree and podman's default ulimits exceed a sandbox's hard limits: runc, and the
  # limits this shell has, so `podman build` can run RUN steps here.
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n' \
    "$(ulimit -Hn)" "$(ulimit -Hn)" "$(ulimit -Hu)" "$(ulimit -Hu)" >"$ROOT/etc/containers/containers.conf"
  printf '[storage]\ndriver = "overlay"\ngraphroot = "/var/lib/uvscope-podman5"\nrunroot = "/run/containers/storage"\n' \
    >"$ROOT/etc/containers/storage.conf"
  mkdir -p "$ENGINES/bin" "$ENGINES/docker-config/cli-plugins" "$RUN" /var/lib/uvscope-docker26 /var/lib/uvscope-podman5
  ln -sfn "$ROOT/usr/libexec/docker/cli-plugins/docker-buildx" "$ENGINES/docker-config/cli-plugins/docker-buildx"
  # The 26 CLI and buildx run on bookworm's libc as they are; podman needs trixie's libraries.
  printf '#!/bin/sh\nexport DOCKER_CONFIG="${DOCKER_CONFIG:-%s}"\nexec %s "$@"\n' "$ENGINES/docker-config" "$ROOT/usr/bin/docker" >"$ENGINES/bin/docker26"
  printf '#!/bin/sh\nexec %s --library-path %s %s --remote --url unix://%s "$@"\n' "$ROOT/lib64/ld-linux-x86-64.so.2" \
    "$ROOT/lib/x86_64-linux-gnu:$ROOT/usr/lib/x86_64-linux-gnu" "$ROOT/usr/bin/podman" "$RUN/podman5.sock" >"$ENGINES/bin/podman5"
  chmod +x "$ENGINES/bin/docker26" "$ENGINES/bin/podman5"
  in_root() {  # run "$@" chrooted in $ROOT, in a mount namespace of its own, detached; log in $1
    local log=$1
    shift
    nohup unshare --mount --propagation private bash -c '
      set -e
      root=$1; shift
      mount --bind "$root" "$root"   # the root a mount point of its own: runc makes it a slave mount, then pivots
      mount -t tmpfs tmpfs "$root/run"
      for d in proc sys dev run/uvscope-engines var/lib/uvscope-docker26 var/lib/uvscope-podman5 tmp; do
        mkdir -p "$root/$d"
        mount --rbind "/$d" "$root/$d"
      done
      exec chroot "$root" "$@"' in_root "$ROOT" "$@" >"$log" 2>&1 &
  }
  wait_for() {  # wait up to 60 s for "$@" to succeed
    for _ in $(seq 1 60); do
      "$@" >/dev/null 2>&1 && return 0
      sleep 1
    done
    return 1
  }
  if ! /usr/bin/docker -H "unix://$RUN/docker26.sock" info >/dev/null 2>&1; then
    echo "starting dockerd 26 (containerd image store)"
    in_root /tmp/uvscope-dockerd26.log dockerd --host "unix://$RUN/docker26.sock" --data-root /var/lib/uvscope-docker26 \
      --exec-root "$RUN/docker26" --pidfile "$RUN/docker26.pid" --iptables=false --ip6tables=false --bridge=none
    if ! wait_for /usr/bin/docker -H "unix://$RUN/docker26.sock" info; then
      echo "dockerd 26 did not start in the trixie root; see /tmp/uvscope-dockerd26.log: $(tail -1 /tmp/uvscope-dockerd26.log)" >&2
      exit 1
    fi
  fi
  stamp=$(cat "$ROOT/etc/containers/containers.conf" "$ROOT/etc/containers/storage.conf" | sha256sum | cut -c1-16)
  if [ -f "$RUN/podman5.pid" ] && [ "$(cat "$RUN/podman5.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "restarting podman 5: its configuration changed"   # only the service this script started (its pidfile)
    kill "$(cat "$RUN/podman5.pid")" 2>/dev/null || true
    rm -f "$RUN/podman5.pid" "$RUN/podman5.sock"
    sleep 1
  fi
  if ! curl -sf --unix-socket "$RUN/podman5.sock" http://d/_ping >/dev/null 2>&1; then
    echo "starting podman 5 (podman system service)"
    rm -f "$RUN/podman5.sock"
    in_root /tmp/uvscope-podman5.log podman system service --time=0 "unix://$RUN/podman5.sock"
    echo $! >"$RUN/podman5.pid"   # unshare, bash and chroot exec: the service's own pid
    echo "$stamp" >"$RUN/podman5.stamp"
    if ! wait_for curl -sf --unix-socket "$RUN/podman5.sock" http://d/_ping; then
      echo "podman 5 did not start in the trixie root; see /tmp/uvscope-podman5.log: $(tail -1 /tmp/uvscope-podman5.log)" >&2
      exit 1
    fi
  fi
  echo "Docker Engine $(/usr/bin/docker -H "unix://$RUN/docker26.sock" version --format '{{.Server.Version}}') (containerd image store) on $RUN/docker26.sock," \
    "$("$ENGINES/bin/docker26" buildx version | cut -d' ' -f1-2), podman $("$ENGINES/bin/podman5" version --format '{{.Server.Version}}') on $RUN/podman5.sock"
fi
