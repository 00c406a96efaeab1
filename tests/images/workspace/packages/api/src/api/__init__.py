"""api."""

VERSION = "source-1"
