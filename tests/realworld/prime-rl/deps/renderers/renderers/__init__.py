"""Stand-in for renderers (tests/realworld/prime-rl/ADAPTED.md)."""

__version__ = "0.1.9"
