#!/usr/bin/env python3
"""pm-mcp through the official Python `mcp` SDK (2.x).

Usage: py_client.py CONFIG.json MODE
  CONFIG.json  a client config as `pm-mcp key create` prints it for Cursor:
               {"mcpServers": {"pm-mcp": {"url": ..., "headers": {...}}}}
  MODE         legacy  Streamable HTTP, the initialize handshake (2025-11-25)
               auto    Streamable HTTP, server/discover first (2026-07-28), falling back to initialize
               sse     the legacy HTTP+SSE transport (GET /sse, POST /messages)

Lists tools, calls get_current_user and list_providers, prints one JSON line and exits 0;
prints the reason and exits 1 on any failure.
"""
import importlib.metadata
import json
import sys

import anyio
import httpx2 as httpx
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client


def structured(result, tool):
    if result.is_error or not isinstance(result.structured_content, dict):
        raise RuntimeError(f"{tool} failed: {result!r}")
    return result.structured_content


async def exercise(client):
    names = [t.name for t in (await client.list_tools()).tools]
    me = structured(await client.call_tool("get_current_user", {}), "get_current_user")
    providers = structured(await client.call_tool("list_providers", {}), "list_providers")
    return {
        "client": f"mcp@{importlib.metadata.version('mcp')}",
        "protocolVersion": client.protocol_version,
        "tools": names,
        "email": me["user"]["email"],
        "connections": [c["name"] for c in providers["connections"]],
    }


async def run(server, mode):
    url, headers = server["url"], server.get("headers", {})
    with anyio.fail_after(30):
        if mode == "sse":
            sse_url = url[: -len("/mcp")] + "/sse" if url.endswith("/mcp") else url
            async with Client(sse_client(sse_url, headers=headers), mode="legacy") as client:
                return await exercise(client)
        async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30.0, read=300.0)) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                return await exercise(client)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("legacy", "auto", "sse"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        server = json.load(f)["mcpServers"]["pm-mcp"]
    mode = sys.argv[2]
    try:
        out = anyio.run(run, server, mode)
    except BaseException as e:  # anyio raises exception groups
        print(f"py_client ({mode}) FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        for sub in getattr(e, "exceptions", []):
            print(f"  {type(sub).__name__}: {sub}", file=sys.stderr)
        return 1
    out["mode"] = mode
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
