"""The producer: moves the outbox to the transport."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self

from minos.common import BackgroundService, DatabasePool, MinosSetup, database_pool

from ..transport import (
    OutgoingRecord,
    Transport,
    TransportUnavailableException,
    transport_from_config,
)
from .loops import StopSignal, stop_task
from .outbox import Outbox, OutboxRow

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["Producer", "ProducerService"]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Producer(MinosSetup):
    """Publishes the outbox in batches: keyed, in order per key, at least once.

    A batch is claimed, published, then deleted. A record the broker rejects
    is retried with exponential backoff and parked after ``retry`` retries; a
    broker that cannot be reached at all parks nothing: the batch is released
    and the producer waits for the broker to come back.
    """

    def __init__(
        self,
        pool: DatabasePool,
        transport: Transport,
        *,
        records: int = 1000,
        retry: int = 2,
        poll_interval: float = 1.0,
        lease: float = 10.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if records < 1:
            raise ValueError(f"records must be at least 1, got {records}")
        if retry < 0:
            raise ValueError(f"retry must not be negative, got {retry}")
        if not lease > 0:
            raise ValueError(f"lease must be positive seconds, got {lease!r}")
        self.pool = pool
        self.transport = transport
        self.outbox = Outbox(pool)
        self.records = records
        self.retry = retry
        self.poll_interval = poll_interval
        self.lease = lease
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.owner = uuid.uuid4().hex
        self._stopping = StopSignal()

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        queue = config.broker.queue
        kwargs.setdefault("records", queue.records or 1000)
        kwargs.setdefault("retry", 2 if queue.retry is None else queue.retry)
        if "pool" not in kwargs:
            kwargs["pool"] = database_pool(queue._asdict())
        if "transport" not in kwargs:
            kwargs["transport"] = transport_from_config(config)
        return cls(*args, **kwargs)

    async def _setup(self) -> None:
        await self.outbox.create_schema()
        await self.transport.setup()

    async def _destroy(self) -> None:
        await self.transport.destroy()

    def _retry_delay(self, attempts: int) -> float:
        return min(self.backoff * 2 ** max(attempts - 1, 0), self.max_backoff)

    async def dispatch(self) -> int:
        """Publish one batch; return how many rows it settled (sent or failed).

        Raises ``TransportUnavailableException`` (after releasing the batch) when
        the broker cannot be reached.
        """
        await self.setup()
        rows = await self.outbox.claim(self.records, owner=self.owner, lease=self.lease)
        if not rows:
            return 0
        renewing = asyncio.create_task(self._renew([row.id for row in rows]))
        try:
            results = await self.transport.publish([_record(row) for row in rows])
        except TransportUnavailableException:
            await self.outbox.release(row.id for row in rows)
            raise
        except Exception as exc:
            results = [exc] * len(rows)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

        # Limitation: records of a batch are published together, so when the
        # broker rejects one, later records of its key in the same batch are
        # already out; strict order past a rejected record would need one
        # round trip per record.
        sent = [row.id for row, error in zip(rows, results, strict=True) if not error]
        await self.outbox.delete(sent)
        passing = [
            row.id
            for row, error in zip(rows, results, strict=True)
            if isinstance(error, TransportUnavailableException)
        ]
        if passing:
            logger.warning(
                "%d outbox messages could not be published for now; retrying",
                len(passing),
            )
            await self.outbox.release(passing, delay=self.backoff)
        for row, error in zip(rows, results, strict=True):
            if error is not None and row.id not in passing:
                await self._fail(row, error)
        return len(rows)

    async def _renew(self, ids: list[int]) -> None:
        # A short lease frees the rows of a crashed producer soon; a live one
        # keeps its rows for as long as their publication takes.
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.outbox.renew(ids, owner=self.owner, lease=self.lease)
            except Exception as exc:
                logger.warning("could not renew the outbox lease: %s", _describe(exc))

    async def _fail(self, row: OutboxRow, error: Exception) -> None:
        reason = _describe(error)
        # A record the broker refuses for good is parked at once.
        permanent = self.transport.is_permanent(error)
        parked = await self.outbox.fail(
            row.id,
            reason,
            retry=0 if permanent else self.retry,
            delay=self._retry_delay(row.attempts + 1),
        )
        if parked:
            logger.warning(
                "parked outbox message %d for %r after %d attempts: %s",
                row.id,
                row.topic,
                row.attempts + 1,
                reason,
            )
        else:
            logger.warning(
                "publishing outbox message %d to %r failed (attempt %d); retrying: %s",
                row.id,
                row.topic,
                row.attempts + 1,
                reason,
            )

    async def parked(self, limit: int = 100) -> list[OutboxRow]:
        """The parked messages with their last error."""
        await self.setup()
        return await self.outbox.parked(limit)

    async def requeue(self, ids: Iterable[int] | None = None) -> int:
        """Put parked messages back in the queue; return how many."""
        await self.setup()
        return await self.outbox.requeue(ids)

    async def run(self) -> None:
        """Publish until ``stop()``; woken by notifications, polling as a fallback."""
        await self.setup()
        try:
            async with self.pool.listen(self.outbox.channel) as wakeups:
                await self._loop(wakeups)
        except Exception as exc:
            if self._stopping.is_set:
                return
            logger.warning(
                "cannot listen for outbox notifications (%s); polling every %.1fs",
                _describe(exc),
                self.poll_interval,
            )
            await self._loop(asyncio.Queue())
        finally:
            self._stopping.clear()

    def stop(self) -> None:
        """Ask ``run()`` to return after the batch in progress."""
        self._stopping.set()

    async def _loop(self, wakeups: asyncio.Queue[str]) -> None:
        outage = 0
        while not self._stopping.is_set:
            try:
                settled = await self.dispatch()
            except TransportUnavailableException as exc:
                outage += 1
                delay = min(self.backoff * 2 ** (outage - 1), self.max_backoff)
                logger.warning(
                    "the broker is unavailable; retrying in %.1fs: %s", delay, exc
                )
                await self._stopping.sleep(delay)
                continue
            except Exception:
                logger.exception("publishing the outbox failed")
                await self._stopping.sleep(self.poll_interval)
                continue
            if outage:
                logger.info("the broker is reachable again")
                outage = 0
            if settled < self.records:
                await self._stopping.wait(wakeups, self.poll_interval)


def _record(row: OutboxRow) -> OutgoingRecord:
    return OutgoingRecord(
        topic=row.topic,
        value=row.payload,
        key=row.key.encode() if row.key is not None else None,
        headers=tuple((name, value.encode()) for name, value in row.headers.items()),
    )


class ProducerService(BackgroundService):
    """Runs a ``Producer`` for the launcher (``minos.networks.ProducerService``)."""

    def __init__(
        self,
        *args: Any,
        producer: Producer | None = None,
        config: MinosConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, config=config, **kwargs)
        self._producer = producer
        self._task: asyncio.Task[None] | None = None

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            if self.config is None:
                raise ValueError("ProducerService needs a producer or a config")
            self._producer = Producer.from_config(self.config)
        return self._producer

    async def _setup(self) -> None:
        producer = self.producer
        await producer.setup()
        self._task = asyncio.create_task(producer.run(), name="minos:producer")
        logger.info("producer started on %s", producer.transport)

    async def _destroy(self) -> None:
        await stop_task(self._task, self.producer.stop)
        self._task = None
        await self.producer.destroy()
        logger.info("producer stopped")
