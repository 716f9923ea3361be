"""Aggregates against every backend: in memory, SQLite and real PostgreSQL.

The event broker here is a small outbox table written through the pool's
ambient transaction, as the real event broker does, so these tests see
exactly which events were queued with which stored change.
"""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from minos.common import (
    Action,
    Aggregate,
    AggregateDiff,
    Condition,
    Entity,
    EntitySet,
    FieldDiff,
    IncrementalFieldDiff,
    InMemoryRepository,
    InMemorySnapshot,
    MinosAggregateException,
    MinosBroker,
    MinosModelException,
    MinosRepositoryConflictException,
    MinosSnapshotAggregateNotFoundException,
    MinosSnapshotDeletedAggregateException,
    MinosSnapshotQueryException,
    Ordering,
    ValueObject,
    ValueObjectSet,
    close_database_pools,
    decode_value,
    encode_value,
)
from testing.stores import STORE_KINDS, event_stores


class Author(ValueObject):
    name: str
    born: int | None


class Publisher(ValueObject):
    name: str
    city: str


class Book(Aggregate):
    title: str
    authors: list[Author]
    copies: int
    lent: int
    publisher: Publisher | None

    def __init__(self, *args, copies: int = 1, lent: int = 0, **kwargs):
        super().__init__(*args, copies=copies, lent=lent, **kwargs)


class Magazine(Aggregate):
    title: str
    issue: int
    publisher: Publisher | None


class Tag(ValueObject):
    label: str


class Line(Entity):
    product: str
    quantity: int


class Order(Aggregate):
    customer: str
    lines: EntitySet[Line]
    tags: ValueObjectSet[Tag]


class Counter(Aggregate):
    value: int


class OutboxBroker(MinosBroker):
    """Queues events in a table through ``pool.connection()`` (or a list)."""

    def __init__(self, pool=None):
        super().__init__()
        self.pool = pool
        self.queued: list[tuple[str, str | None, bytes]] = []
        self.fail_on: str | None = None
        self.fail_after_insert = False

    async def _setup(self):
        if self.pool is None:
            return
        ids = {
            "postgresql": "id BIGSERIAL PRIMARY KEY",
            "sqlite": "id INTEGER PRIMARY KEY AUTOINCREMENT",
        }[self.pool.dialect]
        async with self.pool.connection() as conn:
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS test_outbox ({ids}, topic TEXT NOT NULL, "
                "key TEXT, payload BYTEA NOT NULL)"
            )

    async def send(self, data, topic, *, key=None, **kwargs) -> UUID:
        if topic == self.fail_on and not self.fail_after_insert:
            raise RuntimeError(f"injected failure before queueing {topic}")
        payload = encode_value(data)
        if self.pool is None:
            self.queued.append((topic, key, payload))
        else:
            async with self.pool.connection() as conn:
                await conn.execute(
                    "INSERT INTO test_outbox (topic, key, payload) VALUES (%s, %s, %s)",
                    (topic, key, payload),
                )
        if topic == self.fail_on:
            raise RuntimeError(f"injected failure after queueing {topic}")
        return uuid4()

    async def messages(self) -> list[tuple[str, str | None, object]]:
        if self.pool is None:
            rows = self.queued
        else:
            async with self.pool.connection() as conn:
                rows = await conn.fetchall(
                    "SELECT topic, key, payload FROM test_outbox ORDER BY id"
                )
        return [
            (topic, key, decode_value(bytes(payload))) for topic, key, payload in rows
        ]

    async def topics(self) -> list[str]:
        return [topic for topic, _, _ in await self.messages()]


class World:
    def __init__(self, repository, snapshot, broker):
        self.repository = repository
        self.snapshot = snapshot
        self.broker = broker
        self.kw = {"_repository": repository, "_snapshot": snapshot, "_broker": broker}

    async def history(self, uuid=None):
        return [e async for e in self.repository.select(aggregate_uuid=uuid)]


BACKENDS = STORE_KINDS


async def build_world(kind, request, tmp_path) -> World:
    repository, snapshot = event_stores(kind, request, tmp_path)
    broker = OutboxBroker() if kind == "memory" else OutboxBroker(repository.pool)
    for component in (repository, snapshot, broker):
        await component.setup()
    return World(repository, snapshot, broker)


@pytest.fixture(params=BACKENDS)
async def world(request, tmp_path):
    yield await build_world(request.param, request, tmp_path)
    await close_database_pools()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def sql_or_memory(request, tmp_path):
    yield await build_world(request.param, request, tmp_path)
    await close_database_pools()


@pytest.fixture(params=["sqlite", "postgresql"])
async def sql_world(request, tmp_path):
    yield await build_world(request.param, request, tmp_path)
    await close_database_pools()


def frank():
    return [Author("Frank Herbert", 1920)]


# --- construction as client code writes it --------------------------------------------


async def test_create_publishes_created_with_every_field(world):
    book = await Book.create("Dune", frank(), copies=3, **world.kw)

    assert (book.title, book.authors, book.copies, book.lent) == ("Dune", frank(), 3, 0)
    assert book.version == 1
    assert book.created_at == book.updated_at
    assert book.created_at.year >= 2024
    messages = await world.broker.messages()
    assert [(topic, key) for topic, key, _ in messages] == [
        ("BookCreated", str(book.uuid))
    ]
    diff = messages[0][2]
    assert isinstance(diff, AggregateDiff)
    assert (diff.uuid, diff.version, diff.action) == (book.uuid, 1, Action.CREATE)
    assert diff.name == Book.classname and diff.simplified_name == "Book"
    fields = {
        k: v.value if isinstance(v, FieldDiff) else v
        for k, v in diff.fields_diff.items()
    }
    assert fields == {
        "title": "Dune",
        "authors": frank(),
        "copies": 3,
        "lent": 0,
        "publisher": None,
    }
    assert fields["copies"] - fields["lent"] == 3


async def test_construction_follows_declaration_order(world):
    positional = Magazine("Wired", 12, Publisher("Condé Nast", "New York"))
    assert (positional.title, positional.issue) == ("Wired", 12)
    assert positional.publisher.city == "New York"
    forwarded = Book("Dune", frank())
    assert (forwarded.title, forwarded.copies, forwarded.lent) == ("Dune", 1, 0)
    with pytest.raises(MinosModelException, match="copies"):
        Book("Dune", frank(), 2)  # Book.__init__ passes copies by keyword too
    keywords = Book(title="Emma", authors=[])
    assert (keywords.copies, keywords.lent, keywords.publisher) == (1, 0, None)
    assert keywords.version == 0 and not keywords.persisted
    assert list(Book("x", []).state_fields()) == [
        "title",
        "authors",
        "copies",
        "lent",
        "publisher",
    ]
    with pytest.raises(MinosModelException, match="at most"):
        Magazine("Wired", 1, None, "extra")
    with pytest.raises(MinosModelException, match="unknown field"):
        Book("Dune", [], pages=3)
    with pytest.raises(MinosModelException, match="copies"):
        Book("Dune", [], copies="three")

    stored = await Book.create(title="Emma", authors=[], lent=1, **world.kw)
    again = await Book.get(stored.uuid, **world.kw)
    assert again == stored and again.lent == 1 and again.copies == 1


async def test_lent_increment_publishes_updated_and_the_field_topic(world):
    book = await Book.create("Dune", frank(), copies=3, **world.kw)
    book = await Book.get(book.uuid, **world.kw)

    book.lent += 1
    await book.save()

    assert book.version == 2
    messages = await world.broker.messages()
    assert [topic for topic, _, _ in messages] == [
        "BookCreated",
        "BookUpdated",
        "BookUpdated.lent",
    ]
    assert {key for _, key, _ in messages} == {str(book.uuid)}
    updated, per_field = messages[1][2], messages[2][2]
    assert updated.action is Action.UPDATE and updated.version == 2
    assert list(updated.fields_diff.keys()) == ["lent"]
    assert per_field.get_one("lent") == 1
    assert per_field.get_all() == {"lent": 1}
    assert (await Book.get(book.uuid, **world.kw)).lent == 1


async def test_saving_without_changes_stores_and_publishes_nothing(world):
    book = await Book.create("Dune", frank(), **world.kw)
    await book.save()
    book.lent = 0
    await book.save()
    assert book.version == 1
    assert len(await world.history(book.uuid)) == 1
    assert await world.broker.topics() == ["BookCreated"]


async def test_aggregates_rebuilt_from_data_save_against_the_store(world):
    book = await Book.create("Dune", frank(), copies=3, **world.kw)
    travelled = decode_value(encode_value(book))  # as a message or saga carries it
    assert travelled == book
    travelled._attach(world.repository, world.snapshot, world.broker)
    travelled.lent = 2
    await travelled.save()
    assert await world.broker.topics() == [
        "BookCreated",
        "BookUpdated",
        "BookUpdated.lent",
    ]
    assert (await Book.get(book.uuid, **world.kw)).lent == 2

    stale = Book.from_dict({**book.to_json_data(), "title": "Stale"})
    stale._attach(world.repository, world.snapshot, world.broker)
    with pytest.raises(MinosRepositoryConflictException, match="stored version is 2"):
        await stale.save()


async def test_update_sets_fields_and_publishes_one_event_per_field(world):
    book = await Book.create("Dune", frank(), copies=3, **world.kw)
    await book.update(title="Dune Messiah", copies=5, lent=0)

    assert (book.title, book.copies, book.version) == ("Dune Messiah", 5, 2)
    assert await world.broker.topics() == [
        "BookCreated",
        "BookUpdated",
        "BookUpdated.title",
        "BookUpdated.copies",
    ]
    with pytest.raises(MinosAggregateException, match="pages"):
        await book.update(pages=3)
    with pytest.raises(MinosAggregateException, match="version"):
        await book.update(version=7)
    with pytest.raises(MinosModelException, match="copies"):
        await book.update(copies="many")
    stored = await Book.get(book.uuid, **world.kw)
    assert (stored.title, stored.copies, stored.version) == ("Dune Messiah", 5, 2)


async def test_refresh_drops_unsaved_changes_and_reads_other_writers(world):
    book = await Book.create("Dune", frank(), copies=3, **world.kw)
    other = await Book.get(book.uuid, **world.kw)
    other.copies = 7
    await other.save()

    book.title = "unsaved"
    await book.refresh()
    assert (book.title, book.copies, book.version) == ("Dune", 7, 2)
    book.lent = 2
    await book.save()
    assert (await Book.get(book.uuid, **world.kw)).copies == 7


async def test_delete(world):
    book = await Book.create("Dune", frank(), **world.kw)
    kept = await Book.create("Emma", [], **world.kw)
    await book.delete()

    assert book.version == 2
    assert await world.broker.topics() == ["BookCreated", "BookCreated", "BookDeleted"]
    deleted = (await world.broker.messages())[-1][2]
    assert deleted.action is Action.DELETE and not deleted.fields_diff
    with pytest.raises(MinosSnapshotDeletedAggregateException, match=str(book.uuid)):
        await Book.get(book.uuid, **world.kw)
    assert [b.uuid async for b in Book.find(Condition.TRUE, **world.kw)] == [kept.uuid]
    book.lent = 1
    with pytest.raises(MinosRepositoryConflictException, match="deleted"):
        await book.save()
    with pytest.raises(MinosAggregateException, match="never saved"):
        await Book("Unsaved", []).delete()


async def test_get_unknown_aggregates(world):
    with pytest.raises(MinosSnapshotAggregateNotFoundException, match="Book"):
        await Book.get(uuid4(), **world.kw)
    with pytest.raises(MinosSnapshotAggregateNotFoundException, match="not a UUID"):
        await Book.get("'; DROP TABLE aggregate_event; --", **world.kw)
    with pytest.raises(MinosSnapshotAggregateNotFoundException, match="not a UUID"):
        await Book.get(42, **world.kw)
    counter = await Counter.create(1, **world.kw)
    with pytest.raises(MinosSnapshotAggregateNotFoundException):
        await Book.get(counter.uuid, **world.kw)
    assert (await Counter.get(str(counter.uuid), **world.kw)).value == 1


# --- sets changed element by element --------------------------------------------------


async def test_set_fields_publish_incremental_events(world):
    first, second = Line("pen", 1), Line("ink", 2)
    order = await Order.create(
        "ana", EntitySet([first]), ValueObjectSet([Tag("new")]), **world.kw
    )
    order.lines.add(second)
    order.lines.add(Line("pen", 5, uuid=first.uuid))
    order.tags.discard(Tag("new"))
    order.tags.add(Tag("paid"))
    await order.save()

    topics = await world.broker.topics()
    assert topics[:2] == ["OrderCreated", "OrderUpdated"]
    assert sorted(topics[2:]) == [
        "OrderUpdated.lines.create",
        "OrderUpdated.lines.update",
        "OrderUpdated.tags.create",
        "OrderUpdated.tags.delete",
    ]
    updated = (await world.broker.messages())[1][2]
    lines = updated.fields_diff["lines"]
    assert all(isinstance(diff, IncrementalFieldDiff) for diff in lines)
    assert {(d.action, d.value.product) for d in lines} == {
        (Action.CREATE, "ink"),
        (Action.UPDATE, "pen"),
    }
    assert sorted(t.label for t in updated.get_one("tags")) == ["new", "paid"]

    stored = await Order.get(order.uuid, **world.kw)
    assert stored == order
    assert {(line.product, line.quantity) for line in stored.lines} == {
        ("pen", 5),
        ("ink", 2),
    }
    assert stored.tags == ValueObjectSet([Tag("paid")])
    assert replay(await world.history(order.uuid), Order) == stored


def replay(entries, cls):
    """Rebuild an aggregate from its stored events alone."""
    aggregate = None
    for entry in entries:
        diff = AggregateDiff.from_repository_entry(entry)
        if diff.action is Action.CREATE:
            aggregate = cls.from_diff(diff)
        else:
            aggregate.apply_diff(diff)
    return aggregate


async def test_replaying_events_rebuilds_the_aggregate_exactly(world):
    book = await Book.create("Dune", frank(), copies=2, **world.kw)
    book.authors = [*book.authors, Author("Brian", None)]
    await book.save()
    book.publisher = Publisher("Ace", "New York")
    book.lent = 2
    await book.save()
    await book.update(title="Dune (2nd ed.)")

    rebuilt = replay(await world.history(book.uuid), Book)
    assert rebuilt == book == await Book.get(book.uuid, **world.kw)
    assert rebuilt.updated_at == book.updated_at and rebuilt.version == 4


# --- snapshots catch up with events written without them ------------------------------


async def test_get_catches_up_with_events_stored_directly(world):
    book = await Book.create("Dune", frank(), copies=2, **world.kw)
    later = await Book.get(book.uuid, **world.kw)
    later.copies = 9
    await world.repository.submit(later.diff())
    created = await Book.create("Emma", [], **world.kw)
    direct = Book("Persuasion", [], uuid=uuid4())
    await world.repository.submit(AggregateDiff.from_aggregate(direct))
    await world.repository.submit(AggregateDiff.from_deleted_aggregate(created))

    assert (await Book.get(book.uuid, **world.kw)).copies == 9
    assert (await Book.get(direct.uuid, **world.kw)).title == "Persuasion"
    with pytest.raises(MinosSnapshotDeletedAggregateException):
        await Book.get(created.uuid, **world.kw)

    world.snapshot.commit_margin = world.snapshot.commit_margin * 0
    await world.snapshot.synchronize()
    found = [
        b.title
        async for b in Book.find(Condition.TRUE, Ordering.ASC("title"), **world.kw)
    ]
    assert found == ["Dune", "Persuasion"]


# --- find -----------------------------------------------------------------------------


async def seed_books(world):
    books = [
        Book(
            "Dune", frank(), copies=3, lent=1, publisher=Publisher("Chilton", "Madrid")
        ),
        Book(
            "Emma",
            [Author("Jane", 1775)],
            copies=1,
            publisher=Publisher("Murray", "London"),
        ),
        Book(
            "Ulysses", [], copies=5, lent=5, publisher=Publisher("Shakespeare", "Paris")
        ),
        Book("It's 100% 'quoted'; -- DROP TABLE aggregate_snapshot", [], copies=2),
        Book(
            "Middlemarch",
            [],
            copies=4,
            lent=2,
            publisher=Publisher("Blackwood", "Madrid"),
        ),
    ]
    for book in books:
        book._attach(world.repository, world.snapshot, world.broker)
        await book.save()
    await Counter.create(3, **world.kw)
    return books


async def titles(world, *args, **kwargs):
    return [b.title async for b in Book.find(*args, **kwargs, **world.kw)]


async def test_find_with_every_operator_on_aggregates(world):
    books = await seed_books(world)
    assert sorted(await titles(world, Condition.TRUE)) == sorted(b.title for b in books)
    assert await titles(world, Condition.FALSE) == []
    assert await titles(
        world, Condition.EQUAL("publisher.city", "Madrid"), Ordering.ASC("title")
    ) == ["Dune", "Middlemarch"]
    assert await titles(
        world, Condition.NOT_EQUAL("publisher.city", "Madrid"), Ordering.ASC("title")
    ) == [
        "Emma",
        "It's 100% 'quoted'; -- DROP TABLE aggregate_snapshot",
        "Ulysses",
    ]
    assert await titles(world, Condition.EQUAL("publisher", None)) == [
        "It's 100% 'quoted'; -- DROP TABLE aggregate_snapshot"
    ]
    assert await titles(
        world, Condition.LOWER("copies", 3), Ordering.ASC("copies")
    ) == [
        "Emma",
        "It's 100% 'quoted'; -- DROP TABLE aggregate_snapshot",
    ]
    assert await titles(
        world, Condition.LOWER_EQUAL("copies", 3), Ordering.DESC("copies")
    ) == [
        "Dune",
        "It's 100% 'quoted'; -- DROP TABLE aggregate_snapshot",
        "Emma",
    ]
    assert await titles(world, Condition.GREATER("lent", 1), Ordering.ASC("lent")) == [
        "Middlemarch",
        "Ulysses",
    ]
    assert await titles(
        world, Condition.GREATER_EQUAL("lent", 2), Ordering.DESC("lent")
    ) == ["Ulysses", "Middlemarch"]
    assert await titles(
        world,
        Condition.IN("publisher.name", ["Murray", "Chilton", "x'); --"]),
        Ordering.ASC("title"),
    ) == ["Dune", "Emma"]
    assert await titles(
        world, Condition.LIKE("title", "%m%"), Ordering.ASC("title")
    ) == ["Emma", "Middlemarch"]
    assert await titles(
        world, Condition.LIKE("title", "It's 100%"), Ordering.ASC("title")
    ) == ["It's 100% 'quoted'; -- DROP TABLE aggregate_snapshot"]
    assert await titles(
        world,
        Condition.EQUAL(
            "title", "It's 100% 'quoted'; -- DROP TABLE aggregate_snapshot"
        ),
    ) == ["It's 100% 'quoted'; -- DROP TABLE aggregate_snapshot"]
    assert await titles(world, Condition.EQUAL("title", "x' OR '1'='1")) == []
    assert await titles(
        world,
        Condition.AND(
            Condition.EQUAL("publisher.city", "Madrid"),
            Condition.NOT(Condition.GREATER("lent", 1)),
        ),
    ) == ["Dune"]
    assert await titles(
        world,
        Condition.OR(Condition.EQUAL("copies", 1), Condition.EQUAL("lent", 5)),
        Ordering.DESC("title"),
    ) == ["Ulysses", "Emma"]
    assert await titles(world, Condition.TRUE, Ordering.DESC("copies"), 2) == [
        "Ulysses",
        "Middlemarch",
    ]
    assert await titles(world, Condition.TRUE, Ordering.ASC("publisher.city"), 3) == [
        "It's 100% 'quoted'; -- DROP TABLE aggregate_snapshot",
        "Emma",
        "Dune",
    ]
    assert await titles(world, Condition.TRUE, None, 0) == []
    counters = [c.value async for c in Counter.find(Condition.TRUE, **world.kw)]
    assert counters == [3]


async def test_find_rejects_hostile_field_names_and_bad_arguments(world):
    await seed_books(world)
    for field in [
        "title'; DROP TABLE aggregate_snapshot; --",
        "publisher.city)--",
        "a b",
    ]:
        with pytest.raises(MinosSnapshotQueryException, match="field name"):
            await titles(world, Condition.EQUAL(field, "x"))
        with pytest.raises(MinosSnapshotQueryException, match="field name"):
            await titles(world, Condition.TRUE, Ordering.ASC(field))
    with pytest.raises(MinosSnapshotQueryException, match="condition"):
        await titles(world, "title = 'Dune'")
    with pytest.raises(MinosSnapshotQueryException, match="ordering"):
        await titles(world, Condition.TRUE, "title")
    with pytest.raises(MinosSnapshotQueryException, match="limit"):
        await titles(world, Condition.TRUE, None, "1; DELETE")
    with pytest.raises(MinosSnapshotQueryException, match="limit"):
        await titles(world, Condition.TRUE, None, -1)
    assert len(await titles(world, Condition.TRUE)) == 5


# --- missing collaborators ------------------------------------------------------------


async def test_missing_injections_are_named():
    from minos.common import (
        MinosBrokerNotProvidedException,
        MinosRepositoryNotProvidedException,
        MinosSnapshotNotProvidedException,
    )

    with pytest.raises(MinosSnapshotNotProvidedException, match="'snapshot' injection"):
        await Book.get(uuid4())
    with pytest.raises(MinosRepositoryNotProvidedException, match="'repository'"):
        await Book.create("Dune", [])
    repository = InMemoryRepository()
    snapshot = InMemorySnapshot(repository=repository)
    with pytest.raises(MinosBrokerNotProvidedException, match="'event_broker'"):
        await Book.create("Dune", [], _repository=repository, _snapshot=snapshot)
    assert [e async for e in repository.select()] == []


# --- atomicity: the event row and its outbox rows commit together ---------------------


async def test_failure_before_queueing_leaves_neither_row(sql_or_memory):
    world = sql_or_memory
    book = await Book.create("Dune", frank(), copies=3, **world.kw)
    world.broker.fail_on = "BookUpdated"

    book.lent = 1
    with pytest.raises(RuntimeError, match="before queueing"):
        await book.save()

    assert book.version == 1 and book.lent == 1
    assert len(await world.history(book.uuid)) == 1
    assert await world.broker.topics() == ["BookCreated"]
    stored = await Book.get(book.uuid, **world.kw)
    assert (stored.version, stored.lent) == (1, 0)

    world.broker.fail_on = None
    await book.save()
    assert book.version == 2
    assert await world.broker.topics() == [
        "BookCreated",
        "BookUpdated",
        "BookUpdated.lent",
    ]
    assert (await Book.get(book.uuid, **world.kw)).lent == 1


async def test_failure_after_some_rows_were_queued_leaves_neither(sql_world):
    world = sql_world
    book = await Book.create("Dune", frank(), copies=3, **world.kw)
    world.broker.fail_on = "BookUpdated.copies"
    world.broker.fail_after_insert = True

    book.lent, book.copies = 1, 4
    with pytest.raises(RuntimeError, match="after queueing"):
        await book.save()

    assert len(await world.history(book.uuid)) == 1
    assert await world.broker.topics() == ["BookCreated"]
    assert (await Book.get(book.uuid, **world.kw)).version == 1


async def test_failed_creation_leaves_nothing(sql_or_memory):
    world = sql_or_memory
    world.broker.fail_on = "BookCreated"
    with pytest.raises(RuntimeError):
        await Book.create("Dune", frank(), **world.kw)
    assert await world.history() == []
    assert await world.broker.topics() == []
    assert [b async for b in Book.find(Condition.TRUE, **world.kw)] == []


# --- concurrency ----------------------------------------------------------------------


async def test_concurrent_saves_of_one_version(sql_or_memory):
    world = sql_or_memory
    counter = await Counter.create(0, **world.kw)
    copies = [await Counter.get(counter.uuid, **world.kw) for _ in range(8)]

    async def increment(copy):
        copy.value += 1
        await copy.save()

    results = await asyncio.gather(*map(increment, copies), return_exceptions=True)
    failures = [r for r in results if r is not None]
    assert len(failures) == 7
    assert all(isinstance(f, MinosRepositoryConflictException) for f in failures)
    assert all(str(counter.uuid) in str(f) and "version 2" in str(f) for f in failures)
    final = await Counter.get(counter.uuid, **world.kw)
    assert (final.version, final.value) == (2, 1)
    assert await world.broker.topics() == [
        "CounterCreated",
        "CounterUpdated",
        "CounterUpdated.value",
    ]


async def test_concurrent_writers_lose_nothing(sql_or_memory):
    world = sql_or_memory
    counter = await Counter.create(0, **world.kw)
    successes, conflicts = 0, 0

    async def writer(rounds):
        nonlocal successes, conflicts
        copy = await Counter.get(counter.uuid, **world.kw)
        done = 0
        while done < rounds:
            copy.value += 1
            try:
                await copy.save()
            except MinosRepositoryConflictException:
                conflicts += 1
                await copy.refresh()
                continue
            successes += 1
            done += 1

    await asyncio.gather(*(writer(3) for _ in range(6)))

    final = await Counter.get(counter.uuid, **world.kw)
    assert successes == 18
    assert final.value == successes
    assert final.version == 1 + successes
    history = await world.history(counter.uuid)
    assert [e.version for e in history] == list(range(1, successes + 2))
    assert replay(history, Counter) == final
    assert len(await world.broker.topics()) == 1 + 2 * successes
