"""Commands, command replies and events: what microservices send each other.

A message travels as Avro bytes (an envelope whose ``data`` holds the value
encoded by the models' codec, so data may be a model, a list, a mapping, a
UUID, ``None``...) plus transport headers repeating its id, kind, saga, reply
topic, user and trace id, so they can be read without decoding the payload.
"""

from __future__ import annotations

import io
from enum import IntEnum
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4

import fastavro

from minos.common import decode_value, encode_value

from ..requests import USER_HEADER
from .exceptions import MinosMessageDecodeException, MinosMessageException

__all__ = [
    "Command",
    "CommandReply",
    "CommandStatus",
    "Event",
    "Message",
    "KIND_HEADER",
    "MESSAGE_ID_HEADER",
    "REPLY_TOPIC_HEADER",
    "SAGA_HEADER",
    "TRACE_ID_HEADER",
]

MESSAGE_ID_HEADER = "minos-message-id"
KIND_HEADER = "minos-kind"
SAGA_HEADER = "minos-saga"
REPLY_TOPIC_HEADER = "minos-reply-topic"
TRACE_ID_HEADER = "minos-trace-id"

# The first byte of every encoded message: the envelope's layout version.
_FORMAT = b"\x01"

_UUID = {"type": "string", "logicalType": "uuid"}

_ENVELOPE = fastavro.parse_schema(
    {
        "type": "record",
        "name": "Message",
        "namespace": "minos.networks",
        "fields": [
            {"name": "kind", "type": "string"},
            {"name": "topic", "type": "string"},
            {"name": "id", "type": _UUID},
            {"name": "saga", "type": ["null", _UUID], "default": None},
            {"name": "reply_topic", "type": ["null", "string"], "default": None},
            {"name": "user", "type": ["null", _UUID], "default": None},
            {"name": "trace_id", "type": ["null", _UUID], "default": None},
            {"name": "status", "type": ["null", "int"], "default": None},
            {"name": "service_name", "type": ["null", "string"], "default": None},
            {"name": "data", "type": "bytes"},
        ],
    }
)


class CommandStatus(IntEnum):
    """How a command ended, as told by its reply."""

    SUCCESS = 200
    ERROR = 400
    SYSTEM_ERROR = 500


def _uuid(value: Any, name: str) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise MinosMessageException(
            f"the {name} of a message must be a UUID, got {value!r}"
        ) from None


class Message:
    """What every message has: a topic, data, an id, a user and a trace id."""

    kind: ClassVar[str] = "message"
    _kinds: ClassVar[dict[str, type[Message]]] = {}

    __slots__ = ("topic", "data", "id", "user", "trace_id")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Message._kinds[cls.kind] = cls

    def __init__(
        self,
        topic: str,
        data: Any = None,
        *,
        id: UUID | None = None,
        user: UUID | None = None,
        trace_id: UUID | None = None,
    ) -> None:
        if not isinstance(topic, str) or not topic:
            raise MinosMessageException(
                f"a message needs a non-empty topic string, got {topic!r}"
            )
        self.topic = topic
        self.data = data
        self.id = _uuid(id, "id") or uuid4()
        self.user = _uuid(user, "user")
        self.trace_id = _uuid(trace_id, "trace id") or uuid4()

    def _fields(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "data": self.data,
            "id": self.id,
            "user": self.user,
            "trace_id": self.trace_id,
        }

    @property
    def headers(self) -> dict[str, str]:
        """The transport headers that describe this message."""
        headers = {
            MESSAGE_ID_HEADER: str(self.id),
            KIND_HEADER: self.kind,
            TRACE_ID_HEADER: str(self.trace_id),
        }
        if self.user is not None:
            headers[USER_HEADER] = str(self.user)
        return headers

    @property
    def avro_bytes(self) -> bytes:
        """The message encoded for the wire."""
        try:
            data = encode_value(self.data)
        except Exception as exc:
            raise MinosMessageException(
                f"cannot encode the data of the {self.kind} for {self.topic!r}: {exc}"
            ) from exc
        record = {
            "kind": self.kind,
            "topic": self.topic,
            "id": str(self.id),
            "saga": None,
            "reply_topic": None,
            "user": str(self.user) if self.user else None,
            "trace_id": str(self.trace_id),
            "status": None,
            "service_name": None,
            "data": data,
        }
        record.update(self._envelope_extras())
        buffer = io.BytesIO()
        buffer.write(_FORMAT)
        fastavro.schemaless_writer(buffer, _ENVELOPE, record)
        return buffer.getvalue()

    def _envelope_extras(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_avro_bytes(cls, raw: bytes, *, topic: str | None = None) -> Self:
        """Decode a message; ``topic`` (where it came from) is named in errors."""
        where = f" received on {topic!r}" if topic else ""
        if not isinstance(raw, bytes | bytearray | memoryview) or not raw:
            raise MinosMessageDecodeException(f"empty or non-binary message{where}")
        raw = bytes(raw)
        if raw[:1] != _FORMAT:
            raise MinosMessageDecodeException(
                f"the message{where} is not in a known minos format "
                f"(first byte {raw[:1]!r}); was it sent by another producer?"
            )
        try:
            record = fastavro.schemaless_reader(
                io.BytesIO(raw[1:]), _ENVELOPE, _ENVELOPE
            )
        except Exception as exc:
            raise MinosMessageDecodeException(
                f"cannot decode the message{where}: {type(exc).__name__}: {exc}"
            ) from exc
        assert isinstance(record, dict)
        kind = cls._kinds.get(record["kind"])
        if kind is None or not issubclass(kind, cls):
            raise MinosMessageDecodeException(
                f"the message{where} is a {record['kind']!r}, expected a {cls.kind!r}"
            )
        try:
            data = decode_value(record["data"])
        except Exception as exc:
            raise MinosMessageDecodeException(
                f"cannot decode the data of the {record['kind']} for "
                f"{record['topic']!r}{where}: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            return kind._from_envelope(record, data)  # type: ignore[return-value]
        except MinosMessageException as exc:
            # Well-formed bytes with a field no message may have (an empty
            # topic, an unknown status): as unreadable as corrupt bytes.
            raise MinosMessageDecodeException(
                f"the {record['kind']}{where} is invalid: {exc}"
            ) from exc

    @classmethod
    def _from_envelope(cls, record: dict[str, Any], data: Any) -> Message:
        return cls(
            record["topic"],
            data,
            id=record["id"],
            user=record["user"],
            trace_id=record["trace_id"],
        )

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._fields() == other._fields()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._fields().items())
        return f"{type(self).__name__}({fields})"


class Command(Message):
    """A request to another service; its reply goes to ``reply_topic``."""

    kind: ClassVar[str] = "command"

    __slots__ = ("saga", "reply_topic")

    def __init__(
        self,
        topic: str,
        data: Any = None,
        saga: UUID | None = None,
        reply_topic: str | None = None,
        user: UUID | None = None,
        *,
        id: UUID | None = None,
        trace_id: UUID | None = None,
    ) -> None:
        super().__init__(topic, data, id=id, user=user, trace_id=trace_id)
        self.saga = _uuid(saga, "saga")
        self.reply_topic = reply_topic

    def _fields(self) -> dict[str, Any]:
        return {
            **super()._fields(),
            "saga": self.saga,
            "reply_topic": self.reply_topic,
        }

    @property
    def headers(self) -> dict[str, str]:
        headers = super().headers
        if self.saga is not None:
            headers[SAGA_HEADER] = str(self.saga)
        if self.reply_topic is not None:
            headers[REPLY_TOPIC_HEADER] = self.reply_topic
        return headers

    def _envelope_extras(self) -> dict[str, Any]:
        return {
            "saga": str(self.saga) if self.saga else None,
            "reply_topic": self.reply_topic,
        }

    @classmethod
    def _from_envelope(cls, record: dict[str, Any], data: Any) -> Message:
        return cls(
            record["topic"],
            data,
            record["saga"],
            record["reply_topic"],
            record["user"],
            id=record["id"],
            trace_id=record["trace_id"],
        )


class CommandReply(Message):
    """The answer to a command: its status, data and the service that answered."""

    kind: ClassVar[str] = "command_reply"

    __slots__ = ("saga", "status", "service_name")

    def __init__(
        self,
        topic: str,
        data: Any = None,
        saga: UUID | None = None,
        status: CommandStatus | int = CommandStatus.SUCCESS,
        service_name: str | None = None,
        *,
        id: UUID | None = None,
        user: UUID | None = None,
        trace_id: UUID | None = None,
    ) -> None:
        super().__init__(topic, data, id=id, user=user, trace_id=trace_id)
        self.saga = _uuid(saga, "saga")
        try:
            if isinstance(status, bool) or not isinstance(status, int):
                raise ValueError(status)
            self.status = CommandStatus(status)
        except ValueError:
            raise MinosMessageException(
                f"unknown command status {status!r}; use one of "
                f"{[s.name for s in CommandStatus]}"
            ) from None
        self.service_name = service_name

    @property
    def ok(self) -> bool:
        """Whether the command succeeded."""
        return self.status is CommandStatus.SUCCESS

    def _fields(self) -> dict[str, Any]:
        return {
            **super()._fields(),
            "saga": self.saga,
            "status": self.status,
            "service_name": self.service_name,
        }

    @property
    def headers(self) -> dict[str, str]:
        headers = super().headers
        if self.saga is not None:
            headers[SAGA_HEADER] = str(self.saga)
        return headers

    def _envelope_extras(self) -> dict[str, Any]:
        return {
            "saga": str(self.saga) if self.saga else None,
            "status": int(self.status),
            "service_name": self.service_name,
        }

    @classmethod
    def _from_envelope(cls, record: dict[str, Any], data: Any) -> Message:
        return cls(
            record["topic"],
            data,
            record["saga"],
            record["status"],
            record["service_name"],
            id=record["id"],
            user=record["user"],
            trace_id=record["trace_id"],
        )


class Event(Message):
    """Something that happened (an aggregate's change, most often)."""

    kind: ClassVar[str] = "event"

    __slots__ = ()
