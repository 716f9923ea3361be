"""``SagaReply``: a participant's answer, whatever transport carried it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any
from uuid import UUID

from ..exceptions import MinosSagaReplyException

__all__ = ["SagaReply", "SagaReplyStatus"]


class SagaReplyStatus(Enum):
    """How a participant's command went; only ``SUCCESS`` completes a step."""

    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    SYSTEM_ERROR = "SYSTEM_ERROR"


@dataclass(frozen=True)
class SagaReply:
    """The reply to the command a saga step sent: its saga, status and data.

    ``id`` is the reply message's id, when the transport has one: it lets a
    redelivered reply be recognised. ``correlation`` is the id of the command
    it answers (a step's ``command_id``): a reply is applied only to the step
    whose command it answers. Over ``minos.networks`` it travels as the
    message's trace id, which a command handler's reply repeats.
    """

    saga: UUID
    status: SagaReplyStatus
    data: Any = None
    id: UUID | None = None
    correlation: UUID | None = None

    @classmethod
    def from_message(cls, message: Any) -> SagaReply:
        """Read a reply from any message with ``saga``, ``status`` and ``data``.

        ``status`` may be an enum member named like ``SagaReplyStatus`` or its
        name as a string; ``saga`` a UUID or its text.
        """
        if isinstance(message, SagaReply):
            return message
        saga = getattr(message, "saga", None)
        if saga is None:
            raise MinosSagaReplyException(
                f"the reply {message!r} carries no saga id; it cannot resume a saga"
            )
        try:
            saga = saga if isinstance(saga, UUID) else UUID(str(saga))
        except ValueError:
            raise MinosSagaReplyException(
                f"the reply's saga id {saga!r} is not a UUID"
            ) from None
        return cls(
            saga,
            _status(getattr(message, "status", None)),
            _data(message),
            _optional_uuid(getattr(message, "id", None), "id"),
            _optional_uuid(getattr(message, "trace_id", None), "trace id"),
        )

    @property
    def succeeded(self) -> bool:
        return self.status is SagaReplyStatus.SUCCESS


def _status(status: Any) -> SagaReplyStatus:
    name = status.name if isinstance(status, Enum) else status
    try:
        return SagaReplyStatus[str(name).upper()]
    except KeyError:
        raise MinosSagaReplyException(
            f"the reply status {status!r} is unknown; expected one of "
            f"{', '.join(SagaReplyStatus.__members__)}"
        ) from None


def _optional_uuid(value: Any, name: str) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise MinosSagaReplyException(
            f"the reply's {name} {value!r} is not a UUID"
        ) from None


def _data(message: Any) -> Any:
    return getattr(message, "data", None)
