"""Saga errors: definition mistakes, failed executions and bad replies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minos.common import MinosException

if TYPE_CHECKING:
    from .executions import SagaExecution

__all__ = [
    "MinosSagaException",
    "MinosSagaDefinitionException",
    "MinosSagaEmptyStepException",
    "MinosMultipleInvokeParticipantException",
    "MinosMultipleWithCompensationException",
    "MinosMultipleOnReplyException",
    "MinosUndefinedInvokeParticipantException",
    "MinosSagaAlreadyCommittedException",
    "MinosSagaNotCommittedException",
    "MinosSagaNotDefinedException",
    "MinosSagaCallbackException",
    "MinosSagaSerializationException",
    "MinosSagaContextException",
    "MinosSagaExecutionException",
    "MinosSagaExecutionNotFoundException",
    "MinosSagaExecutionStatusException",
    "MinosSagaFailedExecutionStepException",
    "MinosSagaStepTimeoutException",
    "MinosSagaFailedCommitCallbackException",
    "MinosSagaReplyException",
]


class MinosSagaException(MinosException):
    """Base of the saga errors."""


class MinosSagaDefinitionException(MinosSagaException):
    """A saga definition is malformed; raised while it is being written."""


class MinosSagaEmptyStepException(MinosSagaDefinitionException):
    """A step was closed (by ``step()`` or ``commit()``) without any operation."""


class MinosMultipleInvokeParticipantException(MinosSagaDefinitionException):
    """A step calls ``invoke_participant`` more than once."""


class MinosMultipleWithCompensationException(MinosSagaDefinitionException):
    """A step calls ``with_compensation`` more than once."""


class MinosMultipleOnReplyException(MinosSagaDefinitionException):
    """A step calls ``on_reply`` more than once."""


class MinosUndefinedInvokeParticipantException(MinosSagaDefinitionException):
    """A step has a compensation or a reply handler but no ``invoke_participant``."""


class MinosSagaAlreadyCommittedException(MinosSagaDefinitionException):
    """A committed saga was changed (a new step, or a second ``commit``)."""


class MinosSagaNotCommittedException(MinosSagaDefinitionException):
    """A saga that was never committed was asked to run or to be stored."""


class MinosSagaNotDefinedException(MinosSagaDefinitionException):
    """A step that belongs to no saga was asked for the saga (``step``/``commit``)."""


class MinosSagaCallbackException(MinosSagaDefinitionException):
    """A callback is not callable or cannot be found again by its dotted path."""


class MinosSagaSerializationException(MinosSagaException):
    """A saga, an execution or a context value cannot be written or read back."""


class MinosSagaContextException(MinosSagaException, TypeError):
    """A saga context was given a value or a name it cannot hold."""


class MinosSagaExecutionException(MinosSagaException):
    """A saga execution cannot proceed."""


class MinosSagaExecutionNotFoundException(MinosSagaExecutionException):
    """No stored execution has the requested id."""


class MinosSagaExecutionStatusException(MinosSagaExecutionException):
    """An execution was asked to do what its status does not allow."""


class MinosSagaFailedExecutionStepException(MinosSagaExecutionException):
    """A step failed; the completed steps were compensated and the saga errored.

    ``execution`` is the errored execution and ``step`` the index of the step that
    failed (``None`` when the commit callback failed).
    """

    def __init__(
        self,
        message: str = "",
        *,
        execution: SagaExecution | None = None,
        step: int | None = None,
        cause: Any = None,
    ) -> None:
        super().__init__(message)
        self.execution = execution
        self.step = step
        self.cause = cause


class MinosSagaStepTimeoutException(MinosSagaFailedExecutionStepException):
    """A participant did not reply in time; the saga was compensated."""


class MinosSagaFailedCommitCallbackException(MinosSagaFailedExecutionStepException):
    """The commit callback raised; the saga was compensated."""


class MinosSagaReplyException(MinosSagaException):
    """A reply cannot be read as a saga reply (no saga id, unknown status...)."""
