"""``SagaStep``: one participant call, its compensation and its reply handler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self

from ..exceptions import (
    MinosMultipleInvokeParticipantException,
    MinosMultipleOnReplyException,
    MinosMultipleWithCompensationException,
    MinosSagaAlreadyCommittedException,
    MinosSagaEmptyStepException,
    MinosSagaNotDefinedException,
    MinosUndefinedInvokeParticipantException,
)
from .operations import SagaOperation

if TYPE_CHECKING:
    from .saga import Saga

__all__ = ["SagaStep"]


class SagaStep:
    """A step of a saga, written fluently.

    ``invoke_participant(topic, callback)`` sends ``callback(context)`` to the
    participant listening on ``topic``; ``with_compensation(topic, callback)``
    says how to undo it if a later step fails; ``on_reply(name, callback)``
    stores the reply's data (or ``callback(data)``) in the context as ``name``.
    """

    def __init__(
        self,
        saga: Saga | None = None,
        *,
        invoke_participant: SagaOperation | None = None,
        with_compensation: SagaOperation | None = None,
        on_reply_operation: SagaOperation | None = None,
    ) -> None:
        self.saga = saga
        self.invoke_participant_operation = invoke_participant
        self.with_compensation_operation = with_compensation
        self.on_reply_operation = on_reply_operation

    def invoke_participant(
        self,
        topic: str,
        callback: Callable[..., Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Self:
        """Send ``callback(context, **parameters)`` as a command on ``topic``."""
        self._check_open()
        if self.invoke_participant_operation is not None:
            raise MinosMultipleInvokeParticipantException(
                f"{self._where()} already invokes "
                f"{self.invoke_participant_operation.name!r}; a step invokes one "
                "participant, so start a new one with .step()"
            )
        self.invoke_participant_operation = SagaOperation(
            topic, callback, parameters, what="participant"
        )
        return self

    def with_compensation(
        self,
        topic: str,
        callback: Callable[..., Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Self:
        """Send ``callback(context, **parameters)`` on ``topic`` to undo this step."""
        self._check_open()
        if self.with_compensation_operation is not None:
            raise MinosMultipleWithCompensationException(
                f"{self._where()} already compensates with "
                f"{self.with_compensation_operation.name!r}; a step has one "
                "compensation"
            )
        self.with_compensation_operation = SagaOperation(
            topic, callback, parameters, what="compensation"
        )
        return self

    def on_reply(
        self,
        name: str,
        callback: Callable[..., Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Self:
        """Store the reply's data, or ``callback(data, **parameters)``, as ``name``."""
        self._check_open()
        if self.on_reply_operation is not None:
            raise MinosMultipleOnReplyException(
                f"{self._where()} already stores its reply as "
                f"{self.on_reply_operation.name!r}; a step has one reply handler"
            )
        self.on_reply_operation = SagaOperation(
            name, callback, parameters, what="reply handler"
        )
        return self

    def step(self) -> SagaStep:
        """Close this step and start the next one."""
        return self._saga().step()

    def commit(self, callback: Callable[..., Any] | None = None) -> Saga:
        """Close this step and the saga; see ``Saga.commit``."""
        return self._saga().commit(callback)

    def validate(self) -> None:
        """Raise if this step cannot run."""
        if (
            self.invoke_participant_operation is None
            and self.with_compensation_operation is None
            and self.on_reply_operation is None
        ):
            raise MinosSagaEmptyStepException(
                f"{self._where()} is empty; give it an .invoke_participant(...) "
                "before starting another step or committing"
            )
        if self.invoke_participant_operation is None:
            raise MinosUndefinedInvokeParticipantException(
                f"{self._where()} has a compensation or a reply handler but no "
                "participant; add .invoke_participant(topic, callback)"
            )

    @property
    def raw(self) -> dict[str, Any]:
        return {
            "invoke_participant": _raw(self.invoke_participant_operation),
            "with_compensation": _raw(self.with_compensation_operation),
            "on_reply": _raw(self.on_reply_operation),
        }

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any], saga: Saga | None = None) -> Self:
        return cls(
            saga,
            invoke_participant=_operation(raw.get("invoke_participant"), "participant"),
            with_compensation=_operation(raw.get("with_compensation"), "compensation"),
            on_reply_operation=_operation(raw.get("on_reply"), "reply handler"),
        )

    def _check_open(self) -> None:
        if self.saga is not None and self.saga.committed:
            raise MinosSagaAlreadyCommittedException(
                f"{self._where()} belongs to a committed saga, which cannot change; "
                "define every operation before .commit()"
            )

    def _saga(self) -> Saga:
        if self.saga is None:
            raise MinosSagaNotDefinedException(
                "this step belongs to no saga; create steps with Saga(name).step()"
            )
        return self.saga

    def _where(self) -> str:
        if self.saga is None:
            return "the step"
        for index, step in enumerate(self.saga.steps):
            if step is self:
                return f"step {index} of saga {self.saga.name!r}"
        return f"a step of saga {self.saga.name!r}"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SagaStep)
            and self.invoke_participant_operation == other.invoke_participant_operation
            and self.with_compensation_operation == other.with_compensation_operation
            and self.on_reply_operation == other.on_reply_operation
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"SagaStep(invoke_participant={self.invoke_participant_operation!r}, "
            f"with_compensation={self.with_compensation_operation!r}, "
            f"on_reply={self.on_reply_operation!r})"
        )


def _raw(operation: SagaOperation | None) -> dict[str, Any] | None:
    return operation.raw if operation is not None else None


def _operation(raw: Mapping[str, Any] | None, what: str) -> SagaOperation | None:
    return SagaOperation.from_raw(raw, what=what) if raw is not None else None
