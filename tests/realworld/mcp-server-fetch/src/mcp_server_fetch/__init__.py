"""Stub of mcp-server-fetch's package: the module names its script and `python -m` use (see ADAPTED.md)."""

from .server import serve


def main() -> None:
    """The `mcp-server-fetch` script: start the stdio server."""
    import asyncio

    asyncio.run(serve())
