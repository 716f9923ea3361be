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

from ..exceptions import MinosDatabaseConnectionException, MinosDatabaseException
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


def _translate(exc: psycopg.Error, where: str) -> MinosDatabaseException:
    """The minos error for a driver error, naming the database."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, psycopg.errors.IntegrityError):
        return MinosDatabaseIntegrityException(f"{where}: {text}")
    if isinstance(exc, psycopg.OperationalError) and not isinstance(
        exc, psycopg.errors.QueryCanceled
    ):
        return MinosDatabaseConnectionException(f"{where}: {text}")
    return MinosDatabaseException(f"{where}: {text}")


class PostgreSqlConnection(DatabaseConnection):
    """A psycopg connection behind the common interface."""

    __slots__ = ("raw", "where")

    def __init__(self, raw: psycopg.AsyncConnection, where: str = "PostgreSQL"):
        self.raw = raw
        self.where = where

    async def execute(self, query: str, params: Params = None) -> int:
        try:
            cursor = await self.raw.execute(query, params)
        except psycopg.Error as exc:
            raise _translate(exc, self.where) from exc
        return cursor.rowcount

    async def executemany(self, query: str, params: Iterable[Params]) -> None:
        try:
            async with self.raw.cursor() as cursor:
                await cursor.executemany(query, params)
        except psycopg.Error as exc:
            raise _translate(exc, self.where) from exc

    async def fetchone(self, query: str, params: Params = None) -> tuple | None:
        try:
            cursor = await self.raw.execute(query, params)
            return await cursor.fetchone()
        except psycopg.Error as exc:
            raise _translate(exc, self.where) from exc

    async def fetchall(self, query: str, params: Params = None) -> list[tuple]:
        try:
            cursor = await self.raw.execute(query, params)
            return await cursor.fetchall()
        except psycopg.Error as exc:
            raise _translate(exc, self.where) from exc

    async def iterate(self, query: str, params: Params = None) -> AsyncIterator[tuple]:
        try:
            async with self.raw.cursor() as cursor:
                await cursor.execute(query, params)
                async for row in cursor:
                    yield row
        except psycopg.Error as exc:
            raise _translate(exc, self.where) from exc


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
        acquire_timeout: float = 30.0,
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
        self.acquire_timeout = acquire_timeout
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
        where = f"PostgreSQL database {self.database!r} at {self.host}:{self.port}"
        return where if self.user is None else f"{where} as {self.user!r}"

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
                    reason = " ".join(str(exc).split()) or type(exc).__name__
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
            timeout=self.acquire_timeout,
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
    async def _checkout(self) -> AsyncIterator[psycopg.AsyncConnection]:
        assert self._pool is not None
        try:
            async with self._pool.connection() as raw:
                yield raw
        except PoolTimeout as exc:
            raise MinosDatabaseConnectionException(
                f"No connection of the {self.description} was free within "
                f"{self.acquire_timeout} s (pool size {self.max_size})"
            ) from exc
        except psycopg.Error as exc:
            raise _translate(exc, self.description) from exc

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[DatabaseConnection]:
        async with self._checkout() as raw:
            yield PostgreSqlConnection(raw, self.description)

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[DatabaseConnection]:
        async with self._checkout() as raw, raw.transaction():
            yield PostgreSqlConnection(raw, self.description)

    async def notify(self, channel: str, payload: str = "") -> None:
        async with self.connection() as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        if not channel or len(channel.encode()) > 63:
            raise MinosDatabaseException(
                f"Invalid notification channel {channel!r}: use 1 to 63 bytes"
            )
        queue: asyncio.Queue[str] = asyncio.Queue()
        connected = asyncio.Event()
        task = asyncio.create_task(
            self._listen_forever(channel, queue, connected), name=f"listen:{channel}"
        )
        try:
            waiter = asyncio.ensure_future(connected.wait())
            await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if task.done():
                task.result()  # the first connection failed: say why
            yield queue
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen_forever(
        self, channel: str, queue: asyncio.Queue[str], connected: asyncio.Event
    ) -> None:
        """LISTEN on a dedicated connection; reconnect when it is lost.

        After a reconnection an empty payload is queued: notifications sent
        while disconnected are lost, so listeners should look for work.
        """
        delay = 0.1
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    **self._connection_kwargs(), autocommit=True
                )
            except psycopg.Error as exc:
                if not connected.is_set():
                    raise _translate(exc, self.description) from exc
                logger.warning("Reconnecting LISTEN %s failed: %s", channel, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            try:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                if connected.is_set():
                    queue.put_nowait("")
                connected.set()
                delay = 0.1
                async for notification in conn.notifies():
                    queue.put_nowait(notification.payload)
            except psycopg.Error as exc:
                logger.warning(
                    "LISTEN %s on the %s was interrupted (%s); reconnecting",
                    channel,
                    self.description,
                    " ".join(str(exc).split()),
                )
            finally:
                with contextlib.suppress(psycopg.Error):
                    await conn.close()
