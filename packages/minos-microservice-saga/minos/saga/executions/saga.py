"""``SagaExecution``: one run of a saga definition, resumable from storage."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Self
from uuid import UUID, uuid4

from ..context import SagaContext
from ..definitions import Saga
from ..exceptions import (
    MinosSagaDefinitionException,
    MinosSagaExecutionStatusException,
    MinosSagaFailedCommitCallbackException,
    MinosSagaFailedExecutionStepException,
    MinosSagaSerializationException,
    MinosSagaStepTimeoutException,
)
from ..participants import SagaParticipantBroker, SagaReply
from ..timeouts import check_timeout
from .status import SagaStatus, SagaStepStatus
from .step import SagaExecutionStep, StepFailure, aware

logger = logging.getLogger(__name__)

__all__ = ["SagaExecution"]

Persist = Callable[["SagaExecution"], Awaitable[None]]


class SagaExecution:
    """The state of one run: definition, context, status and step progress.

    ``execute`` advances it until it waits for a reply (``Paused``), finishes
    or fails. When a step fails, the steps whose participant replied
    ``SUCCESS`` are compensated in reverse order and the execution ends
    ``Errored``; the failed step itself is not compensated, because its
    participant did not commit anything.
    """

    def __init__(
        self,
        definition: Saga,
        uuid: UUID | None = None,
        context: SagaContext | None = None,
        status: SagaStatus = SagaStatus.Created,
        steps: list[SagaExecutionStep] | None = None,
        *,
        user: UUID | None = None,
        reply_timeout: float | None = None,
        error: str | None = None,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        self.definition = definition
        self.uuid = uuid or uuid4()
        self.context = context if context is not None else SagaContext()
        self.status = status
        self.steps: list[SagaExecutionStep] = steps or []
        self.user = user
        self.reply_timeout = reply_timeout
        self.error = error
        self.created_at = created_at or datetime.now(UTC)
        self.updated_at = updated_at or self.created_at
        self._persist: Persist | None = None

    @classmethod
    def from_definition(
        cls,
        definition: Saga,
        context: SagaContext | Mapping[str, Any] | None = None,
        *,
        user: UUID | None = None,
        reply_timeout: float | None = None,
        uuid: UUID | None = None,
    ) -> Self:
        """A new execution of a committed ``definition``.

        ``reply_timeout`` is how long each step waits for its reply (``None``: forever).
        """
        if not isinstance(definition, Saga):
            raise MinosSagaDefinitionException(
                f"a saga execution needs a Saga definition, not "
                f"{type(definition).__name__}"
            )
        definition.validate()
        if context is not None and not isinstance(context, SagaContext):
            context = SagaContext(context)
        reply_timeout = check_timeout(reply_timeout)
        return cls(definition, uuid, context, user=user, reply_timeout=reply_timeout)

    @property
    def paused_step(self) -> SagaExecutionStep | None:
        """The step waiting for a reply, if any."""
        if self.status is SagaStatus.Paused and self.steps:
            return self.steps[-1]
        return None

    async def execute(
        self,
        reply: SagaReply | None = None,
        *,
        broker: SagaParticipantBroker,
        reply_topic: str | None = None,
        persist: Persist | None = None,
    ) -> Self:
        """Apply ``reply`` (if any) and run until the next pause or the end.

        ``persist`` is awaited after each command is built and before it is
        sent, so a reply can never find an execution older than its command.
        Raises ``MinosSagaFailedExecutionStepException`` (or a subclass) after
        compensating when a step or the commit fails.
        """
        self._check_can_execute(reply)
        self._persist = persist
        try:
            self.status = SagaStatus.Running
            if reply is not None:
                await self._apply(reply, broker)
            while len(self.steps) < len(self.definition.steps):
                index = len(self.steps)
                step = SagaExecutionStep(self.definition.steps[index])
                self.steps.append(step)
                try:
                    await step.invoke(self, broker, reply_topic, self.reply_timeout)
                except StepFailure as failure:
                    await self._fail(index, failure, broker)
                return self
            await self._commit(broker)
            return self
        finally:
            self._persist = None

    async def expire(self, *, broker: SagaParticipantBroker) -> None:
        """Fail the waiting step for lack of a reply, compensating the others."""
        step = self.paused_step
        if step is None:
            raise MinosSagaExecutionStatusException(
                f"{self._name()} is {self.status.name}, not waiting for a reply"
            )
        step.timed_out(self.reply_timeout)
        await self._fail(
            len(self.steps) - 1,
            StepFailure(step.error or "", None),
            broker,
            MinosSagaStepTimeoutException,
        )

    async def abandon(self, *, broker: SagaParticipantBroker, reason: str) -> None:
        """Fail the waiting step because its reply cannot be received.

        Whether its participant did the work is unknown, as after a timeout; the
        steps before it are compensated.
        """
        step = self.paused_step
        if step is None:
            raise MinosSagaExecutionStatusException(
                f"{self._name()} is {self.status.name}, not waiting for a reply"
            )
        step.deadline = None
        step.status = SagaStepStatus.Errored
        step.error = f"its reply could not be received ({reason})"
        await self._fail(len(self.steps) - 1, StepFailure(step.error, None), broker)

    def expects(self, reply: SagaReply) -> bool:
        """Whether ``reply`` answers the command of the step waiting for it."""
        step = self.paused_step
        return step is not None and step.answered_by(reply)

    def has_applied(self, reply: SagaReply) -> bool:
        """Whether ``reply`` (by message id) was already applied to a step."""
        return self.applied_step(reply) is not None

    def applied_step(self, reply: SagaReply) -> int | None:
        """The index of the step ``reply`` (by message id) was applied to."""
        if reply.id is None:
            return None
        for index, step in enumerate(self.steps):
            if step.reply_id == reply.id:
                return index
        return None

    async def resend(
        self,
        *,
        broker: SagaParticipantBroker,
        reply_topic: str | None = None,
        reason: UUID | None = None,
    ) -> None:
        """Send the waiting step's command again, built from the current context.

        For when the first send may have been lost (rolled back with the
        transaction that carried it); participants see it at least once, with
        the same command id. ``reason`` is the id of the redelivered reply that
        asked for it, kept in ``resent_for``.
        """
        step = self.paused_step
        if step is None:
            raise MinosSagaExecutionStatusException(
                f"{self._name()} is {self.status.name}, not waiting for a reply"
            )
        step.resent_for = reason
        try:
            await step.resend(self, broker, reply_topic)
        except StepFailure as failure:
            await self._fail(len(self.steps) - 1, failure, broker)

    @property
    def uncompensated_steps(self) -> list[int]:
        """The steps whose compensation failed (their work is still done)."""
        return [
            index
            for index, step in enumerate(self.steps)
            if step.status is SagaStepStatus.CompensationFailed
        ]

    async def compensate_again(self, *, broker: SagaParticipantBroker) -> list[str]:
        """Retry the compensations that failed, in reverse order.

        Returns the compensations sent; ``error`` tells what was retried.
        """
        if self.status is not SagaStatus.Errored:
            raise MinosSagaExecutionStatusException(
                f"{self._name()} is {self.status.name}; only errored sagas have "
                "compensations to retry"
            )
        sent: list[str] = []
        failed: list[str] = []
        for index in reversed(self.uncompensated_steps):
            step = self.steps[index]
            operation = step.definition.with_compensation_operation
            assert operation is not None
            if await step.compensate(self, broker):
                sent.append(operation.name)
            else:
                failed.append(operation.name)
        if sent or failed:
            note = f"compensated later: {', '.join(sent) or 'nothing'}"
            if failed:
                note += f"; failed to compensate again: {', '.join(failed)}"
            self.error = f"{self.error}; {note}" if self.error else note
            self.touch()
        return sent

    async def pausing(self) -> None:
        """Mark the execution as waiting, and persist it if asked to."""
        self.status = SagaStatus.Paused
        self.touch()
        if self._persist is not None:
            await self._persist(self)

    def touch(self) -> None:
        self.updated_at = datetime.now(UTC)

    async def _apply(self, reply: SagaReply, broker: SagaParticipantBroker) -> None:
        index = len(self.steps) - 1
        try:
            await self.steps[index].handle_reply(self, reply)
        except StepFailure as failure:
            await self._fail(index, failure, broker)

    async def _commit(self, broker: SagaParticipantBroker) -> None:
        operation = self.definition.commit_operation
        try:
            if operation is not None and operation.callback is not None:
                result = await operation.call(self.context, limit=self.reply_timeout)
                if isinstance(result, Mapping) and not isinstance(result, SagaContext):
                    result = SagaContext(result)
                if result is not None and not isinstance(result, SagaContext):
                    raise TypeError(
                        f"it returned a {type(result).__name__}; return a "
                        "SagaContext (or None to keep the context)"
                    )
                if result is not None:
                    self.context = result
        except Exception as exc:
            failure = StepFailure(
                f"its commit callback raised {type(exc).__name__}: {exc}", exc
            )
            await self._fail(
                None, failure, broker, MinosSagaFailedCommitCallbackException
            )
        self.status = SagaStatus.Finished
        self.touch()
        logger.debug("%s finished", self._name())

    async def _fail(
        self,
        index: int | None,
        failure: StepFailure,
        broker: SagaParticipantBroker,
        kind: type[MinosSagaFailedExecutionStepException] = (
            MinosSagaFailedExecutionStepException
        ),
    ) -> None:
        """Compensate the completed steps in reverse order, end Errored, raise."""
        where = (
            "at commit"
            if index is None
            else f"at step {index} ({self.steps[index].topic!r})"
        )
        compensated: list[str] = []
        uncompensated: list[str] = []
        for step in reversed(self.steps):
            if not step.needs_compensation:
                continue
            operation = step.definition.with_compensation_operation
            assert operation is not None
            if await step.compensate(self, broker):
                compensated.append(operation.name)
            else:
                uncompensated.append(f"{operation.name} ({step.error})")

        self.status = SagaStatus.Errored
        self.error = (
            f"{self._name()} failed {where}: {failure.message}; compensated: "
            f"{', '.join(compensated) or 'nothing'}"
        )
        if uncompensated:
            self.error += f"; failed to compensate: {', '.join(uncompensated)}"
        self.touch()
        logger.warning("%s", self.error)
        raise kind(self.error, execution=self, step=index, cause=failure.cause)

    def _check_can_execute(self, reply: SagaReply | None) -> None:
        if reply is not None and self.status is SagaStatus.Paused:
            if reply.saga != self.uuid:
                raise MinosSagaExecutionStatusException(
                    f"{self._name()} was given a reply for saga {reply.saga}"
                )
            if not self.expects(reply):
                raise MinosSagaExecutionStatusException(
                    f"{self._name()} waits for the reply to the command "
                    f"{self.steps[-1].command_id} of step {len(self.steps) - 1}, "
                    f"not to {reply.correlation}"
                )
        if self.status.is_final:
            raise MinosSagaExecutionStatusException(
                f"{self._name()} is already {self.status.name}; it cannot run again"
            )
        if reply is None and self.status is SagaStatus.Paused:
            raise MinosSagaExecutionStatusException(
                f"{self._name()} is waiting for the reply of step "
                f"{len(self.steps) - 1}; resume it with that reply"
            )
        if reply is not None and self.status is not SagaStatus.Paused:
            raise MinosSagaExecutionStatusException(
                f"{self._name()} is {self.status.name}, not waiting for a reply"
            )

    def _name(self) -> str:
        return f"saga {self.definition.name!r} ({self.uuid})"

    @property
    def raw(self) -> dict[str, Any]:
        """The execution as JSON-safe data, its definition included."""
        return {
            "uuid": str(self.uuid),
            "definition": self.definition.raw,
            "status": self.status.value,
            "steps": [step.raw for step in self.steps],
            "context": self.context.raw,
            "user": str(self.user) if self.user else None,
            "reply_timeout": self.reply_timeout,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        """Rebuild an execution written by ``raw`` (in this process or another)."""
        try:
            if not isinstance(raw, Mapping):
                raise TypeError(f"it is a {type(raw).__name__}, not a JSON object")
            if not isinstance(raw["steps"], list):
                raise TypeError("its steps are not a list")
            definition = Saga.from_raw(raw["definition"])
            steps = [
                SagaExecutionStep.from_raw(step, definition.steps[index])
                for index, step in enumerate(raw["steps"])
            ]
            try:
                reply_timeout = check_timeout(raw.get("reply_timeout"))
            except MinosSagaExecutionStatusException as exc:
                raise ValueError(str(exc)) from None
            error = raw.get("error")
            return cls(
                definition,
                UUID(raw["uuid"]),
                SagaContext.from_raw(raw["context"], where="context"),
                SagaStatus(raw["status"]),
                steps,
                user=UUID(raw["user"]) if raw.get("user") else None,
                reply_timeout=reply_timeout,
                error=error if error is None else str(error),
                created_at=aware(raw["created_at"]),
                updated_at=aware(raw["updated_at"]),
            )
        except MinosSagaSerializationException:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise MinosSagaSerializationException(
                f"a stored saga execution is malformed ({type(exc).__name__}: {exc})"
            ) from exc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SagaExecution) and self.raw == other.raw

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"SagaExecution({self.definition.name!r}, uuid={self.uuid}, "
            f"status={self.status.name}, steps={len(self.steps)})"
        )
