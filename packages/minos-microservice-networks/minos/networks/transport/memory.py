"""The in-process transport: the embedded default, and the broker of unit tests.

Each topic is one partition kept in memory. Consumer groups are emulated: the
members of a group share one read position per topic, offsets are committed
explicitly, and when a member leaves, the records it read but did not commit
are handed out again, as a Kafka rebalance would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from .abc import IncomingRecord, OutgoingRecord, Subscription, Transport
from .exceptions import (
    TransportClosedException,
    TransportRecordRejectedException,
    TransportUnavailableException,
)

logger = logging.getLogger(__name__)

__all__ = ["InMemoryTransport"]


@dataclass
class _GroupOffsets:
    """Where a consumer group is in one topic."""

    position: int = 0
    committed: int = 0


class InMemoryTransport(Transport):
    """Topics held in this process; ``shared(name)`` gives every user one instance."""

    _instances: ClassVar[dict[str, InMemoryTransport]] = {}

    def __init__(
        self, name: str = "memory", *, max_record_bytes: int | None = None
    ) -> None:
        super().__init__()
        self.name = name
        # Like a Kafka broker's message.max.bytes: larger records are refused.
        self.max_record_bytes = max_record_bytes
        self.available = True
        self._logs: dict[str, list[IncomingRecord]] = {}
        self._groups: dict[tuple[str, str], _GroupOffsets] = {}
        self._waiters: set[asyncio.Future[None]] = set()

    @classmethod
    def shared(cls, name: str = "default") -> InMemoryTransport:
        """The process-wide transport called ``name``."""
        instance = cls._instances.get(name)
        if instance is None:
            instance = cls._instances[name] = cls(name)
        return instance

    def __repr__(self) -> str:
        return f"InMemoryTransport({self.name!r})"

    def set_available(self, available: bool) -> None:
        """Simulate a broker outage (``False``) and its recovery (``True``)."""
        self.available = available
        if available:
            self._wake()

    def records(self, topic: str) -> list[IncomingRecord]:
        """Every record published to ``topic`` so far."""
        return list(self._logs.get(topic, ()))

    def _check_available(self) -> None:
        if not self.available:
            raise TransportUnavailableException(
                f"the in-process broker {self.name!r} is marked unavailable"
            )

    async def publish(
        self, records: Sequence[OutgoingRecord]
    ) -> list[Exception | None]:
        self._check_available()
        results: list[Exception | None] = []
        for record in records:
            size = len(record.value) + len(record.key or b"")
            if self.max_record_bytes is not None and size > self.max_record_bytes:
                results.append(
                    TransportRecordRejectedException(
                        f"a record of {size} bytes for {record.topic!r} is larger "
                        f"than the {self.max_record_bytes} bytes the in-process "
                        f"broker {self.name!r} accepts"
                    )
                )
                continue
            results.append(None)
            log = self._logs.setdefault(record.topic, [])
            log.append(
                IncomingRecord(
                    topic=record.topic,
                    partition=0,
                    offset=len(log),
                    key=record.key,
                    value=record.value,
                    headers=tuple(record.headers),
                )
            )
        if records:
            self._wake()
        return results

    async def subscribe(
        self, topics: Iterable[str], group: str | None = None
    ) -> Subscription:
        topics = list(topics)
        await self.create_topics(topics)
        return _InMemorySubscription(self, topics, group)

    async def create_topics(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self._logs.setdefault(topic, [])

    async def delete_topics(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self._logs.pop(topic, None)
            for key in [key for key in self._groups if key[1] == topic]:
                del self._groups[key]

    def _offsets(self, group: str, topic: str) -> _GroupOffsets:
        return self._groups.setdefault((group, topic), _GroupOffsets())

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                with contextlib.suppress(RuntimeError):  # its loop is gone
                    waiter.set_result(None)

    async def _wait(self, max_wait: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, max_wait)
        finally:
            self._waiters.discard(waiter)


class _InMemorySubscription(Subscription):
    """A member of a group (or a lone reader) of an ``InMemoryTransport``."""

    def __init__(
        self, transport: InMemoryTransport, topics: Iterable[str], group: str | None
    ) -> None:
        super().__init__(topics, group)
        self._transport = transport
        self._own_positions = dict.fromkeys(self.topics, 0)
        self._closed = False

    def _take(self, max_records: int) -> list[IncomingRecord]:
        taken: list[IncomingRecord] = []
        for topic in sorted(self.topics):
            log = self._transport._logs.get(topic, [])
            if self.group is None:
                start = self._own_positions[topic]
            else:
                start = self._transport._offsets(self.group, topic).position
            chunk = log[start : start + max_records - len(taken)]
            if not chunk:
                continue
            taken.extend(chunk)
            if self.group is None:
                self._own_positions[topic] = start + len(chunk)
            else:
                self._transport._offsets(self.group, topic).position = start + len(
                    chunk
                )
            if len(taken) >= max_records:
                break
        return taken

    async def poll(
        self, max_wait: float = 1.0, max_records: int = 500
    ) -> list[IncomingRecord]:
        if self._closed:
            raise TransportClosedException("this in-process subscription is closed")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            if self._transport.available:
                taken = self._take(max_records)
                if taken:
                    return taken
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._transport._wait(remaining)

    async def commit(self, records: Iterable[IncomingRecord]) -> None:
        if self.group is None:
            return
        self._transport._check_available()
        for record in records:
            offsets = self._transport._offsets(self.group, record.topic)
            offsets.committed = max(offsets.committed, record.offset + 1)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.group is None:
            return
        for topic in self.topics:
            offsets = self._transport._offsets(self.group, topic)
            offsets.position = offsets.committed
        self._transport._wake()
