"""Stand-in for upstream's server.py (the fetch tool): the same imports, a `serve` that starts the stdio server."""

import markdownify
import readabilipy.simple_json
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import McpError
from mcp.types import INTERNAL_ERROR, ErrorData, TextContent, Tool
from protego import Protego
from pydantic import AnyUrl, BaseModel, Field

__all__ = [
    "AnyUrl",
    "BaseModel",
    "ErrorData",
    "Field",
    "INTERNAL_ERROR",
    "McpError",
    "Protego",
    "TextContent",
    "Tool",
    "markdownify",
    "readabilipy",
]


async def serve(user_agent: str | None = None, ignore_robots_txt: bool = False, proxy_url: str | None = None) -> None:
    server = Server("mcp-fetch")
    options = server.create_initialization_options()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, options, raise_exceptions=True)
