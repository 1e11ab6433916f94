#!/usr/bin/env python3
"""Every tool of pm-mcp through the official Python `mcp` SDK, as a plan says.

Usage: matrix.py PLAN.json

PLAN.json: {"url": ".../mcp", "key": "pmk_...", "vars": {...},
            "steps": [{"tool", "label", "arguments", "expect": "ok"|"unsupported"|"error",
                       "expect_text": [...], "expect_code"?, "check"?: {pointer: value}, "save"?: {var: pointer}}]}

Connects over Streamable HTTP with the key, reads tools/list, then runs the steps in order (a step
may use what an earlier one saved: "${var}" in an argument string; "${sdk}" is "py"). Prints a
{"tools": [...]} line, then one JSON line per step: {"step", "tool", "label", "expect", "outcome":
"ok"|"unsupported"|"error"|"rejected"|"skipped", "rpc_code"?, "text", "sdk_rejected", "values":
{pointer: what the structured content holds there, for each "check" and "save" pointer}}, then a
{"tool", "outcome": "missing"} line for each listed tool no step calls, then one line per read
of the plan's "reads" ([{"prompt", "arguments"}], run before the step "reads_before" names:
prompts/get, then resources/read of each resource the prompt links): {"read", "prompt", "outcome", "text", "links": [{"uri", "outcome",
"mime": [...], "text"}]}, and last {"done": true}.
The judging (expectations, checks, coverage) is the Rust test's. The SDK validates every
structured result against the tool's outputSchema; a result it rejects is reported as "rejected",
never passed over. Exits 0 when the run itself worked, 1 when it could not run.
"""
import importlib.metadata
import json
import re
import sys

import anyio
import httpx2 as httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

try:
    from mcp.shared.exceptions import MCPError
except ImportError:  # older names
    from mcp.shared.exceptions import McpError as MCPError

CALL_TIMEOUT = 60
MISSING = object()


def emit(obj):
    print(json.dumps(obj), flush=True)


def pointer(value, path):
    """The part of `value` a JSON pointer names, or MISSING."""
    if path == "":
        return value
    for raw in path.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def substitute(value, saved, unresolved):
    """`value` with "${var}" replaced by what an earlier step saved."""
    if isinstance(value, dict):
        return {k: substitute(v, saved, unresolved) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, saved, unresolved) for v in value]
    if isinstance(value, str) and "${" in value:
        names = re.findall(r"\$\{([A-Za-z0-9_]+)\}", value)
        for name in names:
            if name not in saved:
                unresolved.append(name)
                return value
        if len(names) == 1 and value == "${" + names[0] + "}":
            return saved[names[0]]
        for name in names:
            value = value.replace("${" + name + "}", str(saved[name]))
    return value


def result_text(result):
    return " ".join(getattr(c, "text", "") for c in result.content if getattr(c, "type", "") == "text")


async def run_step(client, saved, index, step):
    line = {"step": index, "tool": step["tool"], "label": step.get("label", ""), "expect": step.get("expect")}
    unresolved = []
    args = substitute(step.get("arguments", {}), saved, unresolved)
    if unresolved:
        line.update(outcome="skipped", text=f"needs ${{{unresolved[0]}}}, which an earlier step did not give",
                    sdk_rejected=False)
        return line
    sc = None
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            result = await client.call_tool(step["tool"], args)
    except MCPError as e:  # a JSON-RPC error the server answered
        code = getattr(e, "code", None)
        if code is None and getattr(e, "error", None) is not None:
            code = e.error.code
        line.update(outcome="error", rpc_code=code, text=str(e), sdk_rejected=False)
    except TimeoutError:
        line.update(outcome="error", text=f"no answer within {CALL_TIMEOUT} s", sdk_rejected=False)
    except Exception as e:  # the SDK refused the result (outputSchema, protocol shape)
        line.update(outcome="rejected", text=f"{type(e).__name__}: {e}", sdk_rejected=True)
    else:
        text = result_text(result)
        sc = result.structured_content
        if result.is_error:
            line.update(outcome="unsupported" if "not supported by" in text else "error", text=text)
        else:
            line.update(outcome="ok", text=text[:300])
        line["sdk_rejected"] = False
    if line["outcome"] == "ok":
        for var, path in step.get("save", {}).items():
            got = pointer(sc, path)
            if got is not MISSING:
                saved[var] = got
    values = {}
    for path in [*step.get("check", {}), *step.get("save", {}).values()]:
        got = pointer(sc, path) if sc is not None else MISSING
        values[path] = {"$missing": True} if got is MISSING else got
    line["values"] = values
    return line


def contents_text(contents):
    return [getattr(c, "mime_type", None) or getattr(c, "mimeType", None) for c in contents], \
        "\n".join(getattr(c, "text", "") or "" for c in contents)


async def run_read(client, saved, index, read):
    """prompts/get, then resources/read of every resource link in it: the SDK parses both."""
    line = {"read": index, "prompt": read["prompt"], "links": []}
    unresolved = []
    args = substitute(read.get("arguments", {}), saved, unresolved)
    if unresolved:
        line.update(outcome="skipped", text=f"needs ${{{unresolved[0]}}}")
        return line
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            prompt = await client.get_prompt(read["prompt"], {k: str(v) for k, v in args.items()})
    except MCPError as e:
        line.update(outcome="error", text=str(e))
        return line
    except Exception as e:  # the SDK refused the result
        line.update(outcome="rejected", text=f"{type(e).__name__}: {e}")
        return line
    texts, uris = [], []
    for m in prompt.messages:
        c = m.content
        if getattr(c, "type", "") == "text":
            texts.append(c.text)
        elif getattr(c, "type", "") == "resource_link":
            uris.append(str(c.uri))
    line.update(outcome="ok", text="\n".join(texts)[:3000])
    for uri in uris:
        link = {"uri": uri}
        try:
            with anyio.fail_after(CALL_TIMEOUT):
                read_result = await client.read_resource(uri)
            mime, text = contents_text(read_result.contents)
            link.update(outcome="ok", mime=mime, text=text[:3000])
        except MCPError as e:
            link.update(outcome="error", text=str(e))
        except Exception as e:
            link.update(outcome="rejected", text=f"{type(e).__name__}: {e}")
        line["links"].append(link)
    return line


async def run(plan):
    headers = {"Authorization": f"Bearer {plan['key']}"}
    saved = {"sdk": "py", **plan.get("vars", {})}
    async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30.0, read=300.0)) as http:
        async with Client(streamable_http_client(plan["url"], http_client=http), mode="legacy") as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            emit({"tools": tools, "client": f"mcp@{importlib.metadata.version('mcp')}"})
            # The reads run before the step "reads_before" names (while what they read exists).
            reads_before = plan.get("reads_before", len(plan["steps"]))
            for index, step in enumerate(plan["steps"]):
                if index == reads_before:
                    for i, read in enumerate(plan.get("reads", [])):
                        emit(await run_read(client, saved, i, read))
                emit(await run_step(client, saved, index, step))
            if reads_before >= len(plan["steps"]):
                for i, read in enumerate(plan.get("reads", [])):
                    emit(await run_read(client, saved, i, read))
            planned = {step["tool"] for step in plan["steps"]}
            for name in tools:
                if name not in planned:
                    emit({"tool": name, "outcome": "missing"})
    emit({"done": True})


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    try:
        anyio.run(run, plan)
    except BaseException as e:  # anyio raises exception groups
        print(f"matrix.py FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        for sub in getattr(e, "exceptions", []):
            print(f"  {type(sub).__name__}: {sub}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
