"""The reference server's agent backend, as it calls its MCP server: langchain-mcp-adapters over
legacy SSE with one system key in X-MCP-API-Key and no persistent session (a new /sse connection for
every tool call). Reads a JSON file {"url", "key", "calls": [{"tool", "args"}]} and prints, as JSON,
one {"tool", "ok", "text"} per call: the text the agent would see, or the exception it would get.
"""
import asyncio
import json
import sys

from langchain_mcp_adapters.client import MultiServerMCPClient


def as_text(result):
    if isinstance(result, str):
        return result
    if isinstance(result, tuple):
        result = result[0]
    if isinstance(result, list):
        parts = []
        for block in result:
            if isinstance(block, dict):
                parts.append(block.get("text", ""))
            else:
                parts.append(getattr(block, "text", str(block)))
        return "".join(parts)
    return str(result)


async def main(path):
    with open(path) as f:
        cfg = json.load(f)
    client = MultiServerMCPClient(
        {
            "pm": {
                "transport": "sse",
                "url": cfg["url"],
                "headers": {"X-MCP-API-Key": cfg["key"]},
            }
        }
    )
    tools = {t.name: t for t in await client.get_tools()}
    out = []
    for call in cfg["calls"]:
        tool = tools.get(call["tool"])
        if tool is None:
            out.append({"tool": call["tool"], "ok": False, "text": "not in tools/list"})
            continue
        try:
            result = await tool.ainvoke(call["args"])
            out.append({"tool": call["tool"], "ok": True, "text": as_text(result)})
        except Exception as e:  # the agent sees the exception text
            out.append({"tool": call["tool"], "ok": False, "text": f"{type(e).__name__}: {e}"})
    print(json.dumps({"tools": len(tools), "calls": out}))


asyncio.run(main(sys.argv[1]))
