"""PostgreSQL through psycopg 3 and its async connection pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ..exceptions import MinosDatabaseConnectionException
from .abc import (
    DatabaseConnection,
    DatabasePool,
    MinosDatabaseIntegrityException,
    Params,
)

if TYPE_CHECKING:
    from ..config import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["PostgreSqlConnection", "PostgreSqlPool"]


class PostgreSqlConnection(DatabaseConnection):
    """A psycopg connection behind the common interface."""

    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.AsyncConnection) -> None:
        self.raw = raw

    async def execute(self, query: str, params: Params = None) -> int:
        try:
            cursor = await self.raw.execute(query, params)
        except psycopg.errors.IntegrityError as exc:
            raise MinosDatabaseIntegrityException(str(exc).strip()) from exc
        return cursor.rowcount

    async def executemany(self, query: str, params: Iterable[Params]) -> None:
        try:
            async with self.raw.cursor() as cursor:
                await cursor.executemany(query, params)
        except psycopg.errors.IntegrityError as exc:
            raise MinosDatabaseIntegrityException(str(exc).strip()) from exc

    async def fetchone(self, query: str, params: Params = None) -> tuple | None:
        try:
            cursor = await self.raw.execute(query, params)
        except psycopg.errors.IntegrityError as exc:
            raise MinosDatabaseIntegrityException(str(exc).strip()) from exc
        return await cursor.fetchone()

    async def fetchall(self, query: str, params: Params = None) -> list[tuple]:
        try:
            cursor = await self.raw.execute(query, params)
        except psycopg.errors.IntegrityError as exc:
            raise MinosDatabaseIntegrityException(str(exc).strip()) from exc
        return await cursor.fetchall()

    async def iterate(self, query: str, params: Params = None) -> AsyncIterator[tuple]:
        async with self.raw.cursor() as cursor:
            await cursor.execute(query, params)
            async for row in cursor:
                yield row


class PostgreSqlPool(DatabasePool):
    """Connections to one PostgreSQL database (the seed's ``postgresql_pool``)."""

    dialect: ClassVar[str] = "postgresql"

    def __init__(
        self,
        host: str = "localhost",
        port: int = 5432,
        database: str = "postgres",
        user: str = "postgres",
        password: str | None = None,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_attempts: int = 5,
        connect_timeout: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.host = host
        self.port = int(port)
        self.database = database
        self.user = user
        self.password = password
        self.min_size = min_size
        self.max_size = max_size
        self.connect_attempts = connect_attempts
        self.connect_timeout = connect_timeout
        self._pool: AsyncConnectionPool | None = None

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        settings = {**config.repository._asdict(), **kwargs}
        return cls.shared(**settings)

    @classmethod
    def _settings_key(cls, settings: Mapping[str, Any]) -> Hashable:
        return (
            settings.get("host", "localhost"),
            int(settings.get("port", 5432)),
            settings.get("database", "postgres"),
            settings.get("user", "postgres"),
        )

    @property
    def description(self) -> str:
        return (
            f"PostgreSQL database {self.database!r} at {self.host}:{self.port} "
            f"as {self.user!r}"
        )

    def _connection_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": self.user,
            "connect_timeout": max(1, int(self.connect_timeout)),
        }
        if self.password is not None:
            kwargs["password"] = self.password
        return kwargs

    async def _wait_until_reachable(self) -> None:
        """Try to connect, with backoff, so a database still starting is waited for."""
        delay = 0.1
        for attempt in range(1, self.connect_attempts + 1):
            try:
                conn = await psycopg.AsyncConnection.connect(
                    **self._connection_kwargs()
                )
            except psycopg.OperationalError as exc:
                if attempt == self.connect_attempts:
                    lines = str(exc).strip().splitlines() or [type(exc).__name__]
                    reason = lines[-1]
                    raise MinosDatabaseConnectionException(
                        f"Cannot connect to the {self.description} after "
                        f"{attempt} attempts: {reason}"
                    ) from exc
                logger.warning(
                    "Connecting to the %s failed (attempt %d of %d); retrying",
                    self.description,
                    attempt,
                    self.connect_attempts,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                await conn.close()
                return

    async def _setup(self) -> None:
        await self._wait_until_reachable()
        pool = AsyncConnectionPool(
            kwargs={**self._connection_kwargs(), "autocommit": True},
            min_size=self.min_size,
            max_size=self.max_size,
            open=False,
            name=f"minos:{self.database}",
        )
        try:
            await pool.open(wait=True, timeout=self.connect_timeout)
        except PoolTimeout as exc:
            await pool.close()
            raise MinosDatabaseConnectionException(
                f"Cannot open connections to the {self.description}: {exc}"
            ) from exc
        self._pool = pool
        logger.debug("Opened the pool of the %s", self.description)

    async def _destroy(self) -> None:
        await super()._destroy()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[DatabaseConnection]:
        assert self._pool is not None
        async with self._pool.connection() as raw:
            yield PostgreSqlConnection(raw)

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[DatabaseConnection]:
        assert self._pool is not None
        async with self._pool.connection() as raw, raw.transaction():
            yield PostgreSqlConnection(raw)

    async def notify(self, channel: str, payload: str = "") -> None:
        async with self.connection() as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        conn = await psycopg.AsyncConnection.connect(
            **self._connection_kwargs(), autocommit=True
        )
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

            async def pump() -> None:
                async for notification in conn.notifies():
                    queue.put_nowait(notification.payload)

            task = asyncio.create_task(pump(), name=f"listen:{channel}")
            try:
                yield queue
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                    await task
        finally:
            await conn.close()
