"""uvscope's terminal front end: the CLI and the Textual application."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("uvscope")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0"
