"""The outbox: messages waiting in the database to be published.

Brokers insert rows through the caller's ambient transaction, so a message is
queued if and only if the change that produced it commits. The producer claims
rows in batches, publishes them and deletes them. A row that keeps failing is
parked with its last error, where ``parked()`` shows it and ``requeue()`` puts
it back.

Claims are serialized (an advisory lock on PostgreSQL, the single writer on
SQLite) and leased, so two producers never publish a row at the same time, and
a row is claimable only when no earlier row with the same key is claimed or
waiting for a retry, so rows of one key are published in order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from minos.common import DatabasePool
from minos.common.repository.schema import ensure_schema

__all__ = ["Outbox", "OutboxRow", "PENDING", "PARKED"]

PENDING = "pending"
PARKED = "parked"

# Serializes claims of the producers sharing one PostgreSQL outbox.
_CLAIM_LOCK = 0x6D696E6F7301

_ID_COLUMN = {
    "postgresql": "id BIGSERIAL PRIMARY KEY",
    "sqlite": "id INTEGER PRIMARY KEY AUTOINCREMENT",
}


def _ddl(dialect: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS producer_queue ("
        f"{_ID_COLUMN[dialect]}, "
        "topic TEXT NOT NULL, "
        "key TEXT, "
        "payload BYTEA NOT NULL, "
        "headers TEXT NOT NULL, "
        "created_at TIMESTAMPTZ NOT NULL, "
        "attempts INTEGER NOT NULL DEFAULT 0, "
        "last_error TEXT, "
        "state TEXT NOT NULL DEFAULT 'pending' "
        "CHECK (state IN ('pending', 'parked')), "
        "available_at DOUBLE PRECISION NOT NULL, "
        "claimed_by TEXT, "
        "claimed_until DOUBLE PRECISION)",
        "CREATE INDEX IF NOT EXISTS producer_queue_state ON producer_queue (state, id)",
        "CREATE INDEX IF NOT EXISTS producer_queue_key ON producer_queue (key, id)",
        *_NOTIFY_TRIGGER.get(dialect, ()),
    ]


# On PostgreSQL the table wakes the producers itself, once per INSERT
# statement and at commit: queueing a message costs no extra round trip.
_NOTIFY_TRIGGER = {
    "postgresql": (
        "CREATE OR REPLACE FUNCTION minos_producer_queue_notify() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('producer_queue', ''); "
        "RETURN NULL; END $$",
        "DROP TRIGGER IF EXISTS producer_queue_notify ON producer_queue",
        "CREATE TRIGGER producer_queue_notify AFTER INSERT ON producer_queue "
        "FOR EACH STATEMENT EXECUTE FUNCTION minos_producer_queue_notify()",
    )
}


_COLUMNS = "id, topic, key, payload, headers, created_at, attempts, last_error, state"

_INSERT = (
    "INSERT INTO producer_queue (topic, key, payload, headers, created_at, "
    "available_at) VALUES (%s, %s, %s, %s, %s, %s)"
)

# A row is claimable when it is pending, due, not leased by a live claim, and
# no earlier row of its key is leased or waiting for a retry.
_CLAIM = (
    "UPDATE producer_queue SET claimed_by = %(owner)s, claimed_until = %(until)s "
    "WHERE id IN ("
    "SELECT q.id FROM producer_queue q "
    "WHERE q.state = 'pending' AND q.available_at <= %(now)s "
    "AND (q.claimed_until IS NULL OR q.claimed_until < %(now)s) "
    "AND NOT EXISTS ("
    "SELECT 1 FROM producer_queue e "
    "WHERE e.key = q.key AND e.id < q.id AND e.state = 'pending' "
    "AND (e.available_at > %(now)s OR e.claimed_until >= %(now)s)) "
    "ORDER BY q.id LIMIT %(limit)s{lock}) "
    f"RETURNING {_COLUMNS}"
)

_CLAIM_SUFFIX = {"postgresql": " FOR UPDATE OF q SKIP LOCKED", "sqlite": ""}

_DELETE = "DELETE FROM producer_queue WHERE id = %s"

_RENEW = (
    "UPDATE producer_queue SET claimed_until = %s "
    "WHERE id = %s AND claimed_by = %s AND state = 'pending'"
)

_RELEASE = (
    "UPDATE producer_queue SET claimed_by = NULL, claimed_until = NULL, "
    "available_at = %s WHERE id = %s"
)

_FAIL = (
    "UPDATE producer_queue SET attempts = attempts + 1, last_error = %(error)s, "
    "claimed_by = NULL, claimed_until = NULL, available_at = %(available_at)s, "
    "state = CASE WHEN attempts + 1 > %(retry)s THEN 'parked' ELSE 'pending' END "
    "WHERE id = %(id)s RETURNING state"
)

_REQUEUE = (
    "UPDATE producer_queue SET state = 'pending', attempts = 0, "
    "claimed_by = NULL, claimed_until = NULL, available_at = %s "
    "WHERE state = 'parked' AND id = %s"
)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One queued message."""

    id: int
    topic: str
    key: str | None
    payload: bytes
    headers: dict[str, str]
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None
    state: str = PENDING

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> OutboxRow:
        return cls(
            id=row[0],
            topic=row[1],
            key=row[2],
            payload=bytes(row[3]),
            headers=json.loads(row[4]),
            created_at=row[5],
            attempts=row[6],
            last_error=row[7],
            state=row[8],
        )


class Outbox:
    """The ``producer_queue`` table of one database."""

    component = "producer_queue"
    channel = "producer_queue"
    schema_version = 2

    def __init__(self, pool: DatabasePool) -> None:
        self.pool = pool

    async def create_schema(self) -> None:
        """Create the table if it does not exist yet."""
        await ensure_schema(
            self.pool, self.component, self.schema_version, _ddl(self.pool.dialect)
        )

    async def enqueue(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue one message, in the caller's transaction when one is open."""
        values = (
            topic,
            key,
            payload,
            json.dumps(dict(headers or {})),
            datetime.now(UTC),
            time.time(),
        )
        async with self.pool.connection() as conn:
            await conn.execute(_INSERT, values)
        if self.pool.dialect not in _NOTIFY_TRIGGER:
            await self.pool.notify(self.channel)

    async def claim(self, limit: int, *, owner: str, lease: float) -> list[OutboxRow]:
        """Lease up to ``limit`` publishable rows to ``owner``, oldest first."""
        now = time.time()
        params = {"owner": owner, "until": now + lease, "now": now, "limit": limit}
        query = _CLAIM.format(lock=_CLAIM_SUFFIX[self.pool.dialect])
        async with self.pool.transaction() as conn:
            if self.pool.dialect == "postgresql":
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CLAIM_LOCK,))
            rows = await conn.fetchall(query, params)
        return sorted((OutboxRow.from_row(row) for row in rows), key=lambda r: r.id)

    async def renew(self, ids: Iterable[int], *, owner: str, lease: float) -> None:
        """Extend ``owner``'s lease of rows it is still publishing."""
        until = time.time() + lease
        params = [(until, id_, owner) for id_ in ids]
        if params:
            async with self.pool.transaction() as conn:
                await conn.executemany(_RENEW, params)

    async def delete(self, ids: Iterable[int]) -> None:
        """Remove rows that were published."""
        ids = [(id_,) for id_ in ids]
        if ids:
            async with self.pool.transaction() as conn:
                await conn.executemany(_DELETE, ids)

    async def release(self, ids: Iterable[int], *, delay: float = 0.0) -> None:
        """Give back claimed rows untouched (the broker was unreachable)."""
        available_at = time.time() + delay
        params = [(available_at, id_) for id_ in ids]
        if params:
            async with self.pool.transaction() as conn:
                await conn.executemany(_RELEASE, params)

    async def fail(self, id_: int, error: str, *, retry: int, delay: float) -> bool:
        """Record a failed attempt; park the row after ``retry`` retries.

        Returns whether the row is now parked.
        """
        params = {
            "id": id_,
            "error": error,
            "retry": retry,
            "available_at": time.time() + delay,
        }
        async with self.pool.transaction() as conn:
            row = await conn.fetchone(_FAIL, params)
        return row is not None and row[0] == PARKED

    async def parked(self, limit: int = 100) -> list[OutboxRow]:
        """The parked rows, oldest first, with their last error."""
        async with self.pool.connection() as conn:
            rows = await conn.fetchall(
                f"SELECT {_COLUMNS} FROM producer_queue WHERE state = 'parked' "
                "ORDER BY id LIMIT %s",
                (limit,),
            )
        return [OutboxRow.from_row(row) for row in rows]

    async def requeue(self, ids: Iterable[int] | None = None) -> int:
        """Put parked rows (all of them by default) back in the queue."""
        async with self.pool.transaction() as conn:
            if ids is None:
                rows = await conn.fetchall(
                    "SELECT id FROM producer_queue WHERE state = 'parked'"
                )
                ids = [row[0] for row in rows]
            now = time.time()
            count = 0
            for id_ in ids:
                count += await conn.execute(_REQUEUE, (now, id_))
        if count:
            await self.pool.notify(self.channel)
        return count

    async def count(self, state: str | None = None) -> int:
        """How many rows there are (in ``state``, if given)."""
        async with self.pool.connection() as conn:
            if state is None:
                row = await conn.fetchone("SELECT COUNT(*) FROM producer_queue")
            else:
                row = await conn.fetchone(
                    "SELECT COUNT(*) FROM producer_queue WHERE state = %s", (state,)
                )
        return int(row[0]) if row else 0
