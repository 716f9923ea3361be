"""One contract for every database backend: real PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from minos.common import (
    MinosDatabaseConnectionException,
    MinosDatabaseException,
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


async def test_a_task_outliving_the_transaction_does_not_join_it(pool):
    release = asyncio.Event()

    async def child() -> None:
        await release.wait()
        async with pool.transaction() as conn:
            await conn.execute(
                "INSERT INTO item (id, name) VALUES (%s, %s)", (uuid4(), "c")
            )

    async with pool.transaction() as conn:
        await conn.execute(
            "INSERT INTO item (id, name) VALUES (%s, %s)", (uuid4(), "p")
        )
        task = asyncio.create_task(child())

    # Another transaction is open and will roll back while the child writes.
    with pytest.raises(RuntimeError):
        async with pool.transaction() as other:
            await other.execute(
                "INSERT INTO item (id, name) VALUES (%s, %s)", (uuid4(), "x")
            )
            if pool.dialect == "postgresql":
                release.set()
                await asyncio.wait_for(task, 5)
            raise RuntimeError("roll back")
    release.set()
    await asyncio.wait_for(task, 5)
    async with pool.connection() as conn:
        rows = await conn.fetchall("SELECT name FROM item ORDER BY name")
    assert rows == [("c",), ("p",)]


async def test_driver_errors_become_minos_errors_naming_the_database(pool):
    async with pool.connection() as conn:
        with pytest.raises(MinosDatabaseException) as info:
            await conn.execute("SELEKT nonsense")
        assert pool.description in str(info.value)
        await conn.execute(
            "INSERT INTO item (id, name) VALUES (%s, %s)", (uuid4(), "ok")
        )


async def test_datetimes_sort_by_instant_on_every_backend(pool):
    from datetime import timedelta, timezone

    values = {
        "a": datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
        "b": datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5))),
        "c": datetime(2024, 1, 1, 9, 0, 0, 500000, tzinfo=UTC),
    }
    async with pool.connection() as conn:
        for name, at in values.items():
            await conn.execute(
                "INSERT INTO item (id, name, at) VALUES (%s, %s, %s)",
                (uuid4(), name, at),
            )
        ordered = await conn.fetchall("SELECT name, at FROM item ORDER BY at")
        later = await conn.fetchall(
            "SELECT name FROM item WHERE at > %s ORDER BY at",
            (datetime(2024, 1, 1, 9, 30, tzinfo=UTC),),
        )
    assert [name for name, _ in ordered] == ["b", "c", "a"]
    assert [at for _, at in ordered] == sorted(values.values())
    assert later == [("a",)]


async def test_a_closed_shared_pool_reopens_as_the_shared_one(tmp_path):
    pool = SqlitePool.shared(path=tmp_path / "x.db")
    await pool.setup()
    await close_database_pools()
    async with pool.connection() as conn:
        await conn.execute("CREATE TABLE t (x INT)")
    assert SqlitePool.shared(path=tmp_path / "x.db") is pool
    await close_database_pools()
    assert not pool.already_setup


@pytest.mark.parametrize("settings", [{"path": ""}, {"path": "  "}, {"host": "h"}])
def test_database_settings_must_name_a_database(settings):
    with pytest.raises(MinosDatabaseException):
        database_pool(settings)


async def test_listen_survives_a_lost_connection(postgres_server, postgres_settings):
    pool = database_pool(postgres_settings)
    async with pool.listen("minos_reconnect") as queue:
        with postgres_server.admin_connect() as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query ILIKE %s AND pid <> pg_backend_pid()",
                ("LISTEN%minos_reconnect%",),
            ).fetchall()
        assert killed == [(True,)]
        assert await asyncio.wait_for(queue.get(), 10) == ""  # reconnected: look
        await pool.notify("minos_reconnect", "after")
        assert await asyncio.wait_for(queue.get(), 10) == "after"
    await close_database_pools()


async def test_an_exhausted_pool_says_so(postgres_settings):
    pool = PostgreSqlPool(**postgres_settings, max_size=1, acquire_timeout=0.3)
    try:
        async with pool.transaction():
            with pytest.raises(MinosDatabaseConnectionException, match="free within"):
                async with pool._connect():
                    pass
    finally:
        await pool.destroy()


async def test_after_commit_runs_only_when_the_outermost_transaction_commits(pool):
    ran: list[str] = []

    def note(label):
        async def callback():
            ran.append(label)

        return callback

    async with pool.transaction():
        async with pool.transaction():  # joins the open one
            await pool.after_commit(note("inner"))
            assert ran == []
        assert ran == []
        await pool.after_commit(note("outer"))
    assert ran == ["inner", "outer"]

    with pytest.raises(RuntimeError):
        async with pool.transaction():
            await pool.after_commit(note("rolled back"))
            raise RuntimeError("fail")
    assert ran == ["inner", "outer"]

    await pool.after_commit(note("no transaction"))  # runs at once
    assert ran[-1] == "no transaction"


async def test_a_failing_after_commit_callback_is_logged_not_raised(pool, caplog):
    async def broken():
        raise ValueError("callback broke")

    ran = []

    async def fine():
        ran.append(True)

    async with pool.transaction() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS after_commit_t (x INTEGER)")
        await conn.execute("INSERT INTO after_commit_t (x) VALUES (%s)", (1,))
        await pool.after_commit(broken)
        await pool.after_commit(fine)
    assert ran == [True]
    assert "callback broke" in caplog.text
    async with pool.connection() as conn:
        assert await conn.fetchone("SELECT x FROM after_commit_t") == (1,)


def test_a_process_that_never_closes_its_sqlite_pool_still_exits(tmp_path):
    script = (
        "import asyncio, sys\n"
        "from minos.common import SqlitePool\n"
        "async def main():\n"
        f"    pool = SqlitePool.shared(path={str(tmp_path / 'open.sqlite3')!r})\n"
        "    async with pool.transaction() as conn:\n"
        "        await conn.execute('CREATE TABLE t (x INTEGER)')\n"
        "        await conn.execute('INSERT INTO t (x) VALUES (%s)', (7,))\n"
        "asyncio.run(main())\n"
        "print('done')\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "done"
    reader = sqlite3.connect(tmp_path / "open.sqlite3")
    try:
        assert reader.execute("SELECT x FROM t").fetchall() == [(7,)]
    finally:
        reader.close()
