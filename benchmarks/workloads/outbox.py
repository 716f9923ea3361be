"""Outbox -> Kafka: how fast the producer moves queued events to the broker.

The outbox is filled first (not timed); the clock runs from starting the
producer until a plain consumer has read every event from the topic. The
ceiling sends the same number of messages with a bare aiokafka producer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from ..measure import result

__all__ = ["drain_ceiling", "drain_ours", "drain_peer"]

TOPIC = "ItemCreated"


async def _fill_outbox(count: int) -> None:
    from minos.common import AggregateDiff

    from ..app import injected
    from ..app.aggregates import Item, Location

    broker = injected.event_broker()
    for index in range(count):
        item = Item(
            name=f"item-{index}",
            count=index,
            tags=["bench"],
            location=Location(street="Main Street 1", city="Springfield"),
        )
        await broker.send(AggregateDiff.from_aggregate(item), topic=TOPIC)


# Seconds a producer gets to stop once the measurement is over.
STOP_WITHIN = 10.0


async def _cancelled(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait a bounded time: a dispatch loop may swallow
    a cancellation that lands while ``asyncio.wait_for`` completes."""
    for _ in range(5):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=STOP_WITHIN / 5)
        if done:
            return


@contextlib.asynccontextmanager
async def _producer_running(side: str, config_path: Path) -> Any:
    """The side's ``ProducerService`` started as its launcher would start it."""
    from minos.common import MinosConfig
    from minos.networks import ProducerService

    config = MinosConfig(config_path)
    if side == "peer":
        # The original service's ``start`` is its dispatch loop: run it as a task.
        service = ProducerService(config=config)
        task = asyncio.create_task(service.start())
        try:
            yield service
        finally:
            await _cancelled(task)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service.stop(), STOP_WITHIN)
        return
    service = ProducerService.from_config(config)
    await service.start()
    try:
        yield service
    finally:
        await asyncio.wait_for(service.stop(), STOP_WITHIN)


async def _framework_drain(side: str, params: dict[str, Any]) -> dict[str, Any]:
    from ..app.boot import booted
    from .raw import TopicReader, ensure_topics

    count = int(params["count"])
    async with booted(params):
        await ensure_topics(params["kafka"], [TOPIC])
        await _fill_outbox(count)
        reader = TopicReader(params["kafka"], TOPIC)
        await reader.start()
        try:
            started = time.perf_counter()
            async with _producer_running(side, Path(params["workdir"]) / "config.yml"):
                finished = await reader.wait_for(count, float(params["timeout"]))
        finally:
            await reader.stop()
    return result(count, finished - started)


async def drain_ours(params: dict[str, Any]) -> dict[str, Any]:
    return await _framework_drain("ours", params)


async def drain_peer(params: dict[str, Any]) -> dict[str, Any]:
    return await _framework_drain("peer", params)


async def drain_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    """A bare ``AIOKafkaProducer``: ``send`` every message, then wait for all."""
    from aiokafka import AIOKafkaProducer

    from .raw import TopicReader, ensure_topics

    count = int(params["count"])
    payload = os.urandom(1024)
    await ensure_topics(params["kafka"], [TOPIC])
    reader = TopicReader(params["kafka"], TOPIC)
    await reader.start()
    try:
        started = time.perf_counter()
        producer = AIOKafkaProducer(bootstrap_servers=params["kafka"])
        await producer.start()
        try:
            sent = [await producer.send(TOPIC, payload) for _ in range(count)]
            await asyncio.gather(*sent)
            finished = await reader.wait_for(count, float(params["timeout"]))
        finally:
            await producer.stop()
    finally:
        await reader.stop()
    return result(count, finished - started)
