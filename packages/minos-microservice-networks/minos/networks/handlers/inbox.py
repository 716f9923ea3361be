"""The inbox: messages received from the broker, waiting for their handler.

The consumer stores each record before committing its offset, so nothing
acknowledged is lost. A record is stored once per handler kind: its message id
(or, for records without one, its topic, partition and offset) is unique, so
a redelivered record is ignored. Handled rows stay, marked ``done``, so later
duplicates are still recognised, until ``purge`` removes old ones.

A handler locks one row at a time, in a transaction that also holds the
handler's own writes when they use the same database, and only takes a row
when no earlier row of its key is still pending: rows of one key are handled
in order, rows of different keys concurrently.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from minos.common import DatabaseConnection, DatabasePool
from minos.common.repository.schema import ensure_schema

from ..messages import MESSAGE_ID_HEADER
from ..transport import IncomingRecord

__all__ = ["Inbox", "InboxRow", "DONE", "COMMAND", "EVENT", "REPLY"]

COMMAND = "command"
EVENT = "event"
REPLY = "reply"

DONE = "done"

_ID_COLUMN = {
    "postgresql": "id BIGSERIAL PRIMARY KEY",
    "sqlite": "id INTEGER PRIMARY KEY AUTOINCREMENT",
}


def _ddl(dialect: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS consumer_queue ("
        f"{_ID_COLUMN[dialect]}, "
        "handler TEXT NOT NULL, "
        "dedup_key TEXT NOT NULL, "
        "message_id UUID, "
        "topic TEXT NOT NULL, "
        "record_partition INTEGER NOT NULL, "
        "record_offset BIGINT NOT NULL, "
        "key TEXT, "
        "payload BYTEA NOT NULL, "
        "headers TEXT NOT NULL, "
        "created_at TIMESTAMPTZ NOT NULL, "
        "state TEXT NOT NULL DEFAULT 'pending' "
        "CHECK (state IN ('pending', 'done', 'parked')), "
        "attempts INTEGER NOT NULL DEFAULT 0, "
        "last_error TEXT, "
        "available_at DOUBLE PRECISION NOT NULL, "
        "handled_at TIMESTAMPTZ, "
        "UNIQUE (handler, dedup_key))",
        "CREATE INDEX IF NOT EXISTS consumer_queue_state "
        "ON consumer_queue (handler, state, id)",
        "CREATE INDEX IF NOT EXISTS consumer_queue_key "
        "ON consumer_queue (handler, key, id)",
    ]


_COLUMNS = (
    "id, handler, message_id, topic, record_partition, record_offset, key, "
    "payload, headers, created_at, state, attempts, last_error"
)

_INSERT = (
    "INSERT INTO consumer_queue (handler, dedup_key, message_id, topic, "
    "record_partition, record_offset, key, payload, headers, created_at, "
    "available_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (handler, dedup_key) DO NOTHING"
)

# Due pending rows whose key has no earlier row waiting for a retry: a key
# held back by a failing row must not fill the batch and stall the others.
_CANDIDATES = (
    "SELECT q.id, q.key FROM consumer_queue q "
    "WHERE q.handler = %(handler)s AND q.state = 'pending' "
    "AND q.available_at <= %(now)s "
    "AND NOT EXISTS (SELECT 1 FROM consumer_queue e WHERE e.handler = q.handler "
    "AND e.key = q.key AND e.id < q.id AND e.state = 'pending' "
    "AND e.available_at > %(now)s) "
    "ORDER BY q.id LIMIT %(limit)s"
)

# The row, if it is still pending and no earlier row of its key is.
_LOCK = (
    f"SELECT {_COLUMNS} FROM consumer_queue q "
    "WHERE q.id = %(id)s AND q.state = 'pending' AND q.available_at <= %(now)s "
    "AND NOT EXISTS (SELECT 1 FROM consumer_queue e WHERE e.handler = q.handler "
    "AND e.key = q.key AND e.id < q.id AND e.state = 'pending'){lock}"
)

_LOCK_SUFFIX = {"postgresql": " FOR UPDATE OF q SKIP LOCKED", "sqlite": ""}

_DONE = (
    "UPDATE consumer_queue SET state = 'done', attempts = attempts + 1, "
    "handled_at = %s, last_error = %s WHERE id = %s"
)

_FAIL = (
    "UPDATE consumer_queue SET attempts = attempts + 1, last_error = %(error)s, "
    "available_at = %(available_at)s, "
    "state = CASE WHEN attempts + 1 > %(retry)s THEN 'parked' ELSE 'pending' END "
    "WHERE id = %(id)s RETURNING state"
)

_PARK = (
    "UPDATE consumer_queue SET state = 'parked', attempts = attempts + 1, "
    "last_error = %s WHERE id = %s"
)

_REQUEUE = (
    "UPDATE consumer_queue SET state = 'pending', attempts = 0, available_at = %s "
    "WHERE state = 'parked' AND handler = %s AND id = %s"
)


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One received message."""

    id: int
    handler: str
    message_id: uuid.UUID | None
    topic: str
    partition: int
    offset: int
    key: str | None
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> InboxRow:
        return cls(
            id=row[0],
            handler=row[1],
            message_id=row[2],
            topic=row[3],
            partition=row[4],
            offset=row[5],
            key=row[6],
            payload=bytes(row[7]),
            headers=json.loads(row[8]),
            created_at=row[9],
            state=row[10],
            attempts=row[11],
            last_error=row[12],
        )


def _message_id(record: IncomingRecord) -> uuid.UUID | None:
    raw = record.header(MESSAGE_ID_HEADER)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw.decode())
    except (UnicodeDecodeError, ValueError):
        return None


def _headers(record: IncomingRecord) -> str:
    return json.dumps(
        {name: value.decode(errors="replace") for name, value in record.headers}
    )


class Inbox:
    """The ``consumer_queue`` table of one database."""

    component = "consumer_queue"
    schema_version = 1

    def __init__(self, pool: DatabasePool) -> None:
        self.pool = pool

    @staticmethod
    def channel(handler: str) -> str:
        """The notification channel that wakes the handlers of ``handler`` rows."""
        return f"consumer_queue_{handler}"

    async def create_schema(self) -> None:
        """Create the table if it does not exist yet."""
        await ensure_schema(
            self.pool, self.component, self.schema_version, _ddl(self.pool.dialect)
        )

    async def store(
        self, records: Iterable[tuple[str, IncomingRecord]]
    ) -> dict[str, int]:
        """Store ``(handler, record)`` pairs, skipping duplicates, and wake handlers.

        Returns how many rows each handler kind received.
        """
        now = datetime.now(UTC)
        due = time.time()
        params = []
        kinds: dict[str, int] = {}
        for handler, record in records:
            message_id = _message_id(record)
            if message_id is not None:
                dedup_key = f"id:{message_id}"
            else:
                dedup_key = f"at:{record.topic}:{record.partition}:{record.offset}"
            key = record.key.decode(errors="replace") if record.key else None
            params.append(
                (
                    handler,
                    dedup_key,
                    message_id,
                    record.topic,
                    record.partition,
                    record.offset,
                    key,
                    record.value,
                    _headers(record),
                    now,
                    due,
                )
            )
            kinds[handler] = kinds.get(handler, 0) + 1
        if not params:
            return {}
        async with self.pool.transaction() as conn:
            await conn.executemany(_INSERT, params)
            for handler in kinds:
                await self.pool.notify(self.channel(handler))
        return kinds

    async def candidates(
        self, handler: str, limit: int
    ) -> list[tuple[int, str | None]]:
        """``(id, key)`` of the oldest pending rows of ``handler``."""
        async with self.pool.connection() as conn:
            rows = await conn.fetchall(
                _CANDIDATES, {"handler": handler, "now": time.time(), "limit": limit}
            )
        return [(row[0], row[1]) for row in rows]

    async def lock(self, conn: DatabaseConnection, id_: int) -> InboxRow | None:
        """Lock row ``id_`` in the open transaction, if it is its turn."""
        query = _LOCK.format(lock=_LOCK_SUFFIX[self.pool.dialect])
        row = await conn.fetchone(query, {"id": id_, "now": time.time()})
        return InboxRow.from_row(row) if row is not None else None

    async def done(
        self, conn: DatabaseConnection, id_: int, error: str | None = None
    ) -> None:
        """Mark a row handled (``error`` records what the handler answered)."""
        await conn.execute(_DONE, (datetime.now(UTC), error, id_))

    async def fail(
        self,
        conn: DatabaseConnection,
        id_: int,
        error: str,
        *,
        retry: int,
        delay: float,
    ) -> bool:
        """Record a failed attempt; park the row after ``retry`` retries.

        Returns whether the row is now parked.
        """
        params = {
            "id": id_,
            "error": error,
            "retry": retry,
            "available_at": time.time() + delay,
        }
        row = await conn.fetchone(_FAIL, params)
        return row is not None and row[0] == "parked"

    async def park(self, conn: DatabaseConnection, id_: int, error: str) -> None:
        """Set a row aside at once (it can never be handled as it is)."""
        await conn.execute(_PARK, (error, id_))

    async def rows(
        self, handler: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[InboxRow]:
        """Rows, oldest first, optionally of one handler kind and state."""
        conditions, params = [], []
        if handler is not None:
            conditions.append("handler = %s")
            params.append(handler)
        if state is not None:
            conditions.append("state = %s")
            params.append(state)
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        async with self.pool.connection() as conn:
            rows = await conn.fetchall(
                f"SELECT {_COLUMNS} FROM consumer_queue {where}ORDER BY id LIMIT %s",
                (*params, limit),
            )
        return [InboxRow.from_row(row) for row in rows]

    async def requeue(self, handler: str, ids: Iterable[int] | None = None) -> int:
        """Put parked rows of ``handler`` (all by default) back in the queue."""
        async with self.pool.transaction() as conn:
            if ids is None:
                found = await conn.fetchall(
                    "SELECT id FROM consumer_queue "
                    "WHERE handler = %s AND state = 'parked'",
                    (handler,),
                )
                ids = [row[0] for row in found]
            now = time.time()
            count = 0
            for id_ in ids:
                count += await conn.execute(_REQUEUE, (now, handler, id_))
        if count:
            await self.pool.notify(self.channel(handler))
        return count

    async def purge(self, older_than: timedelta) -> int:
        """Delete handled rows older than ``older_than``; return how many."""
        cutoff = datetime.now(UTC) - older_than
        async with self.pool.transaction() as conn:
            return await conn.execute(
                "DELETE FROM consumer_queue WHERE state = 'done' AND handled_at < %s",
                (cutoff,),
            )
