"""Saga participants as local functions: for tests and single-process use."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from minos.networks import ResponseException

from .abc import SagaParticipantBroker, SagaReplyChannel
from .replies import SagaReply, SagaReplyStatus

logger = logging.getLogger(__name__)

__all__ = ["InMemorySagaBroker", "SagaCommandRecord"]

Participant = Callable[[Any], Any]
Subscriber = Callable[[SagaReply], Awaitable[Any]]


@dataclass(frozen=True)
class SagaCommandRecord:
    """A command the in-memory broker was asked to send."""

    topic: str
    data: Any
    saga: UUID
    reply_topic: str | None
    user: UUID | None
    correlation: UUID | None = None


class _QueueChannel(SagaReplyChannel):
    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.queue: asyncio.Queue[SagaReply] = asyncio.Queue()

    async def receive(self, wait: float | None = None) -> SagaReply:
        async with asyncio.timeout(wait):
            return await self.queue.get()


class InMemorySagaBroker(SagaParticipantBroker):
    """Delivers saga commands to local participant functions.

    A participant is ``handler(data)`` (sync or async) registered for a topic:
    its result becomes a ``SUCCESS`` reply, a ``ResponseException`` an
    ``ERROR`` reply and any other exception a ``SYSTEM_ERROR`` reply, as with
    real command handlers; each reply carries the command's correlation. A
    topic without a participant never replies.
    Replies go to an open reply channel, or to the subscriber of their topic
    (a saga manager's ``run(reply=...)``, for instance). Delivery is
    asynchronous, as over a broker; ``drain()`` waits for it.
    """

    def __init__(
        self, participants: Mapping[str, Participant] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.participants: dict[str, Participant] = dict(participants or {})
        self.sent: list[SagaCommandRecord] = []
        self.undelivered: list[tuple[str, SagaReply]] = []
        self._channels: dict[str, _QueueChannel] = {}
        self._subscribers: dict[str, Subscriber] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add_participant(self, topic: str, handler: Participant) -> None:
        self.participants[topic] = handler

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        """Pass every reply sent to ``topic`` to ``subscriber``."""
        self._subscribers[topic] = subscriber

    def topics(self, saga: UUID | None = None) -> list[str]:
        """The topics of the commands sent so far (for one saga, if given)."""
        return [c.topic for c in self.sent if saga is None or c.saga == saga]

    async def send(
        self,
        data: Any,
        topic: str,
        *,
        saga: UUID,
        reply_topic: str | None,
        user: UUID | None = None,
        correlation: UUID | None = None,
    ) -> None:
        self.sent.append(
            SagaCommandRecord(topic, data, saga, reply_topic, user, correlation)
        )
        handler = self.participants.get(topic)
        if handler is None:
            return
        task = asyncio.create_task(
            self._serve(handler, data, saga, reply_topic, correlation)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, topic: str, reply: SagaReply) -> None:
        """Hand ``reply`` to whoever listens on ``topic``."""
        channel = self._channels.get(topic)
        if channel is not None:
            channel.queue.put_nowait(reply)
            return
        subscriber = self._subscribers.get(topic)
        if subscriber is None:
            self.undelivered.append((topic, reply))
            return
        try:
            await subscriber(reply)
        except Exception:
            logger.exception("the subscriber of %r failed on %r", topic, reply)

    async def drain(self) -> None:
        """Wait until every command sent so far has been served and answered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    @contextlib.asynccontextmanager
    async def reply_channel(self) -> AsyncIterator[SagaReplyChannel]:
        channel = _QueueChannel(f"SagaReply-{uuid4().hex}")
        self._channels[channel.topic] = channel
        try:
            yield channel
        finally:
            del self._channels[channel.topic]

    async def _serve(
        self,
        handler: Participant,
        data: Any,
        saga: UUID,
        reply_topic: str | None,
        correlation: UUID | None,
    ) -> None:
        reply_id = uuid4()
        try:
            result = handler(data)
            if inspect.isawaitable(result):
                result = await result
        except ResponseException as exc:
            reply = SagaReply(
                saga, SagaReplyStatus.ERROR, str(exc), reply_id, correlation
            )
        except Exception as exc:
            reply = SagaReply(
                saga, SagaReplyStatus.SYSTEM_ERROR, repr(exc), reply_id, correlation
            )
        else:
            if not isinstance(result, SagaReply):
                result = SagaReply(
                    saga, SagaReplyStatus.SUCCESS, result, reply_id, correlation
                )
            reply = result
        if reply_topic is not None:
            await self.deliver(reply_topic, reply)

    async def _destroy(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
