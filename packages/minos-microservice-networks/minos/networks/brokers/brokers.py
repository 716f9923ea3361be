"""The brokers: ``send`` queues a message in the outbox of ``broker.queue``.

The insert joins the caller's open transaction on the same pool, so the events
of an aggregate change, or the reply of a handled command, are queued exactly
when the change commits (the transactional outbox).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar, Self
from uuid import UUID

from minos.common import DatabasePool, MinosBroker, database_pool

from ..messages import (
    Command,
    CommandReply,
    CommandStatus,
    Event,
    Message,
    MinosMessageException,
)
from .context import current_trace_id, current_user
from .outbox import Outbox

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = [
    "Broker",
    "CommandBroker",
    "CommandReplyBroker",
    "EventBroker",
    "is_reply_topic",
    "reply_topic_of",
]

# The largest encoded message ``send`` accepts by default (Kafka's own default
# limit is about as large).
MAX_MESSAGE_BYTES = 2**20

# ``<name>Reply`` with an optional suffix (``DynamicHandlerPool`` adds ``-<hex>``).
_REPLY_TOPIC = re.compile(r"[A-Za-z0-9._-]+Reply[A-Za-z0-9._-]*")


def reply_topic_of(service_name: str) -> str:
    """The topic a service receives its command replies on: ``<name>Reply``."""
    return f"{service_name}Reply"


def is_reply_topic(topic: object) -> bool:
    """Whether ``topic`` looks like a reply topic (``<name>Reply[suffix]``).

    Commands may only ask for replies on such topics, so a command cannot make
    a service publish its reply to another service's command or event topic.
    """
    return isinstance(topic, str) and _REPLY_TOPIC.fullmatch(topic) is not None


class Broker(MinosBroker):
    """Queues messages in the outbox table of one database."""

    message_class: ClassVar[type[Message]] = Message

    def __init__(
        self,
        pool: DatabasePool,
        *args: Any,
        service_name: str | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if max_message_bytes < 1:
            raise ValueError(
                f"max_message_bytes must be positive, got {max_message_bytes!r}"
            )
        self.pool = pool
        self.outbox = Outbox(pool)
        self.service_name = service_name
        self.max_message_bytes = max_message_bytes

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        kwargs.setdefault("service_name", config.service.name)
        if "pool" not in kwargs:
            kwargs["pool"] = database_pool(config.broker.queue._asdict())
        return cls(*args, **kwargs)

    async def _setup(self) -> None:
        await self.outbox.create_schema()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.pool.description})"

    def check_size(self, message: Message, payload: bytes) -> None:
        """Refuse a message larger than ``max_message_bytes`` once encoded."""
        if len(payload) > self.max_message_bytes:
            raise MinosMessageException(
                f"the {message.kind} for {message.topic!r} is {len(payload)} bytes "
                f"once encoded, more than the {self.max_message_bytes}-byte limit "
                "(max_message_bytes); send a reference to large data instead"
            )

    async def enqueue(
        self, message: Message, key: str | None = None, *, payload: bytes | None = None
    ) -> UUID:
        """Queue an already built message (``payload``: its bytes, if known)."""
        if self.already_setup:
            pass
        elif self.pool.in_transaction:
            # Created inside the caller's transaction, the table would vanish
            # with a rollback: do not remember it as set up until it is seen
            # outside of one.
            await self.outbox.create_schema()
        else:
            await self.setup()
        if payload is None:
            payload = message.avro_bytes
        self.check_size(message, payload)
        await self.outbox.enqueue(
            message.topic, payload, key=key, headers=message.headers
        )
        logger.debug("queued %s %s for %r", message.kind, message.id, message.topic)
        return message.id

    def _reject(self, extra: dict[str, Any]) -> None:
        if extra:
            raise TypeError(
                f"{type(self).__name__}.send() got unexpected arguments {sorted(extra)}"
            )

    @staticmethod
    def _context(user: UUID | None, trace_id: UUID | None) -> dict[str, UUID | None]:
        return {
            "user": user if user is not None else current_user.get(),
            "trace_id": trace_id if trace_id is not None else current_trace_id.get(),
        }


def _aggregate_key(data: Any) -> str | None:
    """The uuid of the aggregate an event is about, if it is about one."""
    uuid = getattr(data, "uuid", None)
    return str(uuid) if isinstance(uuid, UUID) else None


class EventBroker(Broker):
    """Publishes events, keyed by the aggregate's uuid when the data has one."""

    message_class = Event

    async def send(
        self,
        data: Any,
        topic: str,
        *,
        key: str | None = None,
        user: UUID | None = None,
        trace_id: UUID | None = None,
        **kwargs: Any,
    ) -> UUID:
        self._reject(kwargs)
        message = Event(topic, data, **self._context(user, trace_id))
        if key is None:
            key = _aggregate_key(data)
        return await self.enqueue(message, key)


class CommandBroker(Broker):
    """Sends commands; replies go to ``reply_topic`` (``<service>Reply`` by default)."""

    message_class = Command

    @property
    def default_reply_topic(self) -> str | None:
        return reply_topic_of(self.service_name) if self.service_name else None

    async def send(
        self,
        data: Any,
        topic: str,
        *,
        saga: UUID | None = None,
        reply_topic: str | None = None,
        user: UUID | None = None,
        key: str | None = None,
        trace_id: UUID | None = None,
        **kwargs: Any,
    ) -> UUID:
        self._reject(kwargs)
        if reply_topic is not None and not is_reply_topic(reply_topic):
            raise MinosMessageException(
                f"the reply topic {reply_topic!r} of a {topic!r} command is not a "
                "reply topic; name it <name>Reply (optionally with a suffix)"
            )
        message = Command(
            topic,
            data,
            saga,
            reply_topic or self.default_reply_topic,
            **self._context(user, trace_id),
        )
        if key is None and message.saga is not None:
            key = str(message.saga)
        return await self.enqueue(message, key)


class CommandReplyBroker(Broker):
    """Answers commands on the reply topic they named."""

    message_class = CommandReply

    async def send(
        self,
        data: Any,
        topic: str,
        *,
        saga: UUID | None = None,
        status: CommandStatus | int = CommandStatus.SUCCESS,
        service_name: str | None = None,
        user: UUID | None = None,
        key: str | None = None,
        trace_id: UUID | None = None,
        **kwargs: Any,
    ) -> UUID:
        self._reject(kwargs)
        message = CommandReply(
            topic,
            data,
            saga,
            status,
            service_name or self.service_name,
            **self._context(user, trace_id),
        )
        if key is None and message.saga is not None:
            key = str(message.saga)
        return await self.enqueue(message, key)
