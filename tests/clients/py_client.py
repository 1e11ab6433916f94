#!/usr/bin/env python3
"""pm-mcp through the official Python `mcp` SDK (2.x).

Usage: py_client.py CONFIG.json MODE
       py_client.py CONFIG.json call TOOL ARGS_JSON [TOOL ARGS_JSON ...]
  CONFIG.json  a client config as `pm-mcp key create` prints it for Cursor:
               {"mcpServers": {"pm-mcp": {"url": ..., "headers": {...}}}}
  MODE         legacy  Streamable HTTP, the initialize handshake (2025-11-25)
               auto    Streamable HTTP, server/discover first (2026-07-28), falling back to initialize
               sse     the legacy HTTP+SSE transport (GET /sse, POST /messages)

Lists tools, calls get_current_user and list_providers, lists the prompts, gets the sprint_review
prompt and reads the resource it links, lists the resource templates, prints one JSON line and exits 0;
prints the reason and exits 1 on any failure.

`call` (Streamable HTTP, initialize handshake) calls each TOOL with its arguments instead and
prints {"results": {TOOL: structuredContent}}. The SDK checks each structured result against the
outputSchema the tool advertised, and raises when it does not conform: an exit 1 naming the tool.
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


async def surface(client, connections):
    """Prompts, a prompt's resource link, the templates, and that resource read when the link's
    connection is one of the caller's: the SDK parses each result (in 2026-07-28 mode with its
    caching hints)."""
    prompts = [p.name for p in (await client.list_prompts()).prompts]
    prompt = await client.get_prompt("sprint_review", {"sprint_id": "acme-jira:7"})
    links = [str(m.content.uri) for m in prompt.messages if getattr(m.content, "type", "") == "resource_link"]
    templates = (await client.list_resource_templates()).resource_templates
    readable = links and links[0].split("/")[2] in connections
    read = await client.read_resource(links[0]) if readable else None
    return {
        "prompts": prompts,
        "links": links,
        "templates": len(templates),
        "read_mimes": [c.mime_type for c in read.contents] if read else [],
        "read_heading": (read.contents[0].text.splitlines() or [""])[0] if read else "",
    }


async def exercise(client):
    names = [t.name for t in (await client.list_tools()).tools]
    me = structured(await client.call_tool("get_current_user", {}), "get_current_user")
    providers = structured(await client.call_tool("list_providers", {}), "list_providers")
    connections = [c["name"] for c in providers["connections"]]
    return {
        **(await surface(client, connections)),
        "client": f"mcp@{importlib.metadata.version('mcp')}",
        "protocolVersion": client.protocol_version,
        "tools": names,
        "email": me["user"]["email"],
        "connections": [c["name"] for c in providers["connections"]],
    }


async def call_each(client, calls):
    await client.list_tools()  # the SDK keeps each tool's outputSchema to check results with
    results = {}
    for tool, args in calls:
        results[tool] = structured(await client.call_tool(tool, args), tool)
    return {"client": f"mcp@{importlib.metadata.version('mcp')}", "results": results}


async def run(server, mode, calls=None):
    url, headers = server["url"], server.get("headers", {})
    with anyio.fail_after(30):
        if mode == "sse":
            sse_url = url[: -len("/mcp")] + "/sse" if url.endswith("/mcp") else url
            async with Client(sse_client(sse_url, headers=headers), mode="legacy") as client:
                return await exercise(client)
        async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30.0, read=300.0)) as http:
            client_mode = "legacy" if calls is not None else mode
            async with Client(streamable_http_client(url, http_client=http), mode=client_mode) as client:
                if calls is not None:
                    return await call_each(client, calls)
                return await exercise(client)


def main():
    calls = None
    if len(sys.argv) >= 5 and sys.argv[2] == "call" and len(sys.argv) % 2 == 1:
        pairs = sys.argv[3:]
        calls = [(pairs[i], json.loads(pairs[i + 1])) for i in range(0, len(pairs), 2)]
    elif len(sys.argv) != 3 or sys.argv[2] not in ("legacy", "auto", "sse"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        server = json.load(f)["mcpServers"]["pm-mcp"]
    mode = sys.argv[2]
    try:
        out = anyio.run(run, server, mode, calls)
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
