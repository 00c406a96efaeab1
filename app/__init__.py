"""uvscope's terminal front end: the CLI and the Textual application."""


def __getattr__(name: str) -> str:
    """`__version__`, looked up when first asked for: importlib.metadata would cost the session's start-up time."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("uvscope")
    except PackageNotFoundError:  # a source tree that is not installed
        found = "0.0.0"
    globals()["__version__"] = found
    return found
