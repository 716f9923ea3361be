"""The transport interface: what the outbox, inbox and handlers need from a broker.

Publishing takes a batch of keyed records; consuming goes through a
``Subscription`` to some topics, either as a member of a consumer group (the
group shares the work and remembers committed offsets) or alone (``group=None``,
reading every record from the start: the ephemeral reply topics).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from minos.common import MinosSetup

from .exceptions import TransportRecordRejectedException

__all__ = [
    "Headers",
    "IncomingRecord",
    "OutgoingRecord",
    "Subscription",
    "Transport",
]

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    """One record to publish; records with the same key keep their order."""

    topic: str
    value: bytes
    key: bytes | None = None
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class IncomingRecord:
    """One record received from a topic partition."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Headers = ()

    def header(self, name: str) -> bytes | None:
        """The value of the first header called ``name``."""
        for header, value in self.headers:
            if header == name:
                return value
        return None


class Subscription(ABC):
    """Records of some topics, polled in batches and committed explicitly."""

    def __init__(self, topics: Iterable[str], group: str | None) -> None:
        self.topics = frozenset(topics)
        self.group = group

    @abstractmethod
    async def poll(
        self, max_wait: float = 1.0, max_records: int = 500
    ) -> list[IncomingRecord]:
        """Wait up to ``max_wait`` seconds for records; an empty list if none came."""

    @abstractmethod
    async def commit(self, records: Iterable[IncomingRecord]) -> None:
        """Mark ``records`` (and everything before them) as consumed by the group."""

    @abstractmethod
    async def close(self) -> None:
        """Leave the group; records polled but not committed will be redelivered."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class Transport(MinosSetup, ABC):
    """Carries records between microservices."""

    @abstractmethod
    async def publish(
        self, records: Sequence[OutgoingRecord]
    ) -> list[Exception | None]:
        """Send ``records``; return, in order, ``None`` or the error of each one.

        A record that failed for a passing reason (the broker is restarting...)
        gets a ``TransportUnavailableException``: try it again later; any other
        error blames the record itself. Raises ``TransportUnavailableException``
        when the broker cannot be reached at all: the caller keeps the records
        and tries again later.
        """

    def is_permanent(self, error: BaseException) -> bool:
        """Whether a publish ``error`` blames the record for good (never retry it)."""
        return isinstance(error, TransportRecordRejectedException)

    @abstractmethod
    async def subscribe(
        self, topics: Iterable[str], group: str | None = None
    ) -> Subscription:
        """Start receiving ``topics``, creating the missing ones."""

    @abstractmethod
    async def create_topics(self, topics: Iterable[str]) -> None:
        """Make sure ``topics`` exist."""

    @abstractmethod
    async def delete_topics(self, topics: Iterable[str]) -> None:
        """Remove ``topics`` and their records (ephemeral reply topics)."""
