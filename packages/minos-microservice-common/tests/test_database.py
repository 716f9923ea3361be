"""One contract for every database backend: real PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from minos.common import (
    MinosDatabaseConnectionException,
    MinosDatabaseIntegrityException,
    PostgreSqlMinosDatabase,
    PostgreSqlPool,
    SqlitePool,
    close_database_pools,
    database_pool,
)
from minos.common.database import translate_placeholders

DDL = {
    "postgresql": (
        "CREATE TABLE item (id UUID PRIMARY KEY, name TEXT NOT NULL, "
        "at TIMESTAMPTZ, body BYTEA, amount DOUBLE PRECISION, flag BOOLEAN)"
    ),
    "sqlite": (
        "CREATE TABLE item (id UUID PRIMARY KEY, name TEXT NOT NULL, "
        "at TIMESTAMPTZ, body BYTEA, amount DOUBLE PRECISION, flag BOOLEAN)"
    ),
}


@pytest.fixture(params=["postgresql", "sqlite"])
async def pool(request, tmp_path):
    if request.param == "postgresql":
        settings = request.getfixturevalue("fresh_postgres_settings")
    else:
        settings = {"path": tmp_path / "db.sqlite3"}
    pool = database_pool(settings)
    async with pool.connection() as conn:
        await conn.execute(DDL[pool.dialect])
    yield pool
    await close_database_pools()


async def test_values_round_trip(pool):
    row = (uuid4(), "ünï 'quoted'; --", datetime(2024, 5, 1, 12, 30, tzinfo=UTC))
    row += (b"\x00\xff", 1.5, True)
    async with pool.connection() as conn:
        inserted = await conn.execute(
            "INSERT INTO item VALUES (%s, %s, %s, %s, %s, %s)", row
        )
        fetched = await conn.fetchone("SELECT * FROM item WHERE id = %s", (row[0],))
    assert inserted == 1
    assert fetched == row


async def test_named_parameters_and_iteration(pool):
    async with pool.connection() as conn:
        await conn.executemany(
            "INSERT INTO item (id, name) VALUES (%(id)s, %(name)s)",
            [{"id": uuid4(), "name": f"n{i}"} for i in range(5)],
        )
        names = [
            row[0] async for row in conn.iterate("SELECT name FROM item ORDER BY name")
        ]
        rows = await conn.fetchall("SELECT name FROM item WHERE name LIKE %s", ("n%",))
    assert names == [f"n{i}" for i in range(5)]
    assert len(rows) == 5


async def test_transaction_commits_or_rolls_back(pool):
    async with pool.transaction() as conn:
        await conn.execute(
            "INSERT INTO item (id, name) VALUES (%s, %s)", (uuid4(), "kept")
        )
    with pytest.raises(RuntimeError):
        async with pool.transaction() as conn:
            await conn.execute(
                "INSERT INTO item (id, name) VALUES (%s, %s)", (uuid4(), "lost")
            )
            raise RuntimeError("boom")
    async with pool.connection() as conn:
        assert await conn.fetchall("SELECT name FROM item") == [("kept",)]


async def test_connection_joins_the_ambient_transaction(pool):
    async def second_component() -> None:
        async with pool.connection() as conn:
            await conn.execute(
                "INSERT INTO item (id, name) VALUES (%s, %s)", (uuid4(), "b")
            )

    with pytest.raises(RuntimeError):
        async with pool.transaction() as conn:
            await conn.execute(
                "INSERT INTO item (id, name) VALUES (%s, %s)", (uuid4(), "a")
            )
            assert pool.in_transaction
            await second_component()
            raise RuntimeError("fail after both writes")
    assert not pool.in_transaction
    async with pool.connection() as conn:
        assert await conn.fetchone("SELECT COUNT(*) FROM item") == (0,)


async def test_integrity_violation_is_reported(pool):
    key = uuid4()
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO item (id, name) VALUES (%s, %s)", (key, "a"))
    with pytest.raises(MinosDatabaseIntegrityException):
        async with pool.transaction() as conn:
            await conn.execute(
                "INSERT INTO item (id, name) VALUES (%s, %s)", (key, "b")
            )
    async with pool.connection() as conn:
        assert await conn.fetchall("SELECT name FROM item") == [("a",)]


async def test_notifications_inside_a_transaction_arrive_at_commit(pool):
    async with pool.listen("minos_probe") as queue:
        async with pool.transaction():
            await pool.notify("minos_probe", "inside")
            await asyncio.sleep(0.05)
            assert queue.empty()
        assert await asyncio.wait_for(queue.get(), 5) == "inside"
        await pool.notify("minos_probe", "outside")
        assert await asyncio.wait_for(queue.get(), 5) == "outside"


async def test_pools_are_shared_by_settings(postgres_settings, tmp_path):
    assert database_pool(postgres_settings) is PostgreSqlPool.shared(
        **postgres_settings
    )
    assert SqlitePool.shared(path=tmp_path / "a.db") is database_pool(
        {"path": str(tmp_path / "a.db")}
    )
    assert SqlitePool.shared(path=tmp_path / "a.db") is not SqlitePool.shared(
        path=tmp_path / "b.db"
    )


async def test_unreachable_server_names_host_port_and_database():
    pool = PostgreSqlPool(
        host="127.0.0.1",
        port=1,
        database="nowhere_db",
        user="minos",
        connect_attempts=2,
    )
    with pytest.raises(MinosDatabaseConnectionException) as info:
        await pool.setup()
    assert "127.0.0.1:1" in str(info.value)
    assert "nowhere_db" in str(info.value)


async def test_database_client_helpers(postgres_settings):
    class Notes(PostgreSqlMinosDatabase):
        async def _setup(self) -> None:
            await self.submit_query(
                "CREATE TABLE IF NOT EXISTS notes (id INT PRIMARY KEY, body TEXT)"
            )

    async with Notes(**postgres_settings) as notes:
        await notes.submit_query("DELETE FROM notes")
        await notes.submit_query(
            "INSERT INTO notes VALUES (%(id)s, %(body)s)", {"id": 1, "body": "x"}
        )
        assert await notes.submit_query_and_fetchone("SELECT body FROM notes") == ("x",)
        assert [
            r async for r in notes.submit_query_and_iter("SELECT id FROM notes")
        ] == [(1,)]
    await close_database_pools()


def test_placeholder_translation():
    assert translate_placeholders("a = %s AND b = %(b)s AND c LIKE '5%%'") == (
        "a = ? AND b = :b AND c LIKE '5%'"
    )


@pytest.mark.parametrize("kind", ["directory", "unwritable"])
async def test_sqlite_file_that_cannot_be_opened(tmp_path, kind):
    path = tmp_path / "here"
    if kind == "directory":
        path.mkdir()
    else:
        path = tmp_path / "file" / "db.sqlite3"
        (tmp_path / "file").write_text("a file, not a folder")
    with pytest.raises(MinosDatabaseConnectionException, match="SQLite database"):
        await SqlitePool(path=path).setup()
