"""Where an execution, and each of its steps, stands."""

from __future__ import annotations

from enum import Enum

__all__ = ["SagaStatus", "SagaStepStatus"]


class SagaStatus(Enum):
    """The state of a saga execution."""

    Created = "created"  # built, nothing sent yet
    Running = "running"  # running callbacks or sending a command
    Paused = "paused"  # waiting for a participant's reply
    Finished = "finished"  # every step and the commit succeeded
    Errored = "errored"  # a step or the commit failed; completed steps compensated

    @property
    def is_final(self) -> bool:
        return self in (SagaStatus.Finished, SagaStatus.Errored)


class SagaStepStatus(Enum):
    """The state of one step of an execution."""

    Created = "created"
    Running = "running"  # building the command or handling the reply
    Paused = "paused"  # command sent, waiting for the reply
    Finished = "finished"  # the participant replied SUCCESS and the reply was handled
    Errored = "errored"  # the step failed (see its ``error``)
    Compensated = "compensated"  # its compensation command was sent
    # its compensation could not be built or sent: the work of its participant
    # is still done (``SagaManager.compensate`` tries again)
    CompensationFailed = "compensation_failed"
