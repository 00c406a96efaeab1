"""Stand-in for verifiers (tests/realworld/prime-rl/ADAPTED.md)."""

__version__ = "0.3.1"
