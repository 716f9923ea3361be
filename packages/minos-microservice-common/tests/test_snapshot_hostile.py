"""Snapshot stores under hostile queries, damaged rows and late commits."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from minos.common import (
    Aggregate,
    AggregateDiff,
    Condition,
    InMemoryRepository,
    InMemorySnapshot,
    MinosBroker,
    MinosSnapshotQueryException,
    Ordering,
    PostgreSqlRepository,
    PostgreSqlSnapshot,
    SqliteRepository,
    SqliteSnapshot,
    ValueObject,
    close_database_pools,
)


class Size(ValueObject):
    width: Decimal
    label: str


class Product(Aggregate):
    name: str
    price: Decimal | None
    size: Size | None
    tags: list[str]


class NullBroker(MinosBroker):
    async def send(self, data, topic, *, key=None, **kwargs):
        return None


async def build(kind, request, tmp_path):
    if kind == "memory":
        repository = InMemoryRepository()
        snapshot = InMemorySnapshot(repository=repository)
    elif kind == "sqlite":
        repository = SqliteRepository(path=tmp_path / "service.sqlite3")
        snapshot = SqliteSnapshot(
            path=tmp_path / "service.sqlite3", repository=repository
        )
    elif kind == "postgresql":
        settings = request.getfixturevalue("fresh_postgres_settings")
        repository = PostgreSqlRepository(**settings)
        snapshot = PostgreSqlSnapshot(**settings, repository=repository)
    else:  # snapshots in another database than the event store
        settings = request.getfixturevalue("fresh_postgres_settings")
        repository = PostgreSqlRepository(**settings)
        snapshot = SqliteSnapshot(path=tmp_path / "snap.sqlite3", repository=repository)
    await repository.setup()
    await snapshot.setup()
    return {"_repository": repository, "_snapshot": snapshot, "_broker": NullBroker()}


@pytest.fixture(params=["memory", "sqlite", "postgresql", "split"])
async def K(request, tmp_path):
    yield await build(request.param, request, tmp_path)
    await close_database_pools()


@pytest.fixture(params=["sqlite", "postgresql"])
async def SQL(request, tmp_path):
    yield await build(request.param, request, tmp_path)
    await close_database_pools()


async def names(K, *args, **kwargs):
    return [p.name async for p in Product.find(*args, **K, **kwargs)]


async def seed(K):
    prices = {"a": "1.50", "b": "9.99", "c": "10.00", "d": "100", "e": None}
    for name, price in prices.items():
        await Product.create(
            name=name,
            price=Decimal(price) if price is not None else None,
            size=Size(Decimal(len(name) * 2 if name != "a" else "0.5"), name),
            tags=[name],
            **K,
        )


# --- decimals ---------------------------------------------------------------------


async def test_decimals_compare_and_sort_as_numbers(K):
    await seed(K)
    above = Condition.GREATER("price", Decimal("9.99"))
    assert sorted(await names(K, above)) == ["c", "d"]
    assert sorted(await names(K, Condition.GREATER("price", 9.99))) == ["c", "d"]
    assert await names(K, Condition.EQUAL("price", Decimal("10"))) == ["c"]
    assert await names(K, Condition.EQUAL("price", 10)) == ["c"]
    assert sorted(await names(K, Condition.LOWER_EQUAL("price", 9.99))) == ["a", "b"]
    inside = Condition.IN("price", [Decimal("1.5"), 100])
    assert sorted(await names(K, inside)) == ["a", "d"]
    assert await names(K, Condition.TRUE, Ordering.ASC("price")) == list("eabcd")
    assert await names(K, Condition.TRUE, Ordering.DESC("price")) == list("dcbae")
    assert await names(K, Condition.LOWER("size.width", 1)) == ["a"]
    loaded = await Product.get((await anyone(K, "a")).uuid, **K)
    assert loaded.price == Decimal("1.50") and str(loaded.price) == "1.50"


async def anyone(K, name):
    return [p async for p in Product.find(Condition.EQUAL("name", name), **K)][0]


# --- IN with many values ----------------------------------------------------------


async def test_in_takes_tens_of_thousands_of_values(K):
    await seed(K)
    many = [f"x{i}" for i in range(30_000)]
    assert sorted(await names(K, Condition.IN("name", [*many, "b", "d"]))) == [
        "b",
        "d",
    ]
    numbers = [*range(1_000, 31_000), 100]
    assert await names(K, Condition.IN("price", numbers)) == ["d"]
    mixed = Condition.IN("name", [None, True, 3, "c"])
    assert await names(K, mixed) == ["c"]
    assert await names(K, Condition.IN("name", [])) == []


# --- edge values -------------------------------------------------------------------


@pytest.mark.parametrize(
    "build_condition",
    [
        lambda: Condition.EQUAL("price", float("inf")),
        lambda: Condition.GREATER("price", float("nan")),
        lambda: Condition.EQUAL("price", 2**63),
        lambda: Condition.EQUAL("price", -(2**63) - 1),
        lambda: Condition.EQUAL("name", "a\x00b"),
        lambda: Condition.EQUAL("name", "\ud800"),
        lambda: Condition.IN("name", ["ok", "\x00"]),
        lambda: Condition.LIKE("name", "%\x00%"),
        lambda: Condition.EQUAL("price", Decimal("NaN")),
        lambda: Condition.EQUAL("price", Decimal("1E+100000")),
    ],
)
def test_values_no_database_can_compare_are_refused(build_condition):
    with pytest.raises(MinosSnapshotQueryException):
        build_condition()


def test_nesting_is_bounded():
    condition = Condition.EQUAL("name", "a")
    for _ in range(64):
        condition = Condition.NOT(condition)
    with pytest.raises(MinosSnapshotQueryException, match="64 levels"):
        Condition.AND(condition)
    assert Condition.EQUAL("price", 2**63 - 1).value == 2**63 - 1


async def test_limits_and_orderings_are_checked(K):
    await seed(K)
    with pytest.raises(MinosSnapshotQueryException, match="limit"):
        await names(K, Condition.TRUE, limit=2**63)
    assert len(await names(K, Condition.TRUE, limit=2**63 - 1)) == 5
    for field in ("tags", "size"):
        with pytest.raises(MinosSnapshotQueryException, match="cannot order"):
            await names(K, Condition.TRUE, Ordering.ASC(field))


# --- damaged and lost rows -----------------------------------------------------------


async def damage(K, uuid, text):
    snapshot = K["_snapshot"]
    if isinstance(snapshot, InMemorySnapshot):
        row = snapshot._rows[uuid]
        snapshot._rows[uuid] = type(row)(
            row.uuid, row.name, row.version, {"name": 5}, row.created_at, row.updated_at
        )
        return
    cast = "CAST(%s AS JSONB)" if snapshot.pool.dialect == "postgresql" else "%s"
    async with snapshot.pool.connection() as conn:
        await conn.execute(
            f"UPDATE aggregate_snapshot SET data = {cast} WHERE aggregate_uuid = %s",
            (text, uuid),
        )


async def test_a_damaged_document_is_rebuilt_and_others_still_found(K, caplog):
    await seed(K)
    b = await anyone(K, "b")
    await damage(K, b.uuid, '{"name": 5, "price": "x"}')
    assert sorted(await names(K, Condition.TRUE)) == list("abcde")
    assert "cannot be read" in caplog.text
    assert (await Product.get(b.uuid, **K)).price == Decimal("9.99")
    await damage(K, b.uuid, '{"name": 5}')
    assert (await Product.get(b.uuid, **K)).name == "b"


async def test_a_document_that_is_not_json_is_rebuilt_on_sqlite(tmp_path):
    K = await build("sqlite", None, tmp_path)
    try:
        await seed(K)
        c = await anyone(K, "c")
        async with K["_snapshot"].pool.connection() as conn:
            await conn.execute(
                "UPDATE aggregate_snapshot SET data = %s WHERE aggregate_uuid = %s",
                ("{not json", c.uuid),
            )
        assert await names(K, Condition.EQUAL("name", "b")) == ["b"]
        assert sorted(await names(K, Condition.TRUE)) == list("abcde")
        assert await names(K, Condition.EQUAL("name", "c")) == ["c"]
    finally:
        await close_database_pools()


async def test_lost_rows_are_rebuilt(SQL, caplog):
    snapshot = SQL["_snapshot"]
    snapshot.commit_margin = timedelta(0)
    await seed(SQL)
    await snapshot.synchronize()
    assert await snapshot.synchronized_until() > 0
    async with snapshot.pool.connection() as conn:
        await conn.execute("DELETE FROM aggregate_snapshot")
    await snapshot.synchronize()
    assert "rebuilding it from the whole event store" in caplog.text
    assert sorted(await names(SQL, Condition.TRUE)) == list("abcde")
    a = await anyone(SQL, "a")
    async with snapshot.pool.connection() as conn:
        await conn.execute(
            "DELETE FROM aggregate_snapshot WHERE aggregate_uuid = %s", (a.uuid,)
        )
    assert await snapshot.rebuild() == 5
    assert sorted(await names(SQL, Condition.TRUE)) == list("abcde")


# --- late commits ----------------------------------------------------------------


async def test_an_event_committing_late_is_still_applied(request, tmp_path):
    settings = request.getfixturevalue("fresh_postgres_settings")
    repository = PostgreSqlRepository(**settings)
    snapshot = SqliteSnapshot(path=tmp_path / "snap.sqlite3", repository=repository)
    snapshot.commit_margin = timedelta(0)
    try:
        await repository.setup()
        await snapshot.setup()
        inserted, release = asyncio.Event(), asyncio.Event()
        late = Product(name="late", price=None, size=None, tags=[])

        async def slow_writer():
            async with repository.transaction():
                await repository.submit(AggregateDiff.from_aggregate(late))
                inserted.set()
                await release.wait()

        writer = asyncio.create_task(slow_writer())
        await inserted.wait()
        early = Product(name="early", price=None, size=None, tags=[])
        await repository.submit(AggregateDiff.from_aggregate(early))
        await asyncio.sleep(0.01)
        await snapshot.synchronize()
        found = [p.name async for p in snapshot.find(Product)]
        assert found == ["early"]
        offset = await snapshot.synchronized_until()
        release.set()
        await writer
        await snapshot.synchronize()
        found = sorted([p.name async for p in snapshot.find(Product)])
        assert found == ["early", "late"]
        assert await snapshot.synchronized_until() >= offset
    finally:
        await close_database_pools()
