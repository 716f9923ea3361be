"""The key-value storage interface sagas persist their executions to."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from ..setup import MinosSetup

__all__ = ["MinosStorage"]


class MinosStorage(MinosSetup, ABC):
    """Durable bytes by table and key.

    Tables are created on first use. Every operation is atomic on its own; a
    value written by ``put`` is on disk when the call returns.
    """

    @abstractmethod
    async def put(self, table: str, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` in ``table``, replacing any previous one."""

    @abstractmethod
    async def get(self, table: str, key: str) -> bytes | None:
        """Return the value under ``key`` in ``table``, or ``None`` if there is none."""

    @abstractmethod
    async def delete(self, table: str, key: str) -> bool:
        """Remove ``key`` from ``table``; tell whether it was there."""

    @abstractmethod
    def items(self, table: str) -> AsyncIterator[tuple[str, bytes]]:
        """Yield every ``(key, value)`` of ``table`` in key order."""
