"""The event store on a SQL database: PostgreSQL, or SQLite as embedded default."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self
from uuid import UUID

from ..database import DatabasePool, PostgreSqlBacked, SqliteBacked
from .abc import SELECT_FILTERS, MinosRepository, conflict_error, follows
from .entries import Action, RepositoryEntry
from .schema import ensure_schema

if TYPE_CHECKING:
    from ..config import MinosConfig

__all__ = ["DatabaseRepository", "PostgreSqlRepository", "SqliteRepository"]

_DDL: dict[str, list[str]] = {
    "postgresql": [
        "CREATE TABLE IF NOT EXISTS aggregate_event ("
        "id BIGSERIAL PRIMARY KEY, "
        "action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')), "
        "aggregate_uuid UUID NOT NULL, "
        "aggregate_name TEXT NOT NULL, "
        "version INTEGER NOT NULL, "
        "data BYTEA NOT NULL, "
        "created_at TIMESTAMPTZ NOT NULL, "
        "UNIQUE (aggregate_uuid, version))",
    ],
    "sqlite": [
        "CREATE TABLE IF NOT EXISTS aggregate_event ("
        "id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')), "
        "aggregate_uuid UUID NOT NULL, "
        "aggregate_name TEXT NOT NULL, "
        "version INTEGER NOT NULL, "
        "data BYTEA NOT NULL, "
        "created_at TIMESTAMPTZ NOT NULL, "
        "UNIQUE (aggregate_uuid, version))",
    ],
}

_COLUMNS = "id, action, aggregate_uuid, aggregate_name, version, data, created_at"

_INSERT_FIRST = (
    "INSERT INTO aggregate_event "
    "(action, aggregate_uuid, aggregate_name, version, data, created_at) "
    "VALUES ('create', %(uuid)s, %(name)s, 1, %(data)s, %(created_at)s) "
    "ON CONFLICT (aggregate_uuid, version) DO NOTHING RETURNING id"
)

# Stores version n only after a stored version n - 1 that is not a deletion;
# the unique key turns a concurrent second writer of version n into no row.
_INSERT_NEXT = (
    "INSERT INTO aggregate_event "
    "(action, aggregate_uuid, aggregate_name, version, data, created_at) "
    "SELECT CAST(%(action)s AS TEXT), aggregate_uuid, CAST(%(name)s AS TEXT), "
    "%(version)s, %(data)s, %(created_at)s "
    "FROM aggregate_event "
    "WHERE aggregate_uuid = %(uuid)s AND version = %(previous)s "
    "AND action <> 'delete' "
    "ON CONFLICT (aggregate_uuid, version) DO NOTHING RETURNING id"
)

_LAST = (
    "SELECT version, action, aggregate_name FROM aggregate_event "
    "WHERE aggregate_uuid = %s ORDER BY version DESC LIMIT 1"
)

_PAGE = 500

_CONNECTION_KEYS = ("host", "port", "database", "user", "password")


class DatabaseRepository(MinosRepository):
    """The event store in the ``aggregate_event`` table of a shared pool.

    ``transaction()`` is the pool's: the broker's outbox and the snapshot store
    join it when they use the same database.
    """

    schema_version: ClassVar[int] = 1

    def __init__(self, *args: Any, pool: DatabasePool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        """The backend the ``repository`` section names (SQLite with ``path``)."""
        return cls.from_settings({**config.repository._asdict(), **kwargs})

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Any:
        """A repository for a config section: SQLite if it has ``path``."""
        if settings.get("path"):
            return SqliteRepository(path=settings["path"])
        return PostgreSqlRepository(
            **{key: settings[key] for key in _CONNECTION_KEYS if key in settings}
        )

    async def _setup(self) -> None:
        await self.pool.setup()
        await ensure_schema(
            self.pool,
            "aggregate_event",
            self.schema_version,
            _DDL[self.pool.dialect],
        )

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self.pool.transaction()

    async def after_commit(self, callback: Callable[[], Awaitable[Any]]) -> None:
        await self.pool.after_commit(callback)

    async def _submit(
        self,
        entry: RepositoryEntry,
        *,
        then: tuple[str, Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> RepositoryEntry:
        """Insert the entry; on PostgreSQL, ``then`` is a statement (and its named
        parameters) run in the same statement only if the entry is stored, reading
        the new row from a CTE named ``event`` (the snapshot row, for instance)."""
        async with self.pool.connection() as conn:
            version = entry.version
            if version is None:
                last, owner = await self._last(conn, entry.aggregate_uuid)
                version = follows(entry, last)
                if version is None:
                    raise conflict_error(entry, last, owner)
            params = {
                "action": entry.action.value,
                "uuid": entry.aggregate_uuid,
                "name": entry.aggregate_name,
                "version": version,
                "previous": version - 1,
                "data": entry.data,
                "created_at": entry.created_at,
            }
            query = None
            if entry.action is Action.CREATE and version == 1:
                query = _INSERT_FIRST
            elif entry.action is not Action.CREATE and version > 1:
                query = _INSERT_NEXT
            if query is not None and then is not None:
                if self.pool.dialect != "postgresql":
                    raise ValueError("statements chained to an event need PostgreSQL")
                statement, extra = then
                query = (
                    f"WITH event AS ({query}), then_ AS ({statement}) "
                    "SELECT id FROM event"
                )
                params = {**extra, **params}
            row = await conn.fetchone(query, params) if query is not None else None
            if row is None:
                last, owner = await self._last(conn, entry.aggregate_uuid)
                raise conflict_error(entry, last, owner)
        assert entry.created_at is not None
        return entry.stored(row[0], version, entry.created_at)

    @staticmethod
    async def _last(
        conn: Any, uuid: UUID
    ) -> tuple[tuple[int, Action] | None, str | None]:
        """The latest version and action of an aggregate, and its stored class."""
        row = await conn.fetchone(_LAST, (uuid,))
        if row is None:
            return None, None
        return (row[0], Action.value_of(row[1])), row[2]

    async def _select(
        self, filters: dict[str, Any], limit: int | None
    ) -> AsyncIterator[RepositoryEntry]:
        conditions = []
        for key in filters:
            column, operator = SELECT_FILTERS[key]
            conditions.append(f"{column} {operator} %({key})s")
        conditions.append("id > %(after)s")
        query = (
            f"SELECT {_COLUMNS} FROM aggregate_event "
            f"WHERE {' AND '.join(conditions)} ORDER BY id LIMIT %(page)s"
        )
        # Pages by id so no connection is held while the caller works on rows.
        after, remaining = 0, limit
        while remaining is None or remaining > 0:
            page = _PAGE if remaining is None else min(_PAGE, remaining)
            params = {**filters, "after": after, "page": page}
            async with self.pool.connection() as conn:
                rows = await conn.fetchall(query, params)
            for row in rows:
                yield _entry(row)
            if len(rows) < page:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    async def last_version(self, aggregate_uuid: UUID) -> int | None:
        await self.setup()
        async with self.pool.connection() as conn:
            row = await conn.fetchone(
                "SELECT MAX(version) FROM aggregate_event WHERE aggregate_uuid = %s",
                (aggregate_uuid,),
            )
        return row[0] if row is not None else None

    async def last_id(self) -> int:
        await self.setup()
        async with self.pool.connection() as conn:
            row = await conn.fetchone("SELECT MAX(id) FROM aggregate_event")
        return row[0] if row is not None and row[0] is not None else 0


def _entry(row: tuple) -> RepositoryEntry:
    id_, action, uuid, name, version, data, created_at = row
    if not isinstance(uuid, UUID):
        uuid = UUID(str(uuid))
    return RepositoryEntry(
        aggregate_uuid=uuid,
        aggregate_name=name,
        version=version,
        data=bytes(data),
        action=Action.value_of(action),
        created_at=created_at,
        id=id_,
    )


class PostgreSqlRepository(PostgreSqlBacked, DatabaseRepository):
    """The event store in PostgreSQL (the ``repository`` section's database)."""


class SqliteRepository(SqliteBacked, DatabaseRepository):
    """The event store in a SQLite file (the embedded default)."""
