"""The snapshot store on a SQL database: PostgreSQL (JSONB) or SQLite (JSON text)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self
from uuid import UUID

import orjson

from ..aggregate.diffs import AggregateDiff
from ..aggregate.model import Aggregate
from ..database import DatabasePool, PostgreSqlBacked, SqliteBacked
from ..repository.abc import MinosRepository
from ..repository.database import DatabaseRepository
from ..repository.entries import RepositoryEntry
from ..repository.schema import ensure_schema
from .abc import MinosSnapshot, SnapshotRow
from .conditions import Condition
from .documents import document_value
from .ordering import Ordering
from .queries import compile_condition, compile_ordering

if TYPE_CHECKING:
    from ..config import MinosConfig

__all__ = ["DatabaseSnapshot", "PostgreSqlSnapshot", "SqliteSnapshot"]

_DATA_TYPE = {"postgresql": "JSONB", "sqlite": "TEXT"}
_OFFSET_TYPE = {"postgresql": "BIGINT", "sqlite": "INTEGER"}


def _ddl(dialect: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS aggregate_snapshot ("
        "aggregate_uuid UUID PRIMARY KEY, "
        "aggregate_name TEXT NOT NULL, "
        "version INTEGER NOT NULL, "
        f"data {_DATA_TYPE[dialect]}, "
        "created_at TIMESTAMPTZ NOT NULL, "
        "updated_at TIMESTAMPTZ NOT NULL)",
        "CREATE INDEX IF NOT EXISTS aggregate_snapshot_name "
        "ON aggregate_snapshot (aggregate_name, created_at)",
        "CREATE TABLE IF NOT EXISTS aggregate_snapshot_offset ("
        f"source TEXT PRIMARY KEY, last_id {_OFFSET_TYPE[dialect]} NOT NULL)",
    ]


_DATA_PARAM = {"postgresql": "CAST(%s AS JSONB)", "sqlite": "%s"}

_UPSERT = (
    "INSERT INTO aggregate_snapshot "
    "(aggregate_uuid, aggregate_name, version, data, created_at, updated_at) "
    "VALUES (%s, %s, %s, {data}, %s, %s) "
    "ON CONFLICT (aggregate_uuid) DO UPDATE SET "
    "aggregate_name = excluded.aggregate_name, version = excluded.version, "
    "data = excluded.data, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at "
    "WHERE aggregate_snapshot.version < excluded.version"
)

# Runs after the event insert of ``DatabaseRepository._submit`` (CTE ``event``),
# so the event row and the snapshot row take one round trip on PostgreSQL.
_UPSERT_AFTER_EVENT = (
    "INSERT INTO aggregate_snapshot "
    "(aggregate_uuid, aggregate_name, version, data, created_at, updated_at) "
    "SELECT %(snapshot_uuid)s, CAST(%(snapshot_name)s AS TEXT), "
    "CAST(%(snapshot_version)s AS INTEGER), CAST(%(snapshot_data)s AS JSONB), "
    "%(snapshot_created_at)s, %(snapshot_updated_at)s FROM event "
    "ON CONFLICT (aggregate_uuid) DO UPDATE SET "
    "aggregate_name = excluded.aggregate_name, version = excluded.version, "
    "data = excluded.data, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at "
    "WHERE aggregate_snapshot.version < excluded.version"
)

_LOAD = (
    "SELECT aggregate_name, version, data, created_at, updated_at "
    "FROM aggregate_snapshot WHERE aggregate_uuid = %s"
)

# One round trip for ``get`` when the event store shares the database.
_LOAD_WITH_LAST = (
    "SELECT s.aggregate_name, s.version, s.data, s.created_at, s.updated_at, "
    "(SELECT MAX(version) FROM aggregate_event WHERE aggregate_uuid = %s) "
    "FROM (SELECT 1 AS one) AS o "
    "LEFT JOIN aggregate_snapshot AS s ON s.aggregate_uuid = %s"
)

_OFFSET_SOURCE = "aggregate_event"

_CONNECTION_KEYS = ("host", "port", "database", "user", "password")

_CHUNK = 500

# The SQL of ``Condition.TRUE``.
_ALL = compile_condition(Condition.TRUE, "sqlite")[0]


def _document(data: Any) -> dict[str, Any] | None:
    """A stored document, or ``None`` when it is not a JSON object."""
    if isinstance(data, str | bytes):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
    return data if isinstance(data, dict) else None


class DatabaseSnapshot(MinosSnapshot):
    """The ``aggregate_snapshot`` table of a shared pool.

    With the event store in the same database, ``Aggregate.save`` writes the
    snapshot row in the event's transaction and ``get`` checks the event store
    in the same query, so neither ``get`` nor ``find`` replays anything.
    """

    schema_version: ClassVar[int] = 1

    def __init__(self, *args: Any, pool: DatabasePool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        """The backend the ``snapshot`` section names (SQLite with ``path``)."""
        return cls.from_settings({**config.snapshot._asdict(), **kwargs})

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], repository: MinosRepository | None = None
    ) -> Any:
        """A snapshot store for a config section: SQLite if it has ``path``."""
        extra = {"repository": repository or settings.get("repository")}
        extra = {key: value for key, value in extra.items() if value is not None}
        if settings.get("path"):
            return SqliteSnapshot(path=settings["path"], **extra)
        keys = {key: settings[key] for key in _CONNECTION_KEYS if key in settings}
        return PostgreSqlSnapshot(**keys, **extra)

    @property
    def _find_synchronizes(self) -> bool:  # type: ignore[override]
        repository = self.repository
        return repository is not None and not self.joins_transaction_of(repository)

    def joins_transaction_of(self, repository: MinosRepository) -> bool:
        return (
            isinstance(repository, DatabaseRepository) and repository.pool is self.pool
        )

    async def store_with_event(
        self,
        repository: MinosRepository,
        diff: AggregateDiff,
        aggregate: Aggregate,
        *,
        deleted: bool = False,
    ) -> RepositoryEntry:
        if self.pool.dialect != "postgresql" or not self.joins_transaction_of(
            repository
        ):
            return await super().store_with_event(
                repository, diff, aggregate, deleted=deleted
            )
        document = None if deleted else orjson.dumps(document_value(aggregate))
        then = {
            "snapshot_uuid": aggregate.uuid,
            "snapshot_name": aggregate.classname,
            "snapshot_version": aggregate.version,
            "snapshot_data": document.decode() if document is not None else None,
            "snapshot_created_at": aggregate.created_at,
            "snapshot_updated_at": aggregate.updated_at,
        }
        return await repository.submit(diff, then=(_UPSERT_AFTER_EVENT, then))

    async def _setup(self) -> None:
        await self.pool.setup()
        await ensure_schema(
            self.pool,
            "aggregate_snapshot",
            self.schema_version,
            _ddl(self.pool.dialect),
        )
        repository = self.repository
        if repository is not None:
            await repository.setup()

    def _row(self, uuid: UUID, values: tuple) -> SnapshotRow | None:
        name, version, data, created_at, updated_at = values
        if name is None:
            return None
        if data is not None:
            # A damaged document reads as an empty one, which ``get`` repairs.
            data = _document(data) or {}
        return SnapshotRow(uuid, name, version, data, created_at, updated_at)

    async def _load(self, uuid: UUID) -> SnapshotRow | None:
        async with self.pool.connection() as conn:
            values = await conn.fetchone(_LOAD, (uuid,))
        return self._row(uuid, values) if values is not None else None

    async def _load_with_last_version(
        self, uuid: UUID
    ) -> tuple[SnapshotRow | None, int | None]:
        repository = self.repository
        if repository is None or not self.joins_transaction_of(repository):
            return await super()._load_with_last_version(uuid)
        async with self.pool.connection() as conn:
            values = await conn.fetchone(_LOAD_WITH_LAST, (uuid, uuid))
        assert values is not None
        return self._row(uuid, values[:5]), values[5]

    async def _load_versions(self, uuids: Iterable[UUID]) -> dict[UUID, int]:
        uuids = list(uuids)
        found: dict[UUID, int] = {}
        for start in range(0, len(uuids), _CHUNK):
            chunk = uuids[start : start + _CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            query = (
                "SELECT aggregate_uuid, version FROM aggregate_snapshot "
                f"WHERE aggregate_uuid IN ({marks})"
            )
            async with self.pool.connection() as conn:
                rows = await conn.fetchall(query, chunk)
            for uuid, version in rows:
                found[uuid if isinstance(uuid, UUID) else UUID(str(uuid))] = version
        return found

    async def _is_empty(self) -> bool:
        async with self.pool.connection() as conn:
            return (
                await conn.fetchone("SELECT 1 FROM aggregate_snapshot LIMIT 1") is None
            )

    async def _reset(self) -> None:
        async with self.pool.transaction() as conn:
            await conn.execute("DELETE FROM aggregate_snapshot")
            await conn.execute(
                "DELETE FROM aggregate_snapshot_offset WHERE source = %s",
                (_OFFSET_SOURCE,),
            )

    async def _remove(self, uuid: UUID) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "DELETE FROM aggregate_snapshot WHERE aggregate_uuid = %s", (uuid,)
            )

    async def _save(self, row: SnapshotRow) -> None:
        data = None if row.document is None else orjson.dumps(row.document).decode()
        query = _UPSERT.format(data=_DATA_PARAM[self.pool.dialect])
        params = (row.uuid, row.name, row.version, data, row.created_at, row.updated_at)
        async with self.pool.connection() as conn:
            await conn.execute(query, params)

    async def _query(
        self,
        name: str,
        condition: Condition,
        ordering: Ordering | None,
        limit: int | None,
    ) -> list[tuple[UUID, dict[str, Any] | None]]:
        where, params = compile_condition(condition, self.pool.dialect)
        if self.pool.dialect == "sqlite":
            # A damaged (non-JSON) row would fail the JSON functions of the
            # whole query; it is only read when nothing is filtered.
            damaged = "1" if where == _ALL else "0"
            where = f"(CASE WHEN json_valid(data) THEN {where} ELSE {damaged} END)"
        query = (
            "SELECT aggregate_uuid, data FROM aggregate_snapshot "
            f"WHERE aggregate_name = %s AND data IS NOT NULL AND {where} ORDER BY "
        )
        params = [name, *params]
        if ordering is not None:
            order, order_params = compile_ordering(ordering, self.pool.dialect)
            query += f"{order}, "
            params += order_params
        query += "created_at, aggregate_uuid"
        if limit is not None:
            query += " LIMIT %s"
            params.append(limit)
        async with self.pool.connection() as conn:
            rows = await conn.fetchall(query, params)
        return [
            (uuid if isinstance(uuid, UUID) else UUID(str(uuid)), _document(data))
            for uuid, data in rows
        ]

    async def _get_offset(self) -> int:
        async with self.pool.connection() as conn:
            row = await conn.fetchone(
                "SELECT last_id FROM aggregate_snapshot_offset WHERE source = %s",
                (_OFFSET_SOURCE,),
            )
        return row[0] if row is not None else 0

    async def _set_offset(self, value: int) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO aggregate_snapshot_offset (source, last_id) "
                "VALUES (%s, %s) ON CONFLICT (source) DO UPDATE SET last_id = "
                "excluded.last_id WHERE aggregate_snapshot_offset.last_id "
                "< excluded.last_id",
                (_OFFSET_SOURCE, value),
            )


class PostgreSqlSnapshot(PostgreSqlBacked, DatabaseSnapshot):
    """Snapshots in PostgreSQL (the ``snapshot`` section's database)."""


class SqliteSnapshot(SqliteBacked, DatabaseSnapshot):
    """Snapshots in a SQLite file (the embedded default)."""
