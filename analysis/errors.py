"""Errors that end a command with one clear line instead of a traceback."""


class UvscopeError(Exception):
    """An error the user can act on; `str(error)` is the one line shown."""

    exit_code = 2


class NothingToDo(UvscopeError):
    """The request is already met (e.g. the Dockerfile already isolates those packages): said, exit 0."""

    exit_code = 0


class EngineUnavailable(UvscopeError):
    """The Docker Engine cannot be reached."""


class ImageNotFound(UvscopeError):
    """The engine, archive or layout holds no image of that name."""


class ArchiveError(UvscopeError):
    """A file or folder is not a readable image archive or OCI layout."""


class LayerError(UvscopeError):
    """A layer blob could not be read (truncated, corrupt, not a tar)."""


class GroupingError(ValueError):
    """A move that cannot be made (unknown package or group, duplicate name).

    Defined here, not in `plan.grouping`, so the command line can catch it without importing the planner."""


class ReadCancelled(Exception):
    """The reader was asked to stop (the user quit); not an error."""
