"""The narrow transport a saga execution needs, whatever the broker is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID

from minos.common import MinosSetup

from .replies import SagaReply

__all__ = ["SagaParticipantBroker", "SagaReplyChannel"]


class SagaReplyChannel(ABC):
    """A private reply topic a waiting saga listens on."""

    topic: str

    @abstractmethod
    async def receive(self, wait: float | None = None) -> SagaReply:
        """Return the next reply; raise ``TimeoutError`` after ``wait`` seconds."""


class SagaParticipantBroker(MinosSetup, ABC):
    """Sends saga commands to participants and opens reply channels.

    The saga engine only talks to this; ``NetworksSagaBroker`` runs it over the
    service's command broker and dynamic handler pool, ``InMemorySagaBroker``
    over local functions.
    """

    @abstractmethod
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
        """Send ``data`` as a command on ``topic``; its reply goes to ``reply_topic``
        (no reply is expected when ``reply_topic`` is ``None``) and must carry
        ``correlation`` back as its ``SagaReply.correlation``."""

    def check_can_wait(self) -> None:
        """Raise if a saga cannot wait for its replies here and now."""
        return None

    @abstractmethod
    def reply_channel(self) -> AbstractAsyncContextManager[SagaReplyChannel]:
        """Open an ephemeral reply topic for the duration of the block."""
