"""``SagaExecutionStorage``: executions kept in a key-value storage (LMDB).

Layout: table ``saga_executions``, key the execution's UUID as text, value
the UTF-8 JSON of ``SagaExecution.raw`` (definition with callback paths,
context in the saga value encoding, step progress and deadlines).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

import orjson

from minos.common import MinosSetup, MinosStorage, MinosStorageLmdb

from ..exceptions import (
    MinosSagaException,
    MinosSagaExecutionNotFoundException,
    MinosSagaSerializationException,
)
from .saga import SagaExecution
from .status import SagaStatus
from .step import aware

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["SagaExecutionStorage"]


class SagaExecutionStorage(MinosSetup):
    """Stores, loads and lists saga executions by id.

    On an LMDB directory, setup takes an exclusive lock on ``saga.lock`` in it:
    a second storage on the same directory, in this process or another, is
    refused until the first is destroyed (the saga manager's locks on
    executions are per process).
    """

    table = "saga_executions"
    lock_name = "saga.lock"

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
        self._lock_fd: int | None = None

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        kwargs.setdefault("path", config.saga.storage.path)
        return cls(*args, **kwargs)

    async def _setup(self) -> None:
        await self.storage.setup()
        if isinstance(self.storage, MinosStorageLmdb):
            try:
                self._lock_fd = _lock(self.storage.path / self.lock_name)
            except BaseException:
                await self.storage.destroy()
                raise

    async def _destroy(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # releases the lock
        await self.storage.destroy()

    def encode(self, execution: SagaExecution) -> bytes:
        """The stored form of ``execution``; raise if it cannot be stored."""
        try:
            return orjson.dumps(execution.raw)
        except MinosSagaSerializationException as exc:
            raise MinosSagaSerializationException(
                f"the saga execution {execution.uuid} cannot be stored: {exc}"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise MinosSagaSerializationException(
                f"the saga execution {execution.uuid} cannot be stored: {exc}"
            ) from exc

    async def store(self, execution: SagaExecution) -> None:
        """Write ``execution``, replacing its previous state."""
        value = self.encode(execution)
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
        """Yield every readable stored execution (with ``status``, if given).

        Unreadable rows are logged and skipped; ``load`` tells why one fails.
        """
        async for key, value in self.storage.items(self.table):
            try:
                raw = self._json(value)
                if status is not None and raw.get("status") != status.value:
                    continue
                execution = SagaExecution.from_raw(raw)
            except MinosSagaException as exc:
                logger.warning("skipped the unreadable saga execution %s: %s", key, exc)
                continue
            yield execution

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
                    found = UUID(key), aware(deadline)
                else:
                    continue
            except (
                MinosSagaSerializationException,
                KeyError,
                TypeError,
                ValueError,
                AttributeError,
            ):
                logger.warning("skipped the unreadable saga execution %s", key)
                continue
            yield found

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


def _lock(path: Path) -> int:
    """Take the exclusive lock file ``path``; raise if another holder has it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        raise MinosSagaException(
            f"the saga storage at {str(path.parent)!r} is in use by another saga "
            "manager (in this process or another); give each service instance its "
            "own 'saga.storage.path'"
        ) from exc
    return fd
