"""Dispatching inbox rows to handlers: the loop every message handler shares."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Self

from minos.common import DatabaseConnection, DatabasePool, MinosSetup, database_pool

from ..brokers.context import current_trace_id, current_user
from ..brokers.loops import StopSignal
from ..exceptions import MinosHandlerException
from ..messages import Message, MinosMessageDecodeException
from ..requests import Request, Response
from .inbox import Inbox, InboxRow

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["MessageHandler", "describe_error", "is_fatal"]

HandlerFunction = Callable[[Request], Awaitable[Response | None]]

_SAVEPOINT = "minos_handler"


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of an exception, for logs and stored errors."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_fatal(exc: BaseException) -> bool:
    """Whether ``exc`` must stop the handler (cancellation, interrupt, exit)."""
    return isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit)


class MessageHandler(MinosSetup):
    """Takes rows of one kind from the inbox and runs their handler, effect once.

    Each row is handled in one transaction on the inbox's database: the row is
    locked, the handler runs (its writes to the same database join the
    transaction), and the row is marked done. When the handler fails, its writes
    are rolled back to a savepoint and the subclass decides what remains (a
    reply, a retry, a parked row). Rows of one key are handled in order, rows of
    different keys up to ``concurrency`` at a time. A handler running longer
    than ``handler_timeout`` seconds is cancelled, which counts as a failure.
    """

    kind: ClassVar[str]
    message_class: ClassVar[type[Message]] = Message

    def __init__(
        self,
        pool: DatabasePool,
        handlers: Mapping[str, HandlerFunction] | None = None,
        *args: Any,
        service_name: str | None = None,
        records: int = 100,
        retry: int = 2,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        retention: timedelta = timedelta(days=1),
        handler_timeout: float | None = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if handler_timeout is not None and not handler_timeout > 0:
            raise ValueError(
                f"handler_timeout must be positive seconds or None, got "
                f"{handler_timeout!r}"
            )
        if records < 1 or concurrency < 1:
            raise ValueError(
                f"records and concurrency must be at least 1, got {records} "
                f"and {concurrency}"
            )
        self.pool = pool
        self.inbox = Inbox(pool)
        self.handlers = dict(handlers or {})
        self.service_name = service_name
        self.records = records
        self.retry = retry
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retention = retention
        self.handler_timeout = handler_timeout
        self._stopping = StopSignal()
        self._purged_at = 0.0

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        queue = config.broker.queue
        kwargs.setdefault("service_name", config.service.name)
        kwargs.setdefault("retry", 2 if queue.retry is None else queue.retry)
        if queue.records:
            kwargs.setdefault("records", min(queue.records, 1000))
        if "pool" not in kwargs:
            kwargs["pool"] = database_pool(queue._asdict())
        if "handlers" not in kwargs:
            kwargs["handlers"] = cls.handlers_from_config(config)
        return cls(*args, **kwargs)

    @classmethod
    def handlers_from_config(cls, config: MinosConfig) -> dict[str, HandlerFunction]:
        """The handler of each topic, from the configured services' decorators."""
        return {}

    async def _setup(self) -> None:
        await self.inbox.create_schema()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({sorted(self.handlers)})"

    def retry_delay(self, attempts: int) -> float:
        """How long to wait before the next attempt of a failed row."""
        return min(self.backoff * 2 ** max(attempts - 1, 0), self.max_backoff)

    async def dispatch(self) -> int:
        """Handle the pending rows that are due; return how many were handled."""
        await self.setup()
        candidates = await self.inbox.candidates(self.kind, self.records)
        groups: dict[object, list[int]] = {}
        for id_, key in candidates:
            groups.setdefault(key if key is not None else ("row", id_), []).append(id_)

        limit = asyncio.Semaphore(self.concurrency)
        handled = 0

        async def handle_group(ids: list[int]) -> None:
            nonlocal handled
            async with limit:
                for id_ in ids:
                    if not await self.handle_row(id_):
                        return  # another worker holds this key now
                    handled += 1

        await asyncio.gather(*(handle_group(ids) for ids in groups.values()))
        return handled

    async def handle_row(self, id_: int) -> bool:
        """Handle one row if it is still pending and its turn; return whether it was.

        An error escaping the handling rolls its transaction back; it is then
        counted as a failed attempt in a transaction of its own, so a row that
        always fails this way is parked instead of being retried forever.
        """
        try:
            return await self._handle_row(id_)
        except BaseException as exc:
            if is_fatal(exc):
                raise
            logger.exception("handling %s message %d failed", self.kind, id_)
            async with self.pool.transaction() as conn:
                row = await self.inbox.lock(conn, id_)
                if row is not None:
                    await self.retry_later(conn, row, exc)
            return True

    async def _handle_row(self, id_: int) -> bool:
        async with self.pool.transaction() as conn:
            row = await self.inbox.lock(conn, id_)
            if row is None:
                return False
            try:
                message = self.message_class.from_avro_bytes(
                    row.payload, topic=row.topic
                )
                if message.topic != row.topic:
                    # Handlers are chosen by the message's topic: one that
                    # names another topic than the one it was published to
                    # would reach a handler its sender may not address.
                    raise MinosMessageDecodeException(
                        f"the {message.kind} received on {row.topic!r} names the "
                        f"topic {message.topic!r}; a message must be published to "
                        "the topic it names"
                    )
            except MinosMessageDecodeException as exc:
                logger.warning(
                    "parked %s message %d from %r: %s",
                    self.kind,
                    row.id,
                    row.topic,
                    exc,
                )
                await self.inbox.park(conn, row.id, str(exc))
                return True

            trace = current_trace_id.set(message.trace_id)
            user = current_user.set(message.user)
            try:
                await self.process(conn, row, message)
            finally:
                current_trace_id.reset(trace)
                current_user.reset(user)
        return True

    async def process(
        self, conn: DatabaseConnection, row: InboxRow, message: Message
    ) -> None:
        """Run the handler of ``message``; the default retries failures, then parks."""
        try:
            await self.run_isolated(conn, self.call_in_time(message))
        except BaseException as exc:
            if is_fatal(exc):
                raise
            await self.retry_later(conn, row, exc)
        else:
            await self.inbox.done(conn, row.id)

    async def call_in_time(self, message: Message) -> Any:
        """``call``, failing once it runs longer than ``handler_timeout``."""
        if self.handler_timeout is None:
            return await self.call(message)
        try:
            async with asyncio.timeout(self.handler_timeout) as deadline:
                return await self.call(message)
        except TimeoutError:
            if not deadline.expired():
                raise  # the handler's own timeout, not ours
            raise MinosHandlerException(
                f"the handler of {message.topic!r} ran longer than "
                f"{self.handler_timeout}s and was cancelled; make it faster or "
                "raise handler_timeout"
            ) from None

    async def call(self, message: Message) -> Any:
        """Call the handler of the message's topic with a ``BrokerRequest``."""
        from .broker_request import BrokerRequest

        handler = self.handlers.get(message.topic)
        if handler is None:
            raise MinosHandlerException(
                f"{type(self).__name__} has no handler for the topic "
                f"{message.topic!r}; declare one with enroute.broker.*"
            )
        return await handler(BrokerRequest(message))

    async def run_isolated(self, conn: DatabaseConnection, work: Awaitable[Any]) -> Any:
        """Await ``work`` so that its writes are undone if it fails."""
        await conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            result = await work
        except BaseException:
            await conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            await conn.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
            raise
        await conn.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        return result

    async def retry_later(
        self, conn: DatabaseConnection, row: InboxRow, exc: BaseException
    ) -> None:
        """Count a failed attempt: retry the row later, or park it."""
        reason = describe_error(exc)
        parked = await self.inbox.fail(
            conn,
            row.id,
            reason,
            retry=self.retry,
            delay=self.retry_delay(row.attempts + 1),
        )
        if parked:
            logger.error(
                "parked %s message %d from %r after %d attempts",
                self.kind,
                row.id,
                row.topic,
                row.attempts + 1,
                exc_info=exc,
            )
        else:
            logger.warning(
                "handling %s message %d from %r failed (attempt %d); retrying: %s",
                self.kind,
                row.id,
                row.topic,
                row.attempts + 1,
                reason,
            )

    async def run(self) -> None:
        """Handle rows until ``stop()``; woken by the consumer, else polling."""
        await self.setup()
        try:
            async with self.pool.listen(Inbox.channel(self.kind)) as wakeups:
                await self._loop(wakeups)
        except Exception as exc:
            if self._stopping.is_set:
                return
            logger.warning(
                "cannot listen for inbox notifications (%s); polling every %.1fs",
                describe_error(exc),
                self.poll_interval,
            )
            await self._loop(asyncio.Queue())
        finally:
            self._stopping.clear()

    def stop(self) -> None:
        """Ask ``run()`` to return once the rows in progress are handled."""
        self._stopping.set()

    async def _loop(self, wakeups: asyncio.Queue[str]) -> None:
        while not self._stopping.is_set:
            try:
                handled = await self.dispatch()
                await self._purge_now_and_then()
            except Exception:
                logger.exception("%s failed to dispatch the inbox", type(self).__name__)
                await self._stopping.sleep(self.poll_interval)
                continue
            if handled == 0:
                await self._stopping.wait(wakeups, self.poll_interval)

    async def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._purged_at < 600:
            return
        self._purged_at = now
        removed = await self.inbox.purge(self.retention)
        if removed:
            logger.info("removed %d handled %s messages", removed, self.kind)
