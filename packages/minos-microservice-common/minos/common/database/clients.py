"""Database clients: a pool plus query helpers, the base of read models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ..setup import MinosSetup
from .abc import DatabasePool, Params
from .postgresql import PostgreSqlPool
from .sqlite import SqlitePool

__all__ = [
    "MinosDatabase",
    "PostgreSqlBacked",
    "PostgreSqlMinosDatabase",
    "SqliteBacked",
    "SqliteMinosDatabase",
]


class MinosDatabase(MinosSetup):
    """Runs queries on a shared pool; subclass it and create tables in ``_setup``."""

    def __init__(self, *args: Any, pool: DatabasePool | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._pool = pool

    @property
    def pool(self) -> DatabasePool:
        if self._pool is None:
            raise ValueError(f"{type(self).__name__} has no database pool")
        return self._pool

    async def submit_query(
        self, query: str, params: Params = None, *, lock: Any = None
    ) -> None:
        """Run a statement (in the ambient transaction when there is one)."""
        async with self.pool.connection() as conn:
            await conn.execute(query, params)

    async def submit_query_and_fetchone(
        self, query: str, params: Params = None
    ) -> tuple | None:
        """Run a query and return its first row, or ``None``."""
        async with self.pool.connection() as conn:
            return await conn.fetchone(query, params)

    async def submit_query_and_iter(
        self, query: str, params: Params = None
    ) -> AsyncIterator[tuple]:
        """Run a query and yield its rows."""
        async with self.pool.connection() as conn:
            for row in await conn.fetchall(query, params):
                yield row


class PostgreSqlBacked:
    """Builds a component's pool from the usual PostgreSQL connection keys.

    Mixed in before a class taking ``pool=``: ``PostgreSqlRepository(host=...,
    database=...)`` and ``PostgreSqlRepository(pool=...)`` both work.
    """

    def __init__(
        self,
        database: str = "postgres",
        user: str = "postgres",
        password: str | None = None,
        host: str = "localhost",
        port: int = 5432,
        *args: Any,
        pool: DatabasePool | None = None,
        **kwargs: Any,
    ) -> None:
        self.database = database
        self.user = user
        self.password = password
        self.host = host
        self.port = int(port)
        if pool is None:
            pool = PostgreSqlPool.shared(
                host=host, port=port, database=database, user=user, password=password
            )
        super().__init__(*args, pool=pool, **kwargs)


class SqliteBacked:
    """Builds a component's pool from the path of a SQLite file."""

    def __init__(
        self,
        path: str | Path = "minos.sqlite3",
        *args: Any,
        pool: DatabasePool | None = None,
        **kwargs: Any,
    ) -> None:
        self.path = str(path)
        super().__init__(*args, pool=pool or SqlitePool.shared(path=path), **kwargs)


class PostgreSqlMinosDatabase(PostgreSqlBacked, MinosDatabase):
    """A client of one PostgreSQL database, named by the usual connection keys."""


class SqliteMinosDatabase(SqliteBacked, MinosDatabase):
    """A client of one SQLite file."""
