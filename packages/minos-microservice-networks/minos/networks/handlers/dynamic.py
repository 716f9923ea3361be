"""Request/reply over ephemeral topics: wait for the answer to a command.

``async with pool.acquire() as handler:`` lends a handler listening on its own
topic (``<service>Reply-<hex>``); send a command with
``reply_topic=handler.topic`` and ``await handler.get_one(timeout=...)``. A
handler whose wait timed out may still receive the late reply, so it is not
lent again: its topic is deleted. Healthy handlers are reused.

Replies are delivered at least once, so a reused topic may still receive a
copy of a reply its previous borrower already took: a handler remembers the
ids of the messages it received and drops copies. Pass the command's trace id
(``get_one(trace_id=...)``, which replies carry) to also drop any reply to
another command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from minos.common import DatabasePool, MinosHandler, MinosSetup, database_pool

from ..brokers import reply_topic_of
from ..exceptions import (
    MinosHandlerException,
    MinosHandlerNotFoundEnoughEntriesException,
)
from ..messages import Message
from ..transport import Subscription, Transport, transport_from_config

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["DynamicHandler", "DynamicHandlerPool"]

# How many received message ids a handler remembers to recognise copies.
_REMEMBERED = 4096


class DynamicHandler(MinosHandler):
    """Receives the messages sent to one topic, in order, as they arrive."""

    def __init__(
        self,
        topic: str,
        transport: Transport,
        *args: Any,
        pool: DatabasePool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.topic = topic
        self.transport = transport
        self.pool = pool
        self.clean = True
        self._subscription: Subscription | None = None
        self._buffer: deque[Message] = deque()
        self._seen: OrderedDict[UUID, None] = OrderedDict()

    def __repr__(self) -> str:
        return f"DynamicHandler({self.topic!r})"

    async def _setup(self) -> None:
        self._subscription = await self.transport.subscribe([self.topic], group=None)

    async def _destroy(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.close()

    async def get_one(
        self,
        timeout: float | None = None,  # noqa: ASYNC109
        *,
        trace_id: UUID | None = None,
    ) -> Any:
        """The next message (a ``CommandReply``, usually); wait ``timeout`` seconds.

        With ``trace_id``, messages of other trace ids are dropped.
        """
        (message,) = await self.get_many(1, timeout=timeout, trace_id=trace_id)
        return message

    async def get_many(
        self,
        count: int,
        timeout: float | None = None,  # noqa: ASYNC109
        *,
        trace_id: UUID | None = None,
    ) -> list[Any]:
        """The next ``count`` messages; raise if they do not all arrive in time."""
        await self.setup()
        self._refuse_inside_a_transaction()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if trace_id is not None:
                self._drop_other_traces(trace_id)
            if len(self._buffer) >= count:
                break
            remaining = 1.0 if deadline is None else deadline - loop.time()
            if remaining <= 0:
                self.clean = False
                raise MinosHandlerNotFoundEnoughEntriesException(
                    f"{count} replies were expected on {self.topic!r} within "
                    f"{timeout}s but {len(self._buffer)} arrived; is the other "
                    "service running, and does it answer this command?"
                )
            await self._receive(min(remaining, 1.0))
        return [self._buffer.popleft() for _ in range(count)]

    def _drop_other_traces(self, trace_id: UUID) -> None:
        kept = deque(m for m in self._buffer if m.trace_id == trace_id)
        for message in self._buffer:
            if message.trace_id != trace_id:
                logger.warning(
                    "dropped %s %s on %r: it answers trace %s, not %s",
                    message.kind,
                    message.id,
                    self.topic,
                    message.trace_id,
                    trace_id,
                )
        self._buffer = kept

    async def _receive(self, max_wait: float) -> None:
        assert self._subscription is not None
        for record in await self._subscription.poll(max_wait=max_wait):
            # One by one: a bad record costs only itself.
            try:
                message = Message.from_avro_bytes(record.value, topic=self.topic)
            except Exception as exc:
                logger.warning(
                    "ignored an unreadable message on %r (offset %s): %s",
                    self.topic,
                    getattr(record, "offset", "?"),
                    exc,
                )
                continue
            if message.id in self._seen:
                logger.info(
                    "dropped a copy of %s %s on %r",
                    message.kind,
                    message.id,
                    self.topic,
                )
                continue
            self._seen[message.id] = None
            if len(self._seen) > _REMEMBERED:
                self._seen.popitem(last=False)
            self._buffer.append(message)

    def _refuse_inside_a_transaction(self) -> None:
        if self.pool is not None and self.pool.in_transaction:
            raise MinosHandlerException(
                f"cannot wait for a reply on {self.topic!r} inside an open "
                f"transaction on the {self.pool.description}: the request is only "
                "published when that transaction commits. Wait outside it, or "
                "pause and let the reply handler resume (sagas: pause_on_disk=True)"
            )


class DynamicHandlerPool(MinosSetup):
    """Lends ``DynamicHandler``s on ephemeral reply topics (the seed's injection)."""

    def __init__(
        self,
        transport: Transport,
        *args: Any,
        service_name: str = "minos",
        pool: DatabasePool | None = None,
        max_idle: int = 8,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.transport = transport
        self.service_name = service_name
        self.pool = pool
        self.max_idle = max_idle
        self._idle: list[DynamicHandler] = []
        self._lent: set[DynamicHandler] = set()

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        kwargs.setdefault("service_name", config.service.name)
        if "transport" not in kwargs:
            kwargs["transport"] = transport_from_config(config)
        if "pool" not in kwargs:
            kwargs["pool"] = database_pool(config.broker.queue._asdict())
        return cls(*args, **kwargs)

    async def _setup(self) -> None:
        await self.transport.setup()

    async def _destroy(self) -> None:
        handlers, self._idle = self._idle + list(self._lent), []
        self._lent.clear()
        for handler in handlers:
            await self._discard(handler)
        await self.transport.destroy()

    @property
    def idle(self) -> int:
        """How many handlers wait to be lent again."""
        return len(self._idle)

    async def _create(self) -> DynamicHandler:
        topic = f"{reply_topic_of(self.service_name)}-{uuid.uuid4().hex}"
        handler = DynamicHandler(topic, self.transport, pool=self.pool)
        await handler.setup()
        logger.debug("created the reply topic %r", topic)
        return handler

    async def _discard(self, handler: DynamicHandler) -> None:
        await handler.destroy()
        try:
            await self.transport.delete_topics([handler.topic])
        except Exception as exc:
            logger.warning(
                "could not delete the reply topic %r: %s", handler.topic, exc
            )

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[DynamicHandler]:
        """Lend a handler for the duration of the block."""
        await self.setup()
        handler = self._idle.pop() if self._idle else await self._create()
        self._lent.add(handler)
        try:
            yield handler
        except BaseException:
            handler.clean = False
            raise
        finally:
            self._lent.discard(handler)
            if (
                handler.clean
                and not handler._buffer
                and len(self._idle) < self.max_idle
            ):
                self._idle.append(handler)
            else:
                await self._discard(handler)
