"""``SagaExecutionStorage``: executions kept in a key-value storage (LMDB).

Layout: table ``saga_executions``, key the execution's UUID as text, value
the UTF-8 JSON of ``SagaExecution.raw`` (definition with callback paths,
context in the saga value encoding, step progress and deadlines).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

import orjson

from minos.common import MinosSetup, MinosStorage, MinosStorageLmdb

from ..exceptions import (
    MinosSagaExecutionNotFoundException,
    MinosSagaSerializationException,
)
from .saga import SagaExecution
from .status import SagaStatus

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["SagaExecutionStorage"]


class SagaExecutionStorage(MinosSetup):
    """Stores, loads and lists saga executions by id."""

    table = "saga_executions"

    def __init__(
        self,
        storage: MinosStorage | None = None,
        *args: Any,
        path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if storage is None:
            if path is None:
                raise MinosSagaSerializationException(
                    "a saga execution storage needs a storage or a path; set "
                    "'saga.storage.path' in the configuration"
                )
            storage = MinosStorageLmdb(path)
        self.storage = storage

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        kwargs.setdefault("path", config.saga.storage.path)
        return cls(*args, **kwargs)

    async def _setup(self) -> None:
        await self.storage.setup()

    async def _destroy(self) -> None:
        await self.storage.destroy()

    async def store(self, execution: SagaExecution) -> None:
        """Write ``execution``, replacing its previous state."""
        try:
            value = orjson.dumps(execution.raw)
        except TypeError as exc:
            raise MinosSagaSerializationException(
                f"the saga execution {execution.uuid} cannot be stored: {exc}"
            ) from exc
        await self.storage.put(self.table, str(execution.uuid), value)

    async def load(self, uuid: UUID | str) -> SagaExecution:
        """Read the execution ``uuid``; raise if there is none."""
        value = await self.storage.get(self.table, str(uuid))
        if value is None:
            raise MinosSagaExecutionNotFoundException(
                f"no saga execution {uuid} is stored in {self.storage!r}"
            )
        return self._decode(value)

    async def delete(self, uuid: UUID | str) -> bool:
        """Forget the execution ``uuid``; tell whether it was stored."""
        return bool(await self.storage.delete(self.table, str(uuid)))

    async def executions(
        self, status: SagaStatus | None = None
    ) -> AsyncIterator[SagaExecution]:
        """Yield every stored execution (with ``status``, if given)."""
        async for _, value in self.storage.items(self.table):
            raw = self._json(value)
            if status is None or raw.get("status") == status.value:
                yield SagaExecution.from_raw(raw)

    async def deadlines(self) -> AsyncIterator[tuple[UUID, datetime]]:
        """Yield the id and reply deadline of every paused execution that has one.

        Only the stored JSON is read (no callback is imported), so one unreadable
        execution does not hide the others.
        """
        async for key, value in self.storage.items(self.table):
            try:
                raw = self._json(value)
                if raw.get("status") != SagaStatus.Paused.value or not raw["steps"]:
                    continue
                deadline = raw["steps"][-1].get("deadline")
                if deadline:
                    yield UUID(key), datetime.fromisoformat(deadline)
            except (MinosSagaSerializationException, KeyError, TypeError, ValueError):
                logger.warning("skipped the unreadable saga execution %s", key)

    def _decode(self, value: bytes) -> SagaExecution:
        return SagaExecution.from_raw(self._json(value))

    @staticmethod
    def _json(value: bytes) -> dict[str, Any]:
        try:
            raw = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise MinosSagaSerializationException(
                f"a stored saga execution is not valid JSON: {exc}"
            ) from exc
        if not isinstance(raw, dict):
            raise MinosSagaSerializationException(
                f"a stored saga execution is not a JSON object: {str(raw)[:80]}"
            )
        return raw
