"""One contract for every snapshot store: in memory, SQLite and real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from uuid import UUID, uuid4

import pytest
import yaml

from minos.common import (
    Action,
    Aggregate,
    AggregateDiff,
    Condition,
    Entity,
    EntitySet,
    InMemoryRepository,
    InMemorySnapshot,
    MinosConfig,
    MinosException,
    MinosPreviousVersionSnapshotException,
    MinosSnapshotAggregateNotFoundException,
    MinosSnapshotDeletedAggregateException,
    ModelRef,
    Ordering,
    PostgreSqlRepository,
    PostgreSqlSnapshot,
    RepositoryEntry,
    SqliteRepository,
    SqliteSnapshot,
    ValueObject,
    ValueObjectSet,
    close_database_pools,
)


class Address(ValueObject):
    street: str
    city: str


class Customer(Aggregate):
    name: str
    address: Address
    points: int


class Supplier(Aggregate):
    name: str


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Line(Entity):
    product: str
    quantity: int


class Tag(ValueObject):
    label: str


class Everything(Aggregate):
    """One field of every kind the models support."""

    text: str
    number: int
    ratio: float
    flag: bool
    price: Decimal
    day: date
    hour: time
    wait: timedelta
    at: datetime
    blob: bytes
    color: Color
    owner: UUID | None
    address: Address
    addresses: list[Address]
    counts: dict[str, int]
    numbers: set[int]
    lines: EntitySet[Line]
    tags: ValueObjectSet[Tag]
    ref: ModelRef[Address]


class Stores:
    def __init__(self, kind, repository, snapshot, reopen):
        self.kind = kind
        self.repository = repository
        self.snapshot = snapshot
        self.reopen = reopen

    async def write(self, *diffs):
        """Store diffs in the event store only, as another writer would."""
        for diff in diffs:
            await self.repository.submit(diff)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def stores(request, tmp_path):
    if request.param == "memory":
        repository = InMemoryRepository()

        def reopen(repository=repository):
            return InMemorySnapshot(repository=repository)

    elif request.param == "sqlite":
        path = tmp_path / "service.sqlite3"
        repository = SqliteRepository(path=path)

        def reopen(repository=repository, path=path):
            return SqliteSnapshot(path=path, repository=repository)

    else:
        settings = request.getfixturevalue("fresh_postgres_settings")
        repository = PostgreSqlRepository(**settings)

        def reopen(repository=repository, settings=settings):
            return PostgreSqlSnapshot(**settings, repository=repository)

    snapshot = reopen()
    await snapshot.setup()
    yield Stores(request.param, repository, snapshot, reopen)
    await close_database_pools()


def customer(name="Ana", city="Madrid", points=0):
    return Customer(name, Address("Gran Vía 1", city), points)


async def changed(stores, aggregate, **fields):
    """Store an update of ``aggregate`` in the event store only, and apply it."""
    for name, value in fields.items():
        setattr(aggregate, name, value)
    change = aggregate.diff()
    await stores.write(change)
    aggregate.apply_diff(change)
    return change


def created(aggregate):
    return AggregateDiff.from_aggregate(aggregate)


async def stored_state(stores, aggregate):
    """The aggregate as it is after its creation diff is stored."""
    diff = created(aggregate)
    await stores.write(diff)
    return Customer.from_diff(diff)


async def test_get_builds_from_events_and_answers_by_name_or_class(stores):
    ana = await stored_state(stores, customer())
    await changed(stores, ana, points=10)

    by_class = await stores.snapshot.get(Customer, ana.uuid)
    by_name = await stores.snapshot.get(Customer.classname, ana.uuid)
    assert by_class == by_name == ana
    assert (by_class.version, by_class.points) == (2, 10)
    assert by_class.address.city == "Madrid"


async def test_get_catches_up_with_a_lagging_row(stores):
    ana = await stored_state(stores, customer())
    await stores.snapshot.store(ana)
    assert (await stores.snapshot.get(Customer, ana.uuid)).version == 1

    for points in (5, 7, 9):
        await changed(stores, ana, points=points)

    caught = await stores.snapshot.get(Customer, ana.uuid)
    assert (caught.version, caught.points) == (4, 9)
    fresh = stores.reopen()
    assert (await fresh.get(Customer, ana.uuid)).version == 4


async def test_missing_deleted_and_other_class(stores):
    with pytest.raises(MinosSnapshotAggregateNotFoundException, match="Customer"):
        await stores.snapshot.get(Customer, uuid4())
    with pytest.raises(MinosSnapshotAggregateNotFoundException, match="not a UUID"):
        await stores.snapshot.get(Customer, "1' OR '1'='1")
    ana = await stored_state(stores, customer())
    with pytest.raises(MinosSnapshotAggregateNotFoundException, match="Supplier"):
        await stores.snapshot.get(Supplier, ana.uuid)
    await stores.write(AggregateDiff.from_deleted_aggregate(ana))
    with pytest.raises(MinosSnapshotDeletedAggregateException, match="deleted"):
        await stores.snapshot.get(Customer, ana.uuid)
    with pytest.raises(MinosException, match="Nope"):
        await stores.snapshot.get("shop.Nope", ana.uuid)


async def test_store_never_goes_back_in_time(stores):
    ana = await stored_state(stores, customer(points=1))
    old = Customer.from_document(ana.to_json_data())
    change = await changed(stores, ana, points=2)

    await stores.snapshot.store(ana)
    await stores.snapshot.store(old)
    assert (await stores.snapshot.get(Customer, ana.uuid)).points == 2

    with pytest.raises(MinosPreviousVersionSnapshotException, match="version 2"):
        ana.apply_diff(change)


async def test_synchronize_applies_new_events_and_remembers_where_it_stopped(stores):
    stores.snapshot.commit_margin = timedelta(0)
    people = [
        customer(name, city) for name, city in [("Ana", "Madrid"), ("Bea", "Bilbao")]
    ]
    for person in people:
        await stores.write(created(person))
    assert await stores.snapshot.synchronize() == 2
    assert await stores.snapshot.synchronize() == 0

    bea = await stores.snapshot.get(Customer, people[1].uuid)
    bea.address = Address("Gran Vía 2", "Madrid")
    await stores.write(bea.diff())
    await stores.write(created(customer("Cai", "Sevilla")))
    assert await stores.snapshot.synchronize() == 2

    if stores.kind != "memory":  # the offset survives a new instance
        assert await stores.reopen().synchronize() == 0
    madrid = Condition.EQUAL("address.city", "Madrid")
    found = [
        c.name
        async for c in stores.snapshot.find(Customer, madrid, Ordering.ASC("name"))
    ]
    assert found == ["Ana", "Bea"]


async def test_events_of_unknown_classes_do_not_stop_the_others(stores, caplog):
    stores.snapshot.commit_margin = timedelta(0)
    data = created(customer("Ghost")).to_repository_entry().data
    ghost = RepositoryEntry(uuid4(), "nowhere.Ghost", 1, data, Action.CREATE)
    junk = RepositoryEntry(uuid4(), Customer.classname, 1, b"junk", Action.CREATE)
    await stores.repository.submit(ghost)
    await stores.repository.submit(junk)
    ana = customer("Ana")
    await stores.write(created(ana))

    assert await stores.snapshot.synchronize() == 1
    assert "nowhere.Ghost" in caplog.text and "not minos Avro data" in caplog.text
    assert await stores.snapshot.synchronized_until() == 3
    assert (await stores.snapshot.get(Customer, ana.uuid)).name == "Ana"


async def test_recent_events_are_read_again_until_they_settle(stores):
    stores.snapshot.commit_margin = timedelta(hours=1)
    await stores.write(created(customer("Ana")))
    assert await stores.snapshot.synchronize() == 1
    assert await stores.snapshot.synchronized_until() == 0
    stores.snapshot.commit_margin = timedelta(0)
    assert await stores.snapshot.synchronize() == 0
    assert (
        await stores.snapshot.synchronized_until() == await stores.repository.last_id()
    )


async def test_find_on_documents(stores):
    stores.snapshot.commit_margin = timedelta(0)
    for name, city, points in [
        ("Ana", "Madrid", 30),
        ("Bea", "Bilbao", 10),
        ("Cai", "Madrid", 20),
        ("Dan'; DROP TABLE aggregate_snapshot; --", "Sevilla", 40),
    ]:
        await stores.write(created(customer(name, city, points)))
    await stores.write(created(Supplier("Madrid Supplies")))
    await stores.snapshot.synchronize()

    async def names(condition, ordering=None, limit=None):
        return [
            c.name
            async for c in stores.snapshot.find(Customer, condition, ordering, limit)
        ]

    assert await names(
        Condition.EQUAL("address.city", "Madrid"), Ordering.DESC("points")
    ) == [
        "Ana",
        "Cai",
    ]
    assert await names(Condition.GREATER("points", 15), Ordering.ASC("points"), 2) == [
        "Cai",
        "Ana",
    ]
    assert await names(Condition.LIKE("name", "Dan'%")) == [
        "Dan'; DROP TABLE aggregate_snapshot; --"
    ]
    assert await names(
        Condition.IN("address.city", ["Bilbao", "Sevilla"]), Ordering.ASC("name")
    ) == [
        "Bea",
        "Dan'; DROP TABLE aggregate_snapshot; --",
    ]
    assert len(await names(Condition.TRUE)) == 4
    suppliers = [s.name async for s in stores.snapshot.find(Supplier.classname)]
    assert suppliers == ["Madrid Supplies"]


async def test_every_field_type_survives_the_snapshot(stores):
    everything = Everything(
        "ünï 'quoted'; --",
        2**40,
        0.25,
        True,
        Decimal("12.3400"),
        date(2024, 2, 29),
        time(23, 59, 58, 123456),
        timedelta(days=3, microseconds=7),
        datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        b"\x00\xff\x10",
        Color.BLUE,
        None,
        Address("Calle Mayor 1", "Madrid"),
        [Address("a", "b"), Address("c", "d")],
        {"x": 1, "y": -2},
        {3, 1, 2},
        EntitySet([Line("pen", 2), Line("ink", 1)]),
        ValueObjectSet([Tag("new"), Tag("sale")]),
        uuid4(),
    )
    diff = created(everything)
    await stores.write(diff)
    stored = await stores.snapshot.get(Everything, everything.uuid)
    assert stored == Everything.from_diff(diff)
    assert stored.at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert stored.price == Decimal("12.3400") and stored.blob == b"\x00\xff\x10"
    assert stored.wait == timedelta(days=3, microseconds=7)
    found = [
        e.uuid
        async for e in stores.snapshot.find(
            Everything,
            Condition.AND(
                Condition.EQUAL("color", Color.BLUE),
                Condition.EQUAL("flag", True),
                Condition.EQUAL("owner", None),
                Condition.EQUAL("price", Decimal("12.3400")),
                Condition.EQUAL("day", date(2024, 2, 29)),
                Condition.EQUAL("ref", everything.ref),
                Condition.GREATER(
                    "at",
                    datetime(2024, 5, 1, 11, 0, tzinfo=timezone(timedelta(hours=2))),
                ),
                Condition.LOWER("at", datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC)),
                Condition.GREATER("number", 2**39),
            ),
        )
    ]
    assert found == [everything.uuid]


async def test_without_an_event_store_the_snapshot_serves_what_it_stored(tmp_path):
    snapshot = SqliteSnapshot(path=tmp_path / "alone.sqlite3")
    memory = InMemorySnapshot()
    ana = Customer.from_diff(created(customer()))
    for store in (snapshot, memory):
        await store.store(ana)
        assert await store.get(Customer, ana.uuid) == ana
        assert [c.uuid async for c in store.find(Customer)] == [ana.uuid]
        assert await store.synchronize() == 0
    await close_database_pools()


async def test_from_config_picks_the_backend(tmp_path, postgres_settings):
    def config(section):
        path = tmp_path / f"config-{uuid4().hex}.yml"
        path.write_text(
            yaml.safe_dump({"service": {"name": "shop"}, "snapshot": section})
        )
        return MinosConfig(path)

    sqlite = PostgreSqlSnapshot.from_config(
        config({"path": str(tmp_path / "s.sqlite3")})
    )
    assert isinstance(sqlite, SqliteSnapshot)
    postgres = PostgreSqlSnapshot.from_config(config(dict(postgres_settings)))
    assert isinstance(postgres, PostgreSqlSnapshot)
    assert postgres.pool.database == postgres_settings["database"]
    await close_database_pools()
