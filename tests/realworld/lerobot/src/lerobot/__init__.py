"""uvscope corpus stub: lerobot's top-level package (see ADAPTED.md)."""

__version__ = "0.6.2"
