"""Stand-in for prime-pydantic-config (tests/realworld/prime-rl/ADAPTED.md)."""

__version__ = "0.4.3"
