"""A process that dies mid-save leaves neither the event nor its outbox rows; one
that dies right after ``save()`` returns leaves both (SQLite and real PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest

from minos.common import close_database_pools, database_pool

SERVICE = textwrap.dedent(
    '''
    """A service that saves one aggregate and then dies, as the test says."""

    import asyncio
    import json
    import os
    import sys

    from minos.common import (
        Aggregate,
        MinosBroker,
        PostgreSqlRepository,
        PostgreSqlSnapshot,
        encode_value,
    )


    class Book(Aggregate):
        title: str
        lent: int


    class DyingBroker(MinosBroker):
        """Queues into ``test_outbox``; dies after queueing ``die_after``."""

        def __init__(self, pool, die_after=None):
            super().__init__()
            self.pool = pool
            self.die_after = die_after

        async def _setup(self):
            ids = {
                "postgresql": "id BIGSERIAL PRIMARY KEY",
                "sqlite": "id INTEGER PRIMARY KEY AUTOINCREMENT",
            }[self.pool.dialect]
            async with self.pool.connection() as conn:
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS test_outbox ({ids}, "
                    "topic TEXT NOT NULL, payload BYTEA NOT NULL)"
                )

        async def send(self, data, topic, *, key=None, **kwargs):
            async with self.pool.connection() as conn:
                await conn.execute(
                    "INSERT INTO test_outbox (topic, payload) VALUES (%s, %s)",
                    (topic, encode_value(data)),
                )
            if topic == self.die_after:
                print("dying", flush=True)
                os._exit(3)


    async def main(settings, mode):
        repository = PostgreSqlRepository.from_settings(settings)
        snapshot = PostgreSqlSnapshot.from_settings(settings, repository=repository)
        broker = DyingBroker(repository.pool)
        kw = {"_repository": repository, "_snapshot": snapshot, "_broker": broker}
        book = await Book.create("Dune", 0, **kw)
        print("created", book.uuid, flush=True)
        if mode == "mid-save":
            broker.die_after = "BookUpdated"
        book.lent += 1
        await book.save()
        print("saved", flush=True)
        os._exit(0)  # no commit-on-close, no cleanup: the process just stops


    asyncio.run(main(json.loads(sys.argv[1]), sys.argv[2]))
    '''
)


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path):
    if request.param == "sqlite":
        return {"path": str(tmp_path / "service.sqlite3")}
    return dict(request.getfixturevalue("fresh_postgres_settings"))


def run_service(tmp_path, settings, mode):
    script = tmp_path / "dying_service.py"
    script.write_text(SERVICE)
    return subprocess.run(
        [sys.executable, str(script), json.dumps(settings), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def rows(settings):
    pool = database_pool(settings)
    try:
        async with pool.connection() as conn:
            events = await conn.fetchall(
                "SELECT version, action FROM aggregate_event ORDER BY id"
            )
            outbox = await conn.fetchall("SELECT topic FROM test_outbox ORDER BY id")
            snapshot = await conn.fetchall("SELECT version FROM aggregate_snapshot")
    finally:
        await close_database_pools()
    return events, [topic for (topic,) in outbox], [v for (v,) in snapshot]


def test_crash_after_save_returned_keeps_event_and_outbox(tmp_path, settings):
    result = run_service(tmp_path, settings, "after-save")
    assert result.returncode == 0, result.stderr
    assert "saved" in result.stdout

    events, outbox, snapshot = asyncio.run(rows(settings))
    assert events == [(1, "create"), (2, "update")]
    assert outbox == ["BookCreated", "BookUpdated", "BookUpdated.lent"]
    assert snapshot == [2]


def test_crash_in_the_middle_of_save_keeps_neither(tmp_path, settings):
    result = run_service(tmp_path, settings, "mid-save")
    assert result.returncode == 3, result.stderr
    assert "dying" in result.stdout and "saved" not in result.stdout

    events, outbox, snapshot = asyncio.run(rows(settings))
    assert events == [(1, "create")]
    assert outbox == ["BookCreated"]
    assert snapshot == [1]
