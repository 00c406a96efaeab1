"""The application the shape tests build (source-1)."""

VERSION = "source-1"
