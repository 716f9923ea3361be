"""The database interface every backend implements.

SQL is written once, in psycopg's placeholder style (``%s`` and ``%(name)s``);
backends with another style translate it. A pool hands out connections; a
transaction opened on a pool is *ambient* for the task that opened it, so any
code running in that task (a repository, then a broker) that asks the same
pool for a connection joins the same transaction. That is how the event row
and the outbox rows of one change commit together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from abc import ABC, abstractmethod
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from contextvars import ContextVar
from typing import Any, ClassVar, Self

from ..exceptions import MinosDatabaseException
from ..setup import MinosSetup

logger = logging.getLogger(__name__)

__all__ = [
    "DatabaseConnection",
    "DatabasePool",
    "MinosPool",
    "MinosDatabaseIntegrityException",
    "close_database_pools",
    "database_pool",
]

Params = Sequence[Any] | Mapping[str, Any] | None


class MinosDatabaseIntegrityException(MinosDatabaseException):
    """A statement broke a constraint (a unique key, most often)."""


class DatabaseConnection(ABC):
    """One connection, or the connection of the ambient transaction."""

    @abstractmethod
    async def execute(self, query: str, params: Params = None) -> int:
        """Run a statement; return the number of rows it touched."""

    @abstractmethod
    async def executemany(self, query: str, params: Iterable[Params]) -> None:
        """Run a statement once per parameter set."""

    @abstractmethod
    async def fetchone(self, query: str, params: Params = None) -> tuple | None:
        """Run a query and return its first row."""

    @abstractmethod
    async def fetchall(self, query: str, params: Params = None) -> list[tuple]:
        """Run a query and return all its rows."""

    async def iterate(self, query: str, params: Params = None) -> AsyncIterator[tuple]:
        """Run a query and yield its rows."""
        for row in await self.fetchall(query, params):
            yield row


class _OpenTransaction:
    """The connection of a transaction, and whether its block is still running.

    Tasks created inside the block inherit the context that names it; once the
    block ends they must stop joining it, hence the flag.
    """

    __slots__ = ("connection", "open", "after_commit")

    def __init__(self, connection: DatabaseConnection) -> None:
        self.connection = connection
        self.open = True
        self.after_commit: list[Callable[[], Awaitable[Any]]] = []


# The transactions open in the current context, by pool.
_ambient: ContextVar[Mapping[int, _OpenTransaction] | None] = ContextVar(
    "minos_ambient_transactions", default=None
)


def _joinable(pool: DatabasePool) -> DatabaseConnection | None:
    transactions = _ambient.get()
    if not transactions:
        return None
    current = transactions.get(id(pool))
    if current is None or not current.open:
        return None
    return current.connection


class DatabasePool(MinosSetup, ABC):
    """A pool of connections to one database, shared by everything using it."""

    dialect: ClassVar[str]

    _shared: ClassVar[
        weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, Any]]
    ] = weakref.WeakKeyDictionary()
    _shared_without_loop: ClassVar[dict[Hashable, Any]] = {}

    @classmethod
    def shared(cls, **settings: Any) -> Self:
        """The pool of this event loop for these settings, created on first use."""
        key = (cls, cls._settings_key(settings))
        registry = _registry()
        pool = registry.get(key)
        if pool is None:
            pool = registry[key] = cls(**settings)
            pool._registry_key = key
        return pool

    _registry_key: Hashable | None = None

    async def setup(self) -> None:
        if not self.already_setup and self._registry_key is not None:
            # Reopened after close_database_pools(): be shared (and closed) again.
            _registry().setdefault(self._registry_key, self)
        await super().setup()

    @classmethod
    @abstractmethod
    def _settings_key(cls, settings: Mapping[str, Any]) -> Hashable:
        """What makes two settings name the same database."""

    @property
    @abstractmethod
    def description(self) -> str:
        """Where the database is, for messages and logs (never a password)."""

    @abstractmethod
    def _connect(self) -> contextlib.AbstractAsyncContextManager[DatabaseConnection]:
        """A connection of the pool, outside any transaction."""

    @abstractmethod
    def _begin(self) -> contextlib.AbstractAsyncContextManager[DatabaseConnection]:
        """A connection with a new transaction open on it."""

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[DatabaseConnection]:
        """A connection: the ambient transaction's, if this task has one open."""
        current = _joinable(self)
        if current is not None:
            yield current
            return
        await self.setup()
        async with self._connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[DatabaseConnection]:
        """Open a transaction (or join the open one) committed when the block ends."""
        current = _joinable(self)
        if current is not None:
            yield current
            return
        await self.setup()
        opened: _OpenTransaction | None = None
        async with self._begin() as conn:
            opened = _OpenTransaction(conn)
            token = _ambient.set({**(_ambient.get() or {}), id(self): opened})
            try:
                yield conn
            finally:
                opened.open = False
                _ambient.reset(token)
        # Reached only when the block ended without error and the commit succeeded.
        await _run_after_commit(opened.after_commit, self.description)

    async def after_commit(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Run ``callback`` once this task's open transaction on this pool commits
        (never if it rolls back); run it now when no transaction is open.

        Its errors are logged, not raised: the transaction is committed already.
        """
        transactions = _ambient.get() or {}
        current = transactions.get(id(self))
        if current is not None and current.open:
            current.after_commit.append(callback)
            return
        await _run_after_commit([callback], self.description)

    @property
    def in_transaction(self) -> bool:
        """Whether this task has a transaction open on this pool."""
        return _joinable(self) is not None

    @abstractmethod
    async def notify(self, channel: str, payload: str = "") -> None:
        """Wake the listeners of ``channel``; inside a transaction, at commit."""

    @abstractmethod
    def listen(
        self, channel: str
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[str]]:
        """A queue receiving the payload of every notification on ``channel``."""

    async def _destroy(self) -> None:
        registry = _registry()
        for key, pool in list(registry.items()):
            if pool is self:
                del registry[key]


MinosPool = DatabasePool


async def _run_after_commit(
    callbacks: Iterable[Callable[[], Awaitable[Any]]], where: str
) -> None:
    """Run the callbacks of a committed transaction, logging their errors."""
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            logger.exception("A callback after a commit on %s failed", where)


def _registry() -> dict[Hashable, Any]:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return DatabasePool._shared_without_loop
    return DatabasePool._shared.setdefault(loop, {})


async def close_database_pools() -> None:
    """Close every shared pool of the running event loop."""
    for pool in list(_registry().values()):
        try:
            await pool.destroy()
        except Exception:  # closing the others matters more
            logger.exception("Closing the database pool %s failed", pool.description)


def database_pool(settings: Mapping[str, Any]) -> DatabasePool:
    """The shared pool for a config section: SQLite when it has ``path``."""
    from .postgresql import PostgreSqlPool
    from .sqlite import SqlitePool

    values = dict(settings)
    if "path" in values and values["path"] is not None:
        if not str(values["path"]).strip():
            raise MinosDatabaseException("A SQLite 'path' must not be empty")
        return SqlitePool.shared(path=values["path"])
    if not values.get("database"):
        raise MinosDatabaseException(
            "A database section needs 'database' (PostgreSQL) or 'path' (SQLite)"
        )
    keys = ("host", "port", "database", "user", "password")
    return PostgreSqlPool.shared(**{k: values[k] for k in keys if k in values})
