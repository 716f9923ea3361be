"""Interfaces that ``minos.common`` needs and higher packages implement.

``common`` never imports ``networks`` or ``saga``: aggregates publish through a
``MinosBroker`` and replies reach sagas through a ``MinosSagaManager``, both
provided by the dependency-injection container.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any
from uuid import UUID

from .setup import MinosSetup

__all__ = ["MinosBroker", "MinosHandler", "MinosSagaManager"]


class MinosBroker(MinosSetup, ABC):
    """Sends messages. Implementations enqueue into the outbox: when the caller
    has a transaction open on the outbox's database, the message joins it."""

    @abstractmethod
    async def send(
        self, data: Any, topic: str, *, key: str | None = None, **kwargs: Any
    ) -> UUID:
        """Queue ``data`` for ``topic``; return the message id."""


class MinosHandler(MinosSetup, ABC):
    """Receives messages for some topics."""

    @abstractmethod
    async def get_one(self, *args: Any, **kwargs: Any) -> Any:
        """Wait for the next message."""


class MinosSagaManager(MinosSetup, ABC):
    """Runs sagas and resumes paused ones when their reply arrives."""

    @abstractmethod
    async def run(
        self,
        definition: Any = None,
        context: Any = None,
        *,
        reply: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Start ``definition`` with ``context``, or resume the saga of ``reply``."""
