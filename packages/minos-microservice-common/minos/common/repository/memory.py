"""An event store in memory: for tests and throwaway runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from .abc import SELECT_FILTERS, MinosRepository, conflict_error, follows
from .entries import Action, RepositoryEntry

__all__ = ["InMemoryRepository"]

_OPERATORS = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}

# The entries written by the transactions open in the current task, by repository.
_pending: ContextVar[Mapping[int, list[RepositoryEntry]] | None] = ContextVar(
    "minos_in_memory_repository_transactions", default=None
)

# What runs once those transactions commit, by repository.
_after_commit: ContextVar[Mapping[int, list[Callable[[], Awaitable[Any]]]] | None] = (
    ContextVar("minos_in_memory_repository_after_commit", default=None)
)


class InMemoryRepository(MinosRepository):
    """Keeps every entry in a list; transactions are serialized by a lock.

    Entries written in a transaction are visible to that transaction only and
    discarded if it fails, like on the database backends.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._entries: list[RepositoryEntry] = []
        self._last: dict[UUID, tuple[int, Action]] = {}
        self._names: dict[UUID, str] = {}
        self._lock = asyncio.Lock()

    def _open(self) -> list[RepositoryEntry] | None:
        return (_pending.get() or {}).get(id(self))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._open() is not None:
            yield None
            return
        async with self._lock:
            written: list[RepositoryEntry] = []
            callbacks: list[Callable[[], Awaitable[Any]]] = []
            token = _pending.set({**(_pending.get() or {}), id(self): written})
            hooks = _after_commit.set(
                {**(_after_commit.get() or {}), id(self): callbacks}
            )
            try:
                yield None
            finally:
                _after_commit.reset(hooks)
                _pending.reset(token)
            for entry in written:
                self._entries.append(entry)
                self._last[entry.aggregate_uuid] = (entry.version, entry.action)
                self._names[entry.aggregate_uuid] = entry.aggregate_name
        for callback in callbacks:
            await super().after_commit(callback)

    async def after_commit(self, callback: Callable[[], Awaitable[Any]]) -> None:
        callbacks = (_after_commit.get() or {}).get(id(self))
        if callbacks is not None and self._open() is not None:
            callbacks.append(callback)
        else:
            await super().after_commit(callback)

    async def _submit(self, entry: RepositoryEntry, **kwargs: Any) -> RepositoryEntry:
        async with self.transaction():
            written = self._open()
            assert written is not None
            last = self._last.get(entry.aggregate_uuid)
            owner = self._names.get(entry.aggregate_uuid)
            for previous in written:
                if previous.aggregate_uuid == entry.aggregate_uuid:
                    last = (previous.version, previous.action)
                    owner = previous.aggregate_name
            version = follows(entry, last)
            if version is None:
                raise conflict_error(entry, last, owner)
            assert entry.created_at is not None
            next_id = len(self._entries) + len(written) + 1
            stored = entry.stored(next_id, version, entry.created_at)
            written.append(stored)
            return stored

    async def _select(
        self, filters: dict[str, Any], limit: int | None
    ) -> AsyncIterator[RepositoryEntry]:
        checks = [
            (SELECT_FILTERS[key], value)
            for key, value in filters.items()
            if key in SELECT_FILTERS
        ]
        entries = [*self._entries, *(self._open() or [])]
        count = 0
        for entry in entries:
            if limit is not None and count >= limit:
                return
            if all(
                _OPERATORS[operator](_column(entry, column), value)
                for (column, operator), value in checks
            ):
                count += 1
                yield entry

    async def last_version(self, aggregate_uuid: UUID) -> int | None:
        for entry in reversed(self._open() or []):
            if entry.aggregate_uuid == aggregate_uuid:
                return entry.version
        last = self._last.get(aggregate_uuid)
        return last[0] if last is not None else None

    async def last_id(self) -> int:
        return len(self._entries) + len(self._open() or [])


def _column(entry: RepositoryEntry, column: str) -> Any:
    value = getattr(entry, column)
    if column == "action":
        return value.value
    return value
