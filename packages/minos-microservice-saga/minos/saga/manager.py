"""``SagaManager``: runs sagas, waiting for them or pausing them on disk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from minos.common import MinosSagaManager

from .context import SagaContext
from .definitions import Saga
from .exceptions import (
    MinosSagaExecutionException,
    MinosSagaFailedExecutionStepException,
    MinosSagaSerializationException,
)
from .executions import SagaExecution, SagaExecutionStorage, SagaStatus
from .participants import (
    NetworksSagaBroker,
    SagaParticipantBroker,
    SagaReply,
    SagaReplyChannel,
)
from .timeouts import check_timeout

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["SagaManager"]

DEFAULT_REPLY_TIMEOUT = 60.0  # seconds a step waits for its participant's reply


class SagaManager(MinosSagaManager):
    """Runs saga executions and resumes paused ones when their reply arrives.

    ``run(definition, context=...)`` waits for each reply on an ephemeral
    topic and returns the finished execution; with ``pause_on_disk=True`` it
    stores the execution, sends the first command and returns at once, and the
    reply handler resumes it with ``run(reply=reply)``, in this process or
    after a restart. Every execution ends up stored, finished or errored, in
    the execution storage.

    ``reply_timeout`` (``saga.timeout`` in the configuration, 60 s by default)
    bounds the wait for each reply; a paused execution whose reply is late is
    failed and compensated by a timer, re-armed at setup for the executions
    found paused on disk. Each callback call (building a command, reading a
    reply, compensating, committing) is bounded by the same timeout: one that
    takes longer fails its step, and the steps before it are compensated.
    """

    def __init__(
        self,
        storage: SagaExecutionStorage,
        broker: SagaParticipantBroker,
        *args: Any,
        reply_topic: str | None = None,
        reply_timeout: float | None = DEFAULT_REPLY_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.storage = storage
        self.broker = broker
        self.reply_topic = reply_topic
        self.reply_timeout = check_timeout(reply_timeout)
        self._locks: dict[UUID, _Lock] = {}
        self._timers: dict[UUID, asyncio.TimerHandle] = {}
        self._expiring: set[asyncio.Task[None]] = set()

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        kwargs.setdefault("storage", SagaExecutionStorage.from_config(config))
        kwargs.setdefault("broker", NetworksSagaBroker.from_config(config))
        kwargs.setdefault("reply_topic", f"{config.service.name}Reply")
        timeout = _configured_timeout(config)
        if timeout is not None:
            kwargs.setdefault("reply_timeout", timeout)
        return cls(*args, **kwargs)

    async def _setup(self) -> None:
        await self.storage.setup()
        await self.broker.setup()
        await self._arm_paused()

    async def _destroy(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in list(self._expiring):
            task.cancel()
        await asyncio.gather(*self._expiring, return_exceptions=True)
        await self.broker.destroy()
        await self.storage.destroy()

    async def run(
        self,
        definition: Saga | None = None,
        context: SagaContext | Mapping[str, Any] | None = None,
        *,
        reply: Any = None,
        user: UUID | None = None,
        pause_on_disk: bool = False,
        raise_on_error: bool = True,
        return_execution: bool = True,
        reply_timeout: float | None = None,
        **kwargs: Any,
    ) -> SagaExecution | UUID:
        """Start ``definition`` with ``context``, or resume the saga of ``reply``.

        Returns the execution (``status``, ``context``, ``error``), or only its
        uuid when ``return_execution`` is false. A failed saga is compensated
        and then raises ``MinosSagaFailedExecutionStepException`` unless
        ``raise_on_error`` is false, in which case the ``Errored`` execution is
        returned. Resuming from a reply never raises the saga's failure (the
        reply handler could do nothing about it); it is stored and logged.
        ``reply_timeout`` overrides the manager's for this execution.
        """
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
        reply_timeout = check_timeout(reply_timeout)
        await self.setup()
        if reply is not None:
            if definition is not None:
                raise MinosSagaExecutionException(
                    "run() takes a definition to start or a reply to resume, not both"
                )
            execution = await self._resume(SagaReply.from_message(reply))
        else:
            if definition is None:
                raise MinosSagaExecutionException(
                    "run() needs a saga definition to start (or a reply to resume)"
                )
            execution = SagaExecution.from_definition(
                definition,
                context,
                user=user,
                reply_timeout=self.reply_timeout
                if reply_timeout is None
                else reply_timeout,
            )
            if pause_on_disk:
                await self._start_paused(execution, raise_on_error)
            else:
                await self._run_waiting(execution, raise_on_error)
        return execution if return_execution else execution.uuid

    async def get(self, uuid: UUID | str) -> SagaExecution:
        """The stored execution ``uuid``."""
        await self.setup()
        return await self.storage.load(uuid)

    async def compensate(self, uuid: UUID | str) -> SagaExecution:
        """Retry the failed compensations of the errored execution ``uuid``.

        A compensation that could not be built or sent leaves its step
        ``CompensationFailed`` (and ``failed to compensate`` in the execution's
        error); once its cause is fixed, this sends it again and stores the
        outcome. Returns the execution.
        """
        await self.setup()
        async with self._lock(UUID(str(uuid))):
            execution = await self.storage.load(uuid)
            await execution.compensate_again(broker=self.broker)
            await self._store(execution)
            return execution

    async def _run_waiting(
        self, execution: SagaExecution, raise_on_error: bool
    ) -> None:
        """Run step after step, waiting for each reply on a private topic."""
        self.broker.check_can_wait()
        # Held until the outcome is stored, so that the replies to compensations,
        # which come back on the service's reply topic, find it.
        async with self._lock(execution.uuid):
            await self._run_waiting_locked(execution, raise_on_error)

    async def _run_waiting_locked(
        self, execution: SagaExecution, raise_on_error: bool
    ) -> None:
        try:
            async with self.broker.reply_channel() as channel:
                reply: SagaReply | None = None
                while True:
                    await execution.execute(
                        reply,
                        broker=self.broker,
                        reply_topic=channel.topic,
                        persist=self._check_storable,
                    )
                    if execution.status is not SagaStatus.Paused:
                        break
                    try:
                        reply = await self._receive(channel, execution)
                    except Exception as exc:
                        reason = f"{type(exc).__name__}: {exc}"
                        await execution.abandon(broker=self.broker, reason=reason)
                        raise  # abandon() raised the saga's failure already
                    if reply is None:
                        await execution.expire(broker=self.broker)
        except MinosSagaFailedExecutionStepException:
            await self._store(execution)
            if raise_on_error:
                raise
            return
        except asyncio.CancelledError:
            await self._left_waiting(execution)
            raise
        await self._store(execution)

    async def _left_waiting(self, execution: SagaExecution) -> None:
        """Keep a waiting execution whose caller was cancelled, so it expires.

        Its reply would come on a private topic nobody reads any more: the
        timer fails it at its deadline and compensates the steps before it.
        """
        step = execution.paused_step
        if step is None:
            return
        logger.warning("%r was cancelled while waiting for a reply", execution)
        await self._store(execution)
        self._arm(execution.uuid, step.deadline)

    async def _receive(
        self, channel: SagaReplyChannel, execution: SagaExecution
    ) -> SagaReply | None:
        """The next reply for ``execution``, or ``None`` when none came in time."""
        loop = asyncio.get_running_loop()
        reply_timeout = execution.reply_timeout
        deadline = None if reply_timeout is None else loop.time() + reply_timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                reply = await channel.receive(remaining)
            except TimeoutError:
                return None
            if reply.saga != execution.uuid:
                logger.warning(
                    "ignored a reply for saga %s on the reply topic of saga %s",
                    reply.saga,
                    execution.uuid,
                )
            elif not execution.expects(reply):
                logger.info(
                    "ignored a %s reply for %r: it answers the command %s, not the "
                    "one of the waiting step",
                    reply.status.name,
                    execution,
                    reply.correlation,
                )
            else:
                return reply

    async def _start_paused(
        self, execution: SagaExecution, raise_on_error: bool
    ) -> None:
        """Send the first command with the service's reply topic and return."""
        async with self._lock(execution.uuid):
            try:
                await execution.execute(
                    broker=self.broker,
                    reply_topic=self._require_reply_topic(),
                    persist=self.storage.store,
                )
            except MinosSagaFailedExecutionStepException:
                await self._store(execution)
                if raise_on_error:
                    raise
                return
            await self._settle(execution)

    async def _resume(self, reply: SagaReply) -> SagaExecution:
        """Apply ``reply`` to its stored execution and run it to the next pause."""
        async with self._lock(reply.saga):
            execution = await self.storage.load(reply.saga)
            # Limitation: the execution is written to LMDB before the transaction
            # of the reply handler commits. If that commit fails, the reply comes
            # again: a waiting saga then sends its pending command again (it was
            # rolled back with the transaction), but a saga that finished does not
            # run its commit callback again.
            if execution.has_applied(reply):
                await self._redelivered(execution, reply)
                return execution
            if execution.status is not SagaStatus.Paused:
                # Replies to compensation commands, and late ones, end here.
                logger.info(
                    "ignored a %s reply for %r, which is %s",
                    reply.status.name,
                    execution,
                    execution.status.name,
                )
                return execution
            if not execution.expects(reply):
                # Stale or duplicated replies to the commands of earlier steps.
                logger.info(
                    "ignored a %s reply for %r: it answers the command %s, not "
                    "the one of the waiting step %d",
                    reply.status.name,
                    execution,
                    reply.correlation,
                    len(execution.steps) - 1,
                )
                return execution
            self._disarm(execution.uuid)
            # Limitation: called by the reply handler, this runs inside its database
            # transaction, and a failed saga is not raised (that would roll back
            # the compensation commands too). So the writes of a callback that
            # fails halfway are kept; callbacks should raise before writing.
            try:
                await execution.execute(
                    reply,
                    broker=self.broker,
                    reply_topic=self._require_reply_topic(),
                    persist=self.storage.store,
                )
            except MinosSagaFailedExecutionStepException:
                await self._store(execution)
                return execution
            await self._settle(execution)
            return execution

    async def _redelivered(self, execution: SagaExecution, reply: SagaReply) -> None:
        """Handle a reply that was already applied to ``execution``.

        Only the reply that made the waiting step send its command can have been
        rolled back with that command; it re-sends it, once per reply id.
        """
        step = execution.paused_step
        applied = execution.applied_step(reply)
        if (
            step is None
            or applied != len(execution.steps) - 2
            or step.resent_for == reply.id
        ):
            logger.info("ignored the redelivered reply %s for %r", reply.id, execution)
            return
        logger.warning(
            "the reply %s for %r came again; sending the pending command again",
            reply.id,
            execution,
        )
        try:
            await execution.resend(
                broker=self.broker,
                reply_topic=self._require_reply_topic(),
                reason=reply.id,
            )
        except MinosSagaFailedExecutionStepException:
            pass
        await self._store(execution)

    async def _settle(self, execution: SagaExecution) -> None:
        """Store a finished execution, or arm the timer of a paused one."""
        step = execution.paused_step
        if step is not None:
            self._arm(execution.uuid, step.deadline)
        else:
            await self._store(execution)

    async def _check_storable(self, execution: SagaExecution) -> None:
        """Raise if ``execution`` could not be stored (before a command is sent)."""
        self.storage.encode(execution)

    async def _store(self, execution: SagaExecution) -> None:
        """Store the outcome of ``execution``, without its context if need be.

        An errored or finished execution whose context cannot be encoded is
        stored with an empty context and the reason in its error, so that the
        paused record it replaces never runs (or is compensated) again.
        """
        try:
            await self.storage.store(execution)
            return
        except MinosSagaSerializationException as exc:
            problem = f"its context could not be stored ({exc}); it was stored empty"
        logger.error("%r: %s", execution, problem)
        execution.error = (
            f"{execution.error}; {problem}" if execution.error else problem
        )
        live_context, execution.context = execution.context, SagaContext()
        try:
            await self.storage.store(execution)
        finally:
            execution.context = live_context

    def _require_reply_topic(self) -> str:
        if not self.reply_topic:
            raise MinosSagaExecutionException(
                "pausing a saga on disk needs the service's reply topic; build the "
                "manager with from_config(config) or pass reply_topic="
            )
        return self.reply_topic

    @contextlib.asynccontextmanager
    async def _lock(self, uuid: UUID) -> AsyncIterator[None]:
        """Serialize the work on one execution; forget the lock once unused."""
        # Limitation: locks are per process; two processes sharing one LMDB
        # directory could resume the same execution at once. Each instance of a
        # service has its own saga storage directory.
        entry = self._locks.get(uuid)
        if entry is None:
            entry = self._locks[uuid] = _Lock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[uuid]

    def _arm(self, uuid: UUID, deadline: datetime | None) -> None:
        """Expire the paused execution ``uuid`` if it still waits at ``deadline``."""
        if deadline is None:
            return
        self._disarm(uuid)
        delay = max(0.0, (deadline - datetime.now(UTC)).total_seconds())
        loop = asyncio.get_running_loop()
        self._timers[uuid] = loop.call_later(delay, self._expire_soon, uuid)

    def _disarm(self, uuid: UUID) -> None:
        timer = self._timers.pop(uuid, None)
        if timer is not None:
            timer.cancel()

    def _expire_soon(self, uuid: UUID) -> None:
        self._timers.pop(uuid, None)
        task = asyncio.get_running_loop().create_task(self._expire(uuid))
        self._expiring.add(task)
        task.add_done_callback(self._expiring.discard)

    async def _expire(self, uuid: UUID) -> None:
        """Fail a paused execution whose reply is late, compensating it."""
        try:
            async with self._lock(uuid):
                execution = await self.storage.load(uuid)
                step = execution.paused_step
                if step is None or step.deadline is None:
                    return
                if step.deadline > datetime.now(UTC):
                    self._arm(uuid, step.deadline)
                    return
                try:
                    await execution.expire(broker=self.broker)
                except MinosSagaFailedExecutionStepException:
                    pass
                await self._store(execution)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("could not expire the paused saga execution %s", uuid)

    async def _arm_paused(self) -> None:
        """Re-arm the reply timers of the executions left paused on disk."""
        count = 0
        async for uuid, deadline in self.storage.deadlines():
            try:
                self._arm(uuid, deadline)
            except Exception:
                logger.exception(
                    "could not watch the deadline %r of the saga execution %s",
                    deadline,
                    uuid,
                )
                continue
            count += 1
        if count:
            logger.info("watching %d saga executions paused on disk", count)


def _configured_timeout(config: MinosConfig) -> float | None:
    """``saga.timeout`` (seconds each step waits for its reply), if configured."""
    try:
        value = config.saga._asdict().get("timeout")
    except AttributeError:
        return None
    return check_timeout(value, "saga.timeout")


class _Lock:
    """An execution's lock and how many tasks hold or wait for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0
