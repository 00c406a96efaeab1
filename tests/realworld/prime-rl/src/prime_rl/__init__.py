"""Stand-in for prime-rl's package (tests/realworld/prime-rl/ADAPTED.md)."""
