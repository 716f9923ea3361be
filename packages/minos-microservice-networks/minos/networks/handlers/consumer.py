"""The consumer: moves records from the transport into the inbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self

from dependency_injector.wiring import Provide

from minos.common import BackgroundService, DatabasePool, MinosSetup, database_pool

from ..brokers import reply_topic_of
from ..brokers.loops import StopSignal, stop_task
from ..decorators import EnrouteBuilder, EnrouteDecoratorKind
from ..transport import (
    IncomingRecord,
    Subscription,
    Transport,
    TransportUnavailableException,
    transport_from_config,
)
from .handlers import injected
from .inbox import COMMAND, EVENT, REPLY, Inbox

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["Consumer", "ConsumerService", "topics_from_config"]


def topics_from_config(config: MinosConfig) -> dict[str, set[str]]:
    """Topic -> the handler kinds that receive it, for the configured services."""
    routes: dict[str, set[str]] = {}
    builder = EnrouteBuilder.from_config(config)
    for route in builder.get_broker_command_query_event():
        kind = EVENT if route.KIND is EnrouteDecoratorKind.Event else COMMAND
        routes.setdefault(route.topic, set()).add(kind)  # type: ignore[attr-defined]
    routes.setdefault(reply_topic_of(config.service.name), set()).add(REPLY)
    return routes


class Consumer(MinosSetup):
    """Subscribes to the service's topics as its consumer group and fills the inbox.

    Each polled batch is stored in one transaction, then its offsets are
    committed: a crash between the two redelivers records the inbox already has,
    and it ignores them.
    """

    def __init__(
        self,
        pool: DatabasePool,
        transport: Transport,
        routes: Mapping[str, Iterable[str]],
        *args: Any,
        group: str,
        records: int = 500,
        poll_interval: float = 1.0,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool
        self.transport = transport
        self.inbox = Inbox(pool)
        self.routes = {topic: sorted(set(kinds)) for topic, kinds in routes.items()}
        self.group = group
        self.records = records
        self.poll_interval = poll_interval
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._subscription: Subscription | None = None
        self._stopping = StopSignal()

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        queue = config.broker.queue
        kwargs.setdefault("group", config.service.name)
        if queue.records:
            kwargs.setdefault("records", min(queue.records, 1000))
        if "pool" not in kwargs:
            kwargs["pool"] = database_pool(queue._asdict())
        if "transport" not in kwargs:
            kwargs["transport"] = transport_from_config(config)
        if "routes" not in kwargs:
            kwargs["routes"] = topics_from_config(config)
        return cls(*args, **kwargs)

    @property
    def topics(self) -> list[str]:
        return sorted(self.routes)

    def __repr__(self) -> str:
        return f"Consumer(group={self.group!r}, topics={self.topics})"

    async def _setup(self) -> None:
        await self.inbox.create_schema()
        await self.transport.setup()

    async def _destroy(self) -> None:
        await self._unsubscribe()
        await self.transport.destroy()

    async def _subscribed(self) -> Subscription:
        if self._subscription is None:
            self._subscription = await self.transport.subscribe(
                self.topics, group=self.group
            )
            logger.info("consuming %s as group %r", self.topics, self.group)
        return self._subscription

    async def _unsubscribe(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.close()

    def _pairs(
        self, records: Iterable[IncomingRecord]
    ) -> list[tuple[str, IncomingRecord]]:
        pairs = []
        for record in records:
            for kind in self.routes.get(record.topic, ()):
                pairs.append((kind, record))
        return pairs

    async def consume(self, max_wait: float = 1.0) -> int:
        """Poll once, store what came, commit it; return how many records came."""
        await self.setup()
        subscription = await self._subscribed()
        records = await subscription.poll(max_wait=max_wait, max_records=self.records)
        if not records:
            return 0
        await self.inbox.store(self._pairs(records))
        await subscription.commit(records)
        return len(records)

    async def run(self) -> None:
        """Consume until ``stop()``, resubscribing after broker outages."""
        await self.setup()
        outage = 0
        try:
            while not self._stopping.is_set:
                try:
                    await self.consume(self.poll_interval)
                except TransportUnavailableException as exc:
                    outage += 1
                    delay = min(self.backoff * 2 ** (outage - 1), self.max_backoff)
                    logger.warning(
                        "the broker is unavailable; consuming again in %.1fs: %s",
                        delay,
                        exc,
                    )
                    await self._unsubscribe()
                    await self._stopping.sleep(delay)
                except Exception:
                    # The records were not committed: they come again.
                    logger.exception("storing received records failed")
                    await self._unsubscribe()
                    await self._stopping.sleep(self.poll_interval)
                else:
                    if outage:
                        logger.info("the broker is reachable again")
                        outage = 0
        finally:
            self._stopping.clear()
            await self._unsubscribe()

    def stop(self) -> None:
        """Ask ``run()`` to return after the batch in progress."""
        self._stopping.set()


class ConsumerService(BackgroundService):
    """Runs the ``consumer`` injection (or a consumer built from the config)."""

    consumer_injection: Any = Provide["consumer"]

    def __init__(
        self,
        *args: Any,
        consumer: Consumer | None = None,
        config: MinosConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, config=config, **kwargs)
        self._consumer = consumer
        self._owned = False
        self._task: asyncio.Task[None] | None = None

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            self._consumer = injected(type(self).consumer_injection)
        if self._consumer is None:
            if self.config is None:
                raise ValueError("ConsumerService needs a consumer or a config")
            self._consumer = Consumer.from_config(self.config)
            self._owned = True
        return self._consumer

    async def _setup(self) -> None:
        consumer = self.consumer
        await consumer.setup()
        self._task = asyncio.create_task(consumer.run(), name="minos:consumer")
        logger.info("consumer started: %r on %s", consumer, consumer.transport)

    async def _destroy(self) -> None:
        await stop_task(self._task, self.consumer.stop)
        self._task = None
        if self._owned:
            await self.consumer.destroy()
        logger.info("consumer stopped")
