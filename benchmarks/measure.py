"""Timing helpers shared by every workload: bounded loops and their statistics."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = [
    "Unavailable",
    "loop_args",
    "percentile",
    "result",
    "timed_concurrent",
    "timed_loop",
    "timed_sync_loop",
]


# How long one measured loop may run before it stops early: keeps a slow side
# from stretching the whole run (ops/s comes from the calls that completed).
DEFAULT_MAX_SECONDS = 4.0


class Unavailable(Exception):
    """A side cannot run a workload because a piece it needs does not exist yet."""


def loop_args(params: dict[str, Any]) -> dict[str, Any]:
    """The loop bounds every workload takes from its parameters."""
    return {
        "count": int(params["count"]),
        "warmup": int(params.get("warmup", 0)),
        "max_seconds": float(params.get("seconds", DEFAULT_MAX_SECONDS)),
    }


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    if not values:
        raise ValueError("cannot take a percentile of no values")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def result(
    ops: int, seconds: float, latencies: list[float] | None = None, **extra: Any
) -> dict[str, Any]:
    """The one JSON-able record a worker prints for a measured run."""
    record: dict[str, Any] = {
        "ops": ops,
        "seconds": seconds,
        "ops_per_s": ops / seconds if seconds > 0 else 0.0,
    }
    if latencies:
        record["p50_ms"] = percentile(latencies, 0.50) * 1000
        record["p99_ms"] = percentile(latencies, 0.99) * 1000
        record["mean_ms"] = statistics.fmean(latencies) * 1000
    record.update(extra)
    return record


async def timed_loop(
    operation: Callable[[int], Awaitable[object]],
    count: int,
    warmup: int = 0,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> dict[str, Any]:
    """Run ``operation(i)`` up to ``count`` times in sequence after ``warmup``
    calls, stopping early once ``max_seconds`` have passed."""
    for index in range(warmup):
        await operation(-1 - index)
    latencies: list[float] = []
    clock = time.perf_counter
    started = clock()
    deadline = started + max_seconds
    for index in range(count):
        before = clock()
        await operation(index)
        latencies.append(clock() - before)
        if before > deadline:
            break
    return result(len(latencies), clock() - started, latencies)


async def timed_concurrent(
    operation: Callable[[int], Awaitable[object]],
    count: int,
    concurrency: int,
    warmup: int = 0,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> dict[str, Any]:
    """Run up to ``count`` calls of ``operation`` from ``concurrency`` client
    tasks; clients take no new call once ``max_seconds`` have passed."""
    for index in range(warmup):
        await operation(-1 - index)
    latencies: list[float] = []
    clock = time.perf_counter
    next_index = iter(range(count))
    started = clock()
    deadline = started + max_seconds

    async def client() -> None:
        for index in next_index:
            before = clock()
            await operation(index)
            latencies.append(clock() - before)
            if before > deadline:
                return

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return result(len(latencies), clock() - started, latencies, concurrency=concurrency)


def timed_sync_loop(
    operation: Callable[[int], object],
    count: int,
    warmup: int = 0,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> dict[str, Any]:
    """The synchronous twin of ``timed_loop`` for CPU-bound workloads."""
    for index in range(warmup):
        operation(-1 - index)
    clock = time.perf_counter
    started = clock()
    deadline = started + max_seconds
    done = 0
    for index in range(count):
        operation(index)
        done += 1
        if done % 16 == 0 and clock() > deadline:
            break
    return result(done, clock() - started)
