#!/bin/bash
# Stand-in for prime-rl's entrypoint (tests/realworld/prime-rl/ADAPTED.md): raise the open-files limit, then run the command
ulimit -n 65536 2>/dev/null || true
exec "$@"
