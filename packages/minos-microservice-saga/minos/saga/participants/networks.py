"""Saga participants over ``minos.networks``: the service's own brokers.

Commands go out through the ``command_broker`` injection (the transactional
outbox); a waiting saga listens on a topic lent by the ``dynamic_handler_pool``
injection; paused sagas get their replies on ``<service>Reply`` through the
``CommandReplyHandlerService``, which calls ``saga_manager.run(reply=...)``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from dependency_injector.wiring import Provide

from minos.networks import (
    CommandBroker,
    DynamicHandler,
    DynamicHandlerPool,
    MinosHandlerNotFoundEnoughEntriesException,
)

from ..exceptions import MinosSagaExecutionException
from .abc import SagaParticipantBroker, SagaReplyChannel
from .replies import SagaReply

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["NetworksSagaBroker"]


def _injected(value: Any) -> Any:
    return None if isinstance(value, Provide) else value  # type: ignore[arg-type]


class _HandlerChannel(SagaReplyChannel):
    """A ``DynamicHandler`` seen as a saga reply channel."""

    def __init__(self, handler: DynamicHandler) -> None:
        self.handler = handler
        self.topic = handler.topic

    async def receive(self, wait: float | None = None) -> SagaReply:
        try:
            message = await self.handler.get_one(timeout=wait)
        except MinosHandlerNotFoundEnoughEntriesException as exc:
            raise TimeoutError(str(exc)) from exc
        return SagaReply.from_message(message)


class NetworksSagaBroker(SagaParticipantBroker):
    """Sends saga commands with a ``CommandBroker``; waits on ``DynamicHandler``s.

    Without explicit arguments it uses the ``command_broker`` and
    ``dynamic_handler_pool`` injections of the service.
    """

    command_broker_injection: Any = Provide["command_broker"]
    dynamic_handler_pool_injection: Any = Provide["dynamic_handler_pool"]

    def __init__(
        self,
        command_broker: CommandBroker | None = None,
        dynamic_handler_pool: DynamicHandlerPool | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._command_broker = command_broker
        self._dynamic_handler_pool = dynamic_handler_pool

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        return cls(*args, **kwargs)

    @property
    def command_broker(self) -> CommandBroker:
        broker = self._command_broker or _injected(type(self).command_broker_injection)
        if broker is None:
            raise MinosSagaExecutionException(
                "sagas need a command broker to send their commands: add "
                "'command_broker: minos.networks.CommandBroker' to "
                "service.injections"
            )
        return broker

    @property
    def dynamic_handler_pool(self) -> DynamicHandlerPool:
        pool = self._dynamic_handler_pool or _injected(
            type(self).dynamic_handler_pool_injection
        )
        if pool is None:
            raise MinosSagaExecutionException(
                "sagas that wait for their replies need a dynamic handler pool: add "
                "'dynamic_handler_pool: minos.networks.DynamicHandlerPool' to "
                "service.injections, or run them with pause_on_disk=True"
            )
        return pool

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
        # Without a reply topic the command broker names the service's own
        # ``<service>Reply``; replies to compensations land there and the saga
        # manager ignores them, the saga being over. The correlation travels as
        # the command's trace id, which the participant's reply repeats; so each
        # saga command starts its own trace (the saga id links them).
        await self.command_broker.send(
            data,
            topic,
            saga=saga,
            reply_topic=reply_topic,
            user=user,
            trace_id=correlation,
        )

    def check_can_wait(self) -> None:
        database = self.dynamic_handler_pool.pool
        if database is not None and database.in_transaction:
            raise MinosSagaExecutionException(
                "a saga cannot wait for its replies inside an open transaction on "
                f"the {database.description}: its commands are only published "
                "when that transaction commits. Run it with pause_on_disk=True, "
                "or outside the transaction"
            )

    @contextlib.asynccontextmanager
    async def reply_channel(self) -> AsyncIterator[SagaReplyChannel]:
        async with self.dynamic_handler_pool.acquire() as handler:
            yield _HandlerChannel(handler)
