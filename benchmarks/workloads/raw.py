"""Raw-driver building blocks for the ceilings: psycopg, aiokafka, aiohttp.

Imported by ceiling functions only (the project's interpreter), except
``http_load``, whose client code every side shares.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from ..measure import timed_concurrent

__all__ = [
    "EVENT_TABLE",
    "APP_TOPICS",
    "TopicReader",
    "connections",
    "conninfo",
    "ensure_topics",
    "event_row",
    "http_load",
]

# An event-store-shaped table: what one stored change costs PostgreSQL.
EVENT_TABLE = """
CREATE TABLE IF NOT EXISTS ceiling_event (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID NOT NULL,
    name TEXT NOT NULL,
    version INT NOT NULL,
    data BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (uuid, name, version)
)
"""

INSERT_EVENT = (
    "INSERT INTO ceiling_event (uuid, name, version, data) VALUES (%s, %s, %s, %s)"
)

# About the size of one serialized aggregate change.
EVENT_PAYLOAD = os.urandom(512)


# Every topic the benchmark service uses, created up front on every side (as
# in production), so no run waits for a consumer to notice a new topic.
APP_TOPICS = (
    "ItemCreated",
    "ItemUpdated",
    "ItemDeleted",
    "ReserveStock",
    "ReleaseStock",
    "benchReply",
)


async def ensure_topics(bootstrap: str, names: tuple[str, ...] | list[str]) -> None:
    """Create ``names`` (one partition each) unless they exist already."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, 1, 1) for name in names if name not in existing]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()


FETCH_WAIT_MS = 5


class TopicReader:
    """Reads partition 0 of a one-partition topic from its start, noting when
    each message arrived (``time.perf_counter``), keyed by ``key_of(value)``."""

    def __init__(self, bootstrap: str, topic: str, key_of: Any = None) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.key_of = key_of
        self.count = 0
        self.arrivals: dict[Any, float] = {}
        self._changed = asyncio.Event()
        self._consumer: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        # A short fetch wait: the reader is the measuring instrument, and a
        # broker that answers a fetch only when the wait expires would
        # otherwise add up to the client's default 500 ms to every reading.
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        await self._consumer.start()
        self._consumer.assign([TopicPartition(self.topic, 0)])
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        clock = time.perf_counter
        async for message in self._consumer:
            if self.key_of is not None:
                self.arrivals[self.key_of(message.value)] = clock()
            self.count += 1
            self._changed.set()

    async def wait_for(self, count: int, within: float) -> float:
        """Wait until ``count`` messages arrived; the clock reading when they had."""
        deadline = time.perf_counter() + within
        while self.count < count:
            if self._task is not None and self._task.done():
                self._task.result()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(
                    f"{self.count} of {count} messages reached {self.topic!r} "
                    f"within {within:.0f} s"
                )
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
        return time.perf_counter()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


def event_row(uuid: Any, version: int) -> tuple[Any, ...]:
    return (uuid, "benchmarks.app.aggregates.Item", version, EVENT_PAYLOAD)


def conninfo(settings: dict[str, Any]) -> dict[str, Any]:
    """psycopg keyword arguments from a ``repository``-style mapping."""
    return {
        "host": settings["host"],
        "port": settings["port"],
        "dbname": settings["database"],
        "user": settings["user"],
        "password": settings["password"],
    }


@contextlib.asynccontextmanager
async def connections(
    settings: dict[str, Any], count: int, autocommit: bool = False
) -> AsyncIterator[asyncio.Queue[Any]]:
    """``count`` open async psycopg connections, handed out through a queue."""
    import psycopg

    opened = [
        await psycopg.AsyncConnection.connect(
            autocommit=autocommit, **conninfo(settings)
        )
        for _ in range(count)
    ]
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for connection in opened:
        queue.put_nowait(connection)
    try:
        yield queue
    finally:
        for connection in opened:
            await connection.close()


async def http_load(
    base: str,
    path: str,
    count: int,
    concurrency: int,
    warmup: int,
    max_seconds: float,
    method: str = "GET",
    body: Any = None,
) -> dict[str, Any]:
    """``count`` requests from ``concurrency`` clients, a kept-alive connection
    each: the one HTTP load every side gets (see ``benchmarks.httpclient``)."""
    from ..httpclient import HttpClient

    host, _, port = base.removeprefix("http://").rpartition(":")
    async with HttpClient.open(host, int(port), concurrency) as client:
        request = client.encode(method, path, body)

        async def operation(index: int) -> None:
            status, payload = await client.send(request)
            if status != 200:
                raise RuntimeError(
                    f"{method} {path} answered {status}: {payload[:200]!r}"
                )

        return await timed_concurrent(
            operation, count, concurrency, warmup=warmup, max_seconds=max_seconds
        )
