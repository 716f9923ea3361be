"""SQLite through aiosqlite: the embedded default, one file per database.

One connection per file, in WAL mode, shared by every task of the process:
SQLite has a single writer anyway, and one connection behind an asyncio lock
serializes writers without "database is locked" retries. Notifications are
delivered in process, to listeners of the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Hashable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import aiosqlite

from ..exceptions import MinosDatabaseConnectionException, MinosDatabaseException
from .abc import (
    DatabaseConnection,
    DatabasePool,
    MinosDatabaseIntegrityException,
    Params,
)

__all__ = ["SqliteConnection", "SqlitePool", "translate_placeholders"]

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")


def translate_placeholders(query: str) -> str:
    """Turn psycopg placeholders (``%s``, ``%(name)s``) into SQLite's."""

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "%%":
            return "%"
        if text == "%s":
            return "?"
        return f":{match.group(1)}"

    return _PLACEHOLDER.sub(replace, query)


def _utc_text(value: datetime) -> str:
    """One fixed-width UTC form, so that text order is time order.

    A naive datetime is taken to be in UTC already.
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _translate(exc: sqlite3.Error, where: str) -> MinosDatabaseException:
    if isinstance(exc, sqlite3.IntegrityError):
        return MinosDatabaseIntegrityException(f"{where}: {exc}")
    return MinosDatabaseException(f"{where}: {exc}")


def _register_types() -> None:
    sqlite3.register_adapter(UUID, str)
    sqlite3.register_adapter(datetime, _utc_text)
    sqlite3.register_adapter(date, date.isoformat)
    sqlite3.register_adapter(Decimal, str)
    sqlite3.register_converter("UUID", lambda raw: UUID(raw.decode()))
    sqlite3.register_converter(
        "TIMESTAMPTZ", lambda raw: datetime.fromisoformat(raw.decode())
    )
    sqlite3.register_converter("BOOLEAN", lambda raw: raw not in (b"0", b""))


_register_types()


class SqliteConnection(DatabaseConnection):
    """An aiosqlite connection behind the common interface."""

    __slots__ = ("raw", "where")

    def __init__(self, raw: aiosqlite.Connection, where: str = "SQLite") -> None:
        self.raw = raw
        self.where = where

    async def execute(self, query: str, params: Params = None) -> int:
        try:
            cursor = await self.raw.execute(translate_placeholders(query), params or ())
        except sqlite3.Error as exc:
            raise _translate(exc, self.where) from exc
        rowcount = cursor.rowcount
        await cursor.close()
        return rowcount

    async def executemany(self, query: str, params: Iterable[Params]) -> None:
        try:
            await self.raw.executemany(translate_placeholders(query), params)
        except sqlite3.Error as exc:
            raise _translate(exc, self.where) from exc

    async def fetchone(self, query: str, params: Params = None) -> tuple | None:
        try:
            cursor = await self.raw.execute(translate_placeholders(query), params or ())
            row = await cursor.fetchone()
        except sqlite3.Error as exc:
            raise _translate(exc, self.where) from exc
        await cursor.close()
        return tuple(row) if row is not None else None

    async def fetchall(self, query: str, params: Params = None) -> list[tuple]:
        try:
            cursor = await self.raw.execute(translate_placeholders(query), params or ())
            rows = await cursor.fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, self.where) from exc
        await cursor.close()
        return [tuple(row) for row in rows]


class SqlitePool(DatabasePool):
    """The connection to one SQLite file."""

    dialect: ClassVar[str] = "sqlite"

    # Listeners of every file in this process: (path, channel) -> queues.
    _listeners: ClassVar[dict[tuple[str, str], set[asyncio.Queue[str]]]] = {}

    def __init__(self, path: str | Path = "minos.sqlite3", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = str(Path(path).expanduser().resolve())
        self._raw: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._pending: list[tuple[str, str]] | None = None

    @classmethod
    def _settings_key(cls, settings: Mapping[str, Any]) -> Hashable:
        return str(Path(settings.get("path", "minos.sqlite3")).expanduser().resolve())

    @property
    def description(self) -> str:
        return f"SQLite database at {self.path}"

    def _prepare_folder(self) -> None:
        """Create the file's folder; refuse a path that is a folder itself."""
        path = Path(self.path)
        try:
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a directory")
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MinosDatabaseConnectionException(
                f"Cannot open the {self.description}: {exc}"
            ) from exc

    async def _setup(self) -> None:
        self._prepare_folder()
        connection = aiosqlite.connect(
            self.path, isolation_level=None, detect_types=sqlite3.PARSE_DECLTYPES
        )
        # A pool never closed must not keep the process from exiting: its
        # worker thread is a daemon (committed data is already on disk).
        worker = getattr(connection, "_thread", None)
        if isinstance(worker, threading.Thread):
            worker.daemon = True
        try:
            raw = await connection
        except (OSError, sqlite3.Error) as exc:
            stopping = connection.stop()  # its worker thread outlives a failure
            if stopping is not None:
                await stopping
            raise MinosDatabaseConnectionException(
                f"Cannot open the {self.description}: {exc}"
            ) from exc
        await raw.execute("PRAGMA journal_mode=WAL")
        await raw.execute("PRAGMA synchronous=NORMAL")
        await raw.execute("PRAGMA busy_timeout=10000")
        await raw.execute("PRAGMA foreign_keys=ON")
        self._raw = raw

    async def _destroy(self) -> None:
        await super()._destroy()
        if self._raw is not None:
            await self._raw.close()
            self._raw = None

    # Limitation: a task holding a transaction that waits for another task
    # needing this database, in a context that does not inherit the
    # transaction, waits forever (one connection, one lock). Tasks created
    # inside the transaction block join it and are not affected.
    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[DatabaseConnection]:
        assert self._raw is not None
        async with self._lock:
            yield SqliteConnection(self._raw, self.description)

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[DatabaseConnection]:
        assert self._raw is not None
        async with self._lock:
            self._pending = []
            await self._raw.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteConnection(self._raw, self.description)
            except BaseException:
                self._pending = None
                await self._raw.execute("ROLLBACK")
                raise
            await self._raw.execute("COMMIT")
            pending, self._pending = self._pending, None
        for channel, payload in pending:
            self._deliver(channel, payload)

    async def notify(self, channel: str, payload: str = "") -> None:
        if self.in_transaction and self._pending is not None:
            self._pending.append((channel, payload))
        else:
            self._deliver(channel, payload)

    def _deliver(self, channel: str, payload: str) -> None:
        for queue in self._listeners.get((self.path, channel), ()):
            queue.put_nowait(payload)

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        listeners = self._listeners.setdefault((self.path, channel), set())
        listeners.add(queue)
        try:
            yield queue
        finally:
            listeners.discard(queue)
