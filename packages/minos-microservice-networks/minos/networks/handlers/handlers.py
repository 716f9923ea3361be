"""The handlers of commands, command replies and events."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from dependency_injector.wiring import Provide

from minos.common import DatabaseConnection, MinosSagaManager

from ..brokers import CommandReplyBroker, is_reply_topic, reply_topic_of
from ..decorators import EnrouteBuilder, EnrouteDecoratorKind
from ..exceptions import MinosRedefinedEnrouteDecoratorException
from ..messages import Command, CommandReply, CommandStatus, Event, Message
from ..requests import Response, ResponseException
from .dispatch import HandlerFunction, MessageHandler, describe_error, is_fatal
from .inbox import COMMAND, EVENT, REPLY, InboxRow

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = [
    "CommandHandler",
    "CommandReplyHandler",
    "EventHandler",
    "broker_handlers",
    "injected",
]


def injected(value: Any) -> Any:
    """The value behind a ``Provide[...]`` class attribute, or ``None`` if unwired."""
    return None if isinstance(value, Provide) else value


def broker_handlers(
    builder: EnrouteBuilder, kinds: set[EnrouteDecoratorKind]
) -> dict[str, HandlerFunction]:
    """Topic -> handler of the broker routes of ``kinds``; one handler per topic."""
    handlers: dict[str, HandlerFunction] = {}
    for route, handler in builder.get_broker_command_query_event().items():
        if route.KIND not in kinds:
            continue
        topic = route.topic  # type: ignore[attr-defined]
        if topic in handlers and handlers[topic] != handler:
            raise MinosRedefinedEnrouteDecoratorException(
                f"the topic {topic!r} has two handlers: {handlers[topic].__qualname__} "
                f"and {handler.__qualname__}; keep one"
            )
        handlers[topic] = handler
    return handlers


class CommandHandler(MessageHandler):
    """Runs ``enroute.broker.command``/``query`` handlers and answers every command.

    A returned ``Response`` (or plain value) is a ``SUCCESS`` reply, a
    ``ResponseException`` an ``ERROR`` reply with its message, any other error a
    ``SYSTEM_ERROR`` reply (logged with its traceback). The reply is queued in
    the same transaction as the handler's writes, to the command's reply topic.
    A result that cannot be encoded (or is over the reply broker's size limit)
    undoes the handler's writes and is answered ``SYSTEM_ERROR``. A command
    whose reply topic is not a reply topic (``<name>Reply[suffix]``) is parked
    without running.
    """

    kind: ClassVar[str] = COMMAND
    message_class: ClassVar[type[Message]] = Command

    def __init__(
        self,
        *args: Any,
        reply_broker: CommandReplyBroker | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.reply_broker = reply_broker or CommandReplyBroker(
            self.pool, service_name=self.service_name
        )

    @classmethod
    def handlers_from_config(cls, config: MinosConfig) -> dict[str, HandlerFunction]:
        kinds = {EnrouteDecoratorKind.Command, EnrouteDecoratorKind.Query}
        return broker_handlers(EnrouteBuilder.from_config(config), kinds)

    async def _setup(self) -> None:
        await super()._setup()
        await self.reply_broker.setup()

    async def process(
        self, conn: DatabaseConnection, row: InboxRow, message: Message
    ) -> None:
        assert isinstance(message, Command)
        if message.reply_topic is not None and not is_reply_topic(message.reply_topic):
            reason = (
                f"the command {message.id} on {message.topic!r} asks for its reply "
                f"on {message.reply_topic!r}, which is not a reply topic "
                "(<name>Reply[suffix]); it was not run"
            )
            logger.warning("parked command %d: %s", row.id, reason)
            await self.inbox.park(conn, row.id, reason)
            return
        key = str(message.saga) if message.saga else row.key
        error: str | None = None
        reply: CommandReply | None = None
        payload: bytes | None = None
        try:
            # The reply is encoded with the handler's writes pending, so a
            # result that cannot be sent undoes them like any other failure.
            reply, payload = await self.run_isolated(conn, self._answer(message))
        except ResponseException as exc:
            status, data = CommandStatus.ERROR, exc.message
            error = describe_error(exc)
        except BaseException as exc:
            if is_fatal(exc):
                raise
            logger.error(
                "the handler of command %s on %r failed",
                message.id,
                message.topic,
                exc_info=exc,
            )
            status = CommandStatus.SYSTEM_ERROR
            data = f"the command {message.topic!r} failed: {describe_error(exc)}"
            error = describe_error(exc)
        else:
            status = CommandStatus.SUCCESS

        if message.reply_topic:
            if reply is None:
                reply = self._reply(message, data, status)
                payload = reply.avro_bytes
            # Keyed like the command (its saga, else its key), so the replies
            # to commands of one key come back in order.
            await self.reply_broker.enqueue(reply, key, payload=payload)
        else:
            logger.debug("command %s names no reply topic; no reply", message.id)
        await self.inbox.done(conn, row.id, error)

    async def _answer(
        self, message: Command
    ) -> tuple[CommandReply | None, bytes | None]:
        result = await self.call_in_time(message)
        data = await result.content() if isinstance(result, Response) else result
        if not message.reply_topic:
            return None, None
        reply = self._reply(message, data, CommandStatus.SUCCESS)
        payload = reply.avro_bytes
        self.reply_broker.check_size(reply, payload)
        return reply, payload

    def _reply(
        self, message: Command, data: Any, status: CommandStatus
    ) -> CommandReply:
        return CommandReply(
            message.reply_topic or "",
            data,
            message.saga,
            status,
            self.reply_broker.service_name,
            user=message.user,
            trace_id=message.trace_id,
        )


class CommandReplyHandler(MessageHandler):
    """Hands the replies of this service's commands to the saga manager.

    Replies arrive on ``<service>Reply``; a reply for a saga resumes it through
    the ``saga_manager`` injection (``MinosSagaManager.run(reply=...)``). A reply
    topic with an ``enroute.broker`` handler is given to that handler instead.
    """

    kind: ClassVar[str] = REPLY
    message_class: ClassVar[type[Message]] = CommandReply

    saga_manager_injection: Any = Provide["saga_manager"]

    def __init__(
        self,
        *args: Any,
        saga_manager: MinosSagaManager | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._saga_manager = saga_manager

    @property
    def saga_manager(self) -> MinosSagaManager | None:
        """The explicit saga manager, else the injected one, else ``None``."""
        if self._saga_manager is not None:
            return self._saga_manager
        return injected(type(self).saga_manager_injection)

    @property
    def reply_topic(self) -> str | None:
        return reply_topic_of(self.service_name) if self.service_name else None

    @classmethod
    def handlers_from_config(cls, config: MinosConfig) -> dict[str, HandlerFunction]:
        # Replies are only handled by decorators that name a reply topic.
        reply_topic = reply_topic_of(config.service.name)
        handlers = broker_handlers(
            EnrouteBuilder.from_config(config), set(EnrouteDecoratorKind)
        )
        return {t: h for t, h in handlers.items() if t == reply_topic}

    async def call(self, message: Message) -> Any:
        assert isinstance(message, CommandReply)
        if message.topic in self.handlers:
            return await super().call(message)
        manager = self.saga_manager
        if manager is None or message.saga is None:
            logger.debug(
                "reply %s on %r has no saga manager to go to; dropped",
                message.id,
                message.topic,
            )
            return None
        return await manager.run(reply=message)


class EventHandler(MessageHandler):
    """Runs the ``enroute.broker.event`` handlers; failures are retried, then parked."""

    kind: ClassVar[str] = EVENT
    message_class: ClassVar[type[Message]] = Event

    @classmethod
    def handlers_from_config(cls, config: MinosConfig) -> dict[str, HandlerFunction]:
        return broker_handlers(
            EnrouteBuilder.from_config(config), {EnrouteDecoratorKind.Event}
        )
