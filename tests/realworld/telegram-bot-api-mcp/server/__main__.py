"""Stand-in for the project's MCP server entry point (the real one serves the Telegram Bot API docs)."""

from fastmcp import FastMCP

mcp = FastMCP("telegram-bot-api-mcp")

if __name__ == "__main__":
    mcp.run()
