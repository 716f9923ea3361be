"""Runs one workload on one side and prints one JSON result line.

``python -m benchmarks.worker <workload> <side> <json-params>``, started by the
runner under the side's interpreter. The last line on stdout is
``BENCH-RESULT <json>`` with ``status`` ``ok`` (and the measurements),
``unavailable`` (the side lacks a piece the workload needs) or ``failed``.
"""

from __future__ import annotations

import asyncio
import faulthandler
import importlib
import inspect
import json
import os
import sys
import traceback
from typing import Any

from .measure import Unavailable
from .workloads import WORKLOADS

MARKER = "BENCH-RESULT "


def run(name: str, side: str, params: dict[str, Any]) -> dict[str, Any]:
    """Measure ``name`` on ``side``; every outcome becomes a record, never a crash."""
    workload = next((w for w in WORKLOADS if w.name == name), None)
    if workload is None:
        return {"status": "failed", "error": f"unknown workload {name!r}"}
    if side not in workload.sides:
        return {"status": "unavailable", "error": f"{name} has no {side} side"}
    module = importlib.import_module(workload.module)
    function = getattr(module, f"{workload.entry}_{side}")
    try:
        outcome = function(params)
        if inspect.isawaitable(outcome):
            # No graceful loop shutdown: a task the framework left behind (one
            # that swallows cancellation, say) must not hold the result back.
            # The process exits right after printing it.
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            outcome = loop.run_until_complete(_awaited(outcome))
    except Unavailable as exc:
        return {"status": "unavailable", "error": str(exc)}
    except ImportError as exc:
        return {"status": "unavailable", "error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:
        return {
            "status": "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=8)[-4000:],
        }
    return {"status": "ok", **outcome}


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m benchmarks.worker <workload> <side> <json-params>")
        return 2
    name, side, raw = argv
    params = json.loads(raw)
    # Where a worker hangs, its stacks reach stderr before the runner kills it.
    if "deadline" in params:
        faulthandler.dump_traceback_later(float(params["deadline"]), exit=False)
    record = run(name, side, params)
    record.update(workload=name, side=side, python=sys.version.split()[0])
    print(MARKER + json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
