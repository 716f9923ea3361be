"""REST: requests per second and latency of a query endpoint, over loopback.

The service (either side) and the bare aiohttp ceiling each run in their own
process; the load client is the same code for all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..measure import loop_args
from .raw import http_load

__all__ = ["query_ceiling", "query_ours", "query_peer"]


async def _framework_query(params: dict[str, Any]) -> dict[str, Any]:
    from ..app.boot import service_process

    async with service_process(params) as base:
        return await http_load(
            base, "/items", concurrency=int(params["concurrency"]), **loop_args(params)
        )


query_ours = _framework_query
query_peer = _framework_query


async def query_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    from ..app.process import served

    port = int(params["port"])
    base = f"http://127.0.0.1:{port}"
    log = Path(params["workdir"]) / "bare.log"
    async with served("benchmarks.app.bare", [str(port)], f"{base}/items", log):
        return await http_load(
            base, "/items", concurrency=int(params["concurrency"]), **loop_args(params)
        )
