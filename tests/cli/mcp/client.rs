//! The MCP client the tests drive `cred mcp` with, as the Python program
//! it is (run with `python -c`): the official SDK (PyPI `mcp`) through
//! `stdio_client` and `ClientSession`, exactly as an agent would.

pub const SCRIPT: &str = r#""""A real MCP client (PyPI `mcp`, the official Python SDK) driving `cred mcp`
for the tests in this folder.

Reads one JSON object on stdin:
  {"command": PATH, "args": [...], "steps": [STEP, ...]}
where a STEP is {"op": "list_tools"}, {"op": "call", "name": TOOL,
"arguments": {...}} or {"op": "peak_rss"} (VmHWM of the cred child, in KiB).
Starts the server through stdio_client with this process's whole
environment, initializes, runs the steps in order and prints one JSON
object: {"init": {...}, "results": [...]}. A step that raises (a protocol
error) gives {"exception": TEXT}.
"""

import json
import os
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def cred_children():
    """PIDs of this process's children (the server under test)."""
    me = os.getpid()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me:
            pids.append(int(entry))
    return pids


def peak_rss():
    for pid in cred_children():
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
        except OSError:
            continue
        if "Name:\tcred" not in status:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def tool_result(result):
    out = {"is_error": bool(result.is_error)}
    texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    out["text"] = "\n".join(texts)
    out["structured"] = result.structured_content
    return out


async def main():
    plan = json.load(sys.stdin)
    params = StdioServerParameters(
        command=plan["command"], args=plan["args"], env=dict(os.environ)
    )
    report = {"results": []}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            report["init"] = {
                "protocolVersion": init.protocol_version,
                "serverInfo": init.server_info.model_dump(mode="json"),
                "instructions": init.instructions,
                "capabilities": init.capabilities.model_dump(mode="json", exclude_none=True),
            }
            for step in plan["steps"]:
                try:
                    if step["op"] == "list_tools":
                        tools = await session.list_tools()
                        report["results"].append(
                            {"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools]}
                        )
                    elif step["op"] == "call":
                        result = await session.call_tool(step["name"], step.get("arguments", {}))
                        report["results"].append(tool_result(result))
                    elif step["op"] == "peak_rss":
                        report["results"].append({"peak_rss_kib": peak_rss()})
                    else:
                        raise ValueError(f"unknown op {step['op']}")
                except Exception as e:  # a protocol error: reported, the run goes on
                    report["results"].append({"exception": f"{type(e).__name__}: {e}"})
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


anyio.run(main)
"#;
