"""Event end to end: from sending a create command to its event handler running.

Commands go out at a fixed rate (an open loop, so a slow side cannot slow the
offered load); the service's ``ItemCreated`` handler notes when each event
arrived. The ceiling times a bare aiokafka send until a consumer has it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..measure import result

__all__ = ["latency_ceiling", "latency_ours", "latency_peer"]

# Connections the command client keeps open: enough that commands sent at the
# offered rate never queue behind one another in the client.
CONNECTIONS = 8


async def _open_loop(
    send: Callable[[int], Awaitable[tuple[str, float]]], count: int, rate: float
) -> dict[str, float]:
    """Call ``send(i)`` at ``rate`` per second; the send time of each key."""
    interval = 1.0 / rate
    started = time.perf_counter()
    tasks = []
    for index in range(count):
        delay = started + index * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(index)))
    return dict(await asyncio.gather(*tasks))


async def _wait_seen(client: Any, keys: set[str], within: float) -> dict[str, float]:
    deadline = time.perf_counter() + within
    while True:
        status, seen = await client.request("GET", "/seen")
        if status != 200:
            raise RuntimeError(f"GET /seen answered {status}: {seen!r}")
        missing = keys - set(seen)
        if not missing:
            return seen
        if time.perf_counter() > deadline:
            raise TimeoutError(
                f"{len(missing)} of {len(keys)} events never reached the handler "
                f"within {within:.0f} s"
            )
        await asyncio.sleep(0.1)


async def _framework_latency(params: dict[str, Any]) -> dict[str, Any]:
    from ..app.boot import service_process
    from ..httpclient import HttpClient

    count, rate = int(params["count"]), float(params["rate"])
    within = float(params["timeout"])
    async with service_process(params) as base:
        host, _, port = base.removeprefix("http://").rpartition(":")
        async with HttpClient.open(host, int(port), CONNECTIONS) as client:

            async def send(index: int) -> tuple[str, float]:
                body = {"name": f"item-{index}", "count": index}
                body |= {"street": "Main Street 1", "city": "Springfield"}
                sent = time.perf_counter()
                status, answer = await client.request("POST", "/items", body)
                if status != 200:
                    raise RuntimeError(f"POST /items answered {status}: {answer!r}")
                return answer["uuid"], sent

            # One event through the whole path first: connections, consumer group.
            key, _ = await send(-1)
            await _wait_seen(client, {key}, within)

            started = time.perf_counter()
            sent = await _open_loop(send, count, rate)
            seen = await _wait_seen(client, set(sent), within)
    latencies = [seen[key] - sent[key] for key in sent]
    finished = max(seen[key] for key in sent)
    return result(count, finished - started, latencies, rate=rate)


latency_ours = _framework_latency
latency_peer = _framework_latency


async def latency_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    """A bare aiokafka producer at the same rate; a consumer notes arrivals."""
    from aiokafka import AIOKafkaProducer

    from .raw import TopicReader, ensure_topics

    topic = "CeilingLatency"
    count, rate = int(params["count"]), float(params["rate"])
    within = float(params["timeout"])
    padding = os.urandom(512)
    await ensure_topics(params["kafka"], [topic])
    reader = TopicReader(params["kafka"], topic, key_of=lambda value: value[:16].hex())
    await reader.start()
    producer = AIOKafkaProducer(bootstrap_servers=params["kafka"])
    await producer.start()
    try:

        async def send(index: int) -> tuple[str, float]:
            key = os.urandom(16)
            sent = time.perf_counter()
            await producer.send_and_wait(topic, key + padding)
            return key.hex(), sent

        await send(-1)
        await reader.wait_for(1, within)
        started = time.perf_counter()
        sent = await _open_loop(send, count, rate)
        await reader.wait_for(count + 1, within)
    finally:
        await producer.stop()
        await reader.stop()
    latencies = [reader.arrivals[key] - sent[key] for key in sent]
    finished = max(reader.arrivals[key] for key in sent)
    return result(count, finished - started, latencies, rate=rate)
