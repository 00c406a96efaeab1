"""Stand-in for prime-rl-configs (tests/realworld/prime-rl/ADAPTED.md)."""
