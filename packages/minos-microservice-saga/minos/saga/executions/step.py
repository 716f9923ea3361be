"""``SagaExecutionStep``: what happened to one step of one execution."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID, uuid4

from ..definitions import SagaStep
from ..participants import SagaParticipantBroker, SagaReply, SagaReplyStatus
from .status import SagaStepStatus

if TYPE_CHECKING:
    from .saga import SagaExecution

logger = logging.getLogger(__name__)

__all__ = ["SagaExecutionStep"]


def aware(text: Any) -> datetime:
    """Read a stored ISO datetime; one without a time zone is taken as UTC."""
    if not isinstance(text, str):
        raise TypeError(f"a stored date must be ISO text, not {text!r}")
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _uuid(text: Any) -> UUID | None:
    if not text:
        return None
    if not isinstance(text, str):
        raise TypeError(f"a stored id must be UUID text, not {text!r}")
    return UUID(text)


class StepFailure(Exception):
    """Raised inside the engine when a step fails; the execution compensates."""

    def __init__(self, message: str, cause: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause


class SagaExecutionStep:
    """The progress of one step: its status, the participant's reply (status and
    message id), the error that stopped it and, while it waits, its deadline.

    ``command_id`` identifies the step's command; the participant's reply
    carries it back (``SagaReply.correlation``), so a reply is only ever applied
    to the step whose command it answers. ``resent_for`` is the id of the
    redelivered reply that made this step send its command again, if any.
    """

    def __init__(
        self,
        definition: SagaStep,
        status: SagaStepStatus = SagaStepStatus.Created,
        *,
        reply_status: SagaReplyStatus | None = None,
        reply_id: UUID | None = None,
        error: str | None = None,
        deadline: datetime | None = None,
        command_id: UUID | None = None,
        resent_for: UUID | None = None,
    ) -> None:
        self.definition = definition
        self.status = status
        self.reply_status = reply_status
        self.reply_id = reply_id
        self.error = error
        self.deadline = deadline
        self.command_id = command_id
        self.resent_for = resent_for

    @property
    def topic(self) -> str:
        operation = self.definition.invoke_participant_operation
        assert operation is not None  # definitions are validated before running
        return operation.name

    @property
    def needs_compensation(self) -> bool:
        """Whether the participant committed work that must now be undone."""
        return (
            self.reply_status is SagaReplyStatus.SUCCESS
            and self.status is not SagaStepStatus.Compensated
            and self.definition.with_compensation_operation is not None
        )

    def answered_by(self, reply: SagaReply) -> bool:
        """Whether ``reply`` answers this step's command.

        A step stored without a command id (by an older version) takes any reply.
        """
        return self.command_id is None or reply.correlation == self.command_id

    async def invoke(
        self,
        execution: SagaExecution,
        broker: SagaParticipantBroker,
        reply_topic: str | None,
        reply_timeout: float | None,
    ) -> None:
        """Build the command, let the execution persist, then send it."""
        self.status = SagaStepStatus.Running
        self.command_id = uuid4()
        data = await self._build(execution)
        self.status = SagaStepStatus.Paused
        if reply_timeout is not None:
            self.deadline = datetime.now(UTC) + timedelta(seconds=reply_timeout)
        try:
            await execution.pausing()
        except Exception as exc:  # unstorable context, full disk...
            self._errored(f"the saga cannot be stored before sending it: {exc}")
            raise StepFailure(self.error or "", exc) from exc
        await self.send(execution, broker, reply_topic, data)

    async def resend(
        self,
        execution: SagaExecution,
        broker: SagaParticipantBroker,
        reply_topic: str | None,
    ) -> None:
        """Build and send this waiting step's command again."""
        await self.send(execution, broker, reply_topic, await self._build(execution))

    async def _build(self, execution: SagaExecution) -> Any:
        operation = self.definition.invoke_participant_operation
        assert operation is not None
        try:
            return await operation.call(
                execution.context, limit=execution.reply_timeout
            )
        except Exception as exc:
            self._errored(f"its callback raised {type(exc).__name__}: {exc}")
            raise StepFailure(self.error or "", exc) from exc

    async def send(
        self,
        execution: SagaExecution,
        broker: SagaParticipantBroker,
        reply_topic: str | None,
        data: Any,
    ) -> None:
        try:
            await broker.send(
                data,
                self.topic,
                saga=execution.uuid,
                reply_topic=reply_topic,
                user=execution.user,
                correlation=self.command_id,
            )
        except Exception as exc:
            self._errored(
                f"its command could not be sent ({type(exc).__name__}: {exc})"
            )
            raise StepFailure(self.error or "", exc) from exc

    async def handle_reply(self, execution: SagaExecution, reply: SagaReply) -> None:
        """Record the participant's reply and store its data in the context."""
        self.reply_status = reply.status
        self.reply_id = reply.id
        self.deadline = None
        if not reply.succeeded:
            self._errored(f"the participant replied {reply.status.name}: {reply.data}")
            raise StepFailure(self.error or "", reply)

        operation = self.definition.on_reply_operation
        if operation is not None:
            self.status = SagaStepStatus.Running
            try:
                if operation.callback is None:
                    value = reply.data
                else:
                    value = await operation.call(
                        reply.data, limit=execution.reply_timeout
                    )
            except Exception as exc:
                self._errored(f"its reply handler raised {type(exc).__name__}: {exc}")
                raise StepFailure(self.error or "", exc) from exc
            execution.context[operation.name] = value
        self.status = SagaStepStatus.Finished

    def timed_out(self, timeout: float | None) -> None:
        """Mark this waiting step as failed for lack of a reply."""
        limit = f" within {timeout:g}s" if timeout is not None else " in time"
        self.deadline = None
        self._errored(f"the participant did not reply{limit}")

    async def compensate(
        self, execution: SagaExecution, broker: SagaParticipantBroker
    ) -> bool:
        """Send the compensation command; tell whether it was sent."""
        operation = self.definition.with_compensation_operation
        assert operation is not None
        try:
            data = await operation.call(
                execution.context, limit=execution.reply_timeout
            )
            await broker.send(
                data,
                operation.name,
                saga=execution.uuid,
                reply_topic=None,
                user=execution.user,
                correlation=uuid4(),
            )
        except Exception as exc:
            logger.exception(
                "saga %r (%s): the compensation %r of step %r could not be sent",
                execution.definition.name,
                execution.uuid,
                operation.name,
                self.topic,
            )
            problem = (
                f"failed to compensate with {operation.name!r}: "
                f"{type(exc).__name__}: {exc}"
            )
            self.error = f"{self.error}; {problem}" if self.error else problem
            self.status = SagaStepStatus.CompensationFailed
            return False
        self.status = SagaStepStatus.Compensated
        return True

    def _errored(self, message: str) -> None:
        self.status = SagaStepStatus.Errored
        self.error = message

    @property
    def raw(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reply_status": self.reply_status.value if self.reply_status else None,
            "reply_id": str(self.reply_id) if self.reply_id else None,
            "error": self.error,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "command_id": str(self.command_id) if self.command_id else None,
            "resent_for": str(self.resent_for) if self.resent_for else None,
        }

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any], definition: SagaStep) -> Self:
        reply_status = raw.get("reply_status")
        deadline = raw.get("deadline")
        error = raw.get("error")
        return cls(
            definition,
            SagaStepStatus(raw["status"]),
            reply_status=SagaReplyStatus(reply_status) if reply_status else None,
            reply_id=_uuid(raw.get("reply_id")),
            error=error if error is None else str(error),
            deadline=aware(deadline) if deadline else None,
            command_id=_uuid(raw.get("command_id")),
            resent_for=_uuid(raw.get("resent_for")),
        )

    def _key(self) -> tuple[Any, ...]:
        return (
            self.definition,
            self.status,
            self.reply_status,
            self.reply_id,
            self.error,
            self.deadline,
            self.command_id,
            self.resent_for,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SagaExecutionStep) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SagaExecutionStep({self.topic!r}, {self.status.name})"
