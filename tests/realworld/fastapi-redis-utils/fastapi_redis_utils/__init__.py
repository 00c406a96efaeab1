"""Stub of fastapi-redis-utils' package: its module name and the version hatch reads (see ADAPTED.md)."""

__version__ = "2.0.12"
