#!/bin/sh
# UVSCOPE_COLD_DOCKERD for docker 26 on this machine: Debian trixie's dockerd 26.1.5 run in the trixie root
# that tests/setup-engine.sh debootstrapped (chroot, in a mount namespace of its own with /proc, /sys, /dev and
# /tmp bound in, where --prove-cold keeps the throwaway engine's data-root and socket). The process stays the
# dockerd itself (each step execs the next), so `--prove-cold` stops it by its pid.
ROOT=${UVSCOPE_ENGINES_DIR:-/var/cache/uvscope-engines}/trixie
exec unshare --mount --propagation private sh -c '
  set -e
  root=$1; shift
  mount --bind "$root" "$root"
  mount -t tmpfs tmpfs "$root/run"
  for d in proc sys dev tmp; do mkdir -p "$root/$d"; mount --rbind "/$d" "$root/$d"; done
  exec chroot "$root" dockerd "$@"' cold-dockerd26 "$ROOT" "$@"
