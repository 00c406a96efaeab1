"""sci: the application code."""

VERSION = "source-1"
