"""Aggregates under misuse and partial failures, on every backend.

Rolled-back saves, collaborators held in fields, in-place changes deep inside
values, half-valid updates, brokers on another database, renamed classes,
reserved field names and hand-set versions.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from minos.common import (
    Aggregate,
    InMemoryRepository,
    InMemorySnapshot,
    MinosAggregateException,
    MinosBroker,
    MinosModelException,
    MinosRepositoryConflictException,
    MinosSnapshotAggregateNotFoundException,
    ModelRef,
    SqliteRepository,
    SqliteSnapshot,
    ValueObject,
    close_database_pools,
)
from testing.stores import STORE_KINDS, event_stores


class Counter(Aggregate):
    value: int


class Choices(ValueObject):
    label: str
    choices: list[str]


class Quiz(Aggregate):
    main: Choices
    others: list[Choices]


class Owner(Aggregate):
    name: str


class Pet(Aggregate):
    name: str
    owner: ModelRef[Owner] | None


class Paint(Aggregate):
    name: str
    color: int


class QueueBroker(MinosBroker):
    """Queues events in a table of ``pool`` (or a list when it has none)."""

    def __init__(self, pool=None):
        super().__init__()
        self.pool = pool
        self.queued: list[str] = []

    async def _setup(self):
        if self.pool is not None:
            async with self.pool.connection() as conn:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS hostile_outbox (topic TEXT NOT NULL)"
                )

    async def send(self, data, topic, *, key=None, **kwargs) -> UUID:
        if self.pool is None:
            self.queued.append(topic)
        else:
            async with self.pool.connection() as conn:
                await conn.execute(
                    "INSERT INTO hostile_outbox (topic) VALUES (%s)", (topic,)
                )
        return uuid4()

    async def topics(self) -> list[str]:
        if self.pool is None:
            return list(self.queued)
        async with self.pool.connection() as conn:
            return [
                t for (t,) in await conn.fetchall("SELECT topic FROM hostile_outbox")
            ]


async def build(kind, request, tmp_path):
    repository, snapshot = event_stores(kind, request, tmp_path)
    broker = QueueBroker() if kind == "memory" else QueueBroker(repository.pool)
    for component in (repository, snapshot, broker):
        await component.setup()
    return {"_repository": repository, "_snapshot": snapshot, "_broker": broker}


@pytest.fixture(params=STORE_KINDS)
async def K(request, tmp_path):
    yield await build(request.param, request, tmp_path)
    await close_database_pools()


# --- rolled-back saves -----------------------------------------------------------


async def test_a_rolled_back_save_leaves_no_phantom_snapshot(K):
    counter = await Counter.create(value=1, **K)
    with pytest.raises(RuntimeError):
        async with K["_repository"].transaction():
            loaded = await Counter.get(counter.uuid, **K)
            loaded.value = 99
            await loaded.save()
            raise RuntimeError("the caller fails after saving")
    again = await Counter.get(counter.uuid, **K)
    assert (again.version, again.value) == (1, 1)
    found = [c.value async for c in Counter.find(_all(), **K)]
    assert found == [1]
    again.value = 2
    await again.save()
    assert (await Counter.get(counter.uuid, **K)).version == 2


async def test_a_rolled_back_creation_is_not_found(K):
    with pytest.raises(RuntimeError):
        async with K["_repository"].transaction():
            counter = await Counter.create(value=1, **K)
            raise RuntimeError("the caller fails after creating")
    with pytest.raises(MinosSnapshotAggregateNotFoundException):
        await Counter.get(counter.uuid, **K)


async def test_the_snapshot_is_written_when_the_outer_transaction_commits(K):
    async with K["_repository"].transaction():
        counter = await Counter.create(value=5, **K)
        counter.value = 6
        await counter.save()
    loaded = await Counter.get(counter.uuid, **K)
    assert (loaded.version, loaded.value) == (2, 6)


async def test_get_rebuilds_a_snapshot_newer_than_the_event_store(K):
    counter = await Counter.create(value=1, **K)
    phantom = Counter.from_document({**_document(counter), "value": 50, "version": 7})
    await K["_snapshot"].store(phantom)
    loaded = await Counter.get(counter.uuid, **K)
    assert (loaded.version, loaded.value) == (1, 1)
    loaded.value = 3
    await loaded.save()
    assert (await Counter.get(counter.uuid, **K)).value == 3


# --- collaborators and in-place changes --------------------------------------------


async def test_saving_an_aggregate_referencing_another_instance(K):
    owner = await Owner.create(name="ann", **K)
    pet = await Pet.create(name="rex", owner=owner, **K)
    pet.name = "max"
    await pet.save()
    assert (await Pet.get(pet.uuid, **K)).version == 2
    await pet.save()  # nothing changed: nothing stored
    assert (await Pet.get(pet.uuid, **K)).version == 2


async def test_an_in_place_change_inside_a_value_object_is_saved(K):
    quiz = await Quiz.create(
        main=Choices("m", ["a"]), others=[Choices("o", ["b"])], **K
    )
    quiz.main.choices.append("NEW")
    await quiz.save()
    assert (await Quiz.get(quiz.uuid, **K)).main.choices == ["a", "NEW"]
    quiz.others[0].choices.append("MORE")
    await quiz.save()
    loaded = await Quiz.get(quiz.uuid, **K)
    assert loaded.others[0].choices == ["b", "MORE"] and loaded.version == 3


# --- validation ----------------------------------------------------------------------


async def test_update_assigns_nothing_when_one_value_is_invalid(K):
    paint = await Paint.create(name="base", color=1, **K)
    with pytest.raises(MinosModelException):
        await paint.update(name="changed", color="purple")
    assert paint.name == "base"
    await paint.save()
    loaded = await Paint.get(paint.uuid, **K)
    assert (loaded.version, loaded.name) == (1, "base")


async def test_versions_cannot_be_set_by_hand(K):
    counter = await Counter.create(value=1, **K)
    with pytest.raises(MinosAggregateException, match="version"):
        counter.version = 7
    for name in ("uuid", "created_at", "updated_at"):
        with pytest.raises(MinosAggregateException, match=name):
            setattr(counter, name, getattr(counter, name))
    with pytest.raises(MinosAggregateException, match="non-negative"):
        Counter(value=1, version=-1)
    assert (await Counter.get(counter.uuid, **K)).version == 1


@pytest.mark.parametrize(
    "name",
    ["version", "uuid", "created_at", "updated_at", "classname", "diff", "save"]
    + ["state_fields", "persisted", "get", "find", "refresh", "delete"],
)
def test_fields_named_like_aggregate_members_are_refused(name):
    with pytest.raises(MinosAggregateException, match=repr(name)):
        type(f"Clash_{name}", (Aggregate,), {"__annotations__": {name: "int"}})


# --- outbox and classes ---------------------------------------------------------------


async def test_a_broker_on_another_database_is_refused(request, tmp_path):
    repository = SqliteRepository(path=tmp_path / "events.sqlite3")
    snapshot = SqliteSnapshot(path=tmp_path / "events.sqlite3", repository=repository)
    broker = QueueBroker(SqliteRepository(path=tmp_path / "queue.sqlite3").pool)
    try:
        with pytest.raises(MinosAggregateException, match="one database"):
            await Counter.create(
                value=1, _repository=repository, _snapshot=snapshot, _broker=broker
            )
        assert await broker.topics() == []
        assert [e async for e in repository.select()] == []
        memory = InMemoryRepository()
        with pytest.raises(MinosAggregateException, match="one database"):
            await Counter.create(
                value=1,
                _repository=memory,
                _snapshot=InMemorySnapshot(repository=memory),
                _broker=broker,
            )
    finally:
        await close_database_pools()


async def test_an_explicit_classname_survives_a_rename(K):
    class Account(Aggregate):
        _classname = "bank.Account"
        owner: str

    account = await Account.create(owner="ann", **K)
    events = [e async for e in K["_repository"].select(aggregate_uuid=account.uuid)]
    assert events[0].aggregate_name == "bank.Account"

    class Renamed(Aggregate):
        _classname = "bank.Account"
        owner: str

    assert (await Renamed.get(account.uuid, **K)).owner == "ann"
    with pytest.raises(MinosSnapshotAggregateNotFoundException, match="bank.Account"):
        await Counter.get(account.uuid, **K)


async def test_conflicts_name_deletions_and_other_classes(K):
    counter = await Counter.create(value=1, **K)
    await counter.delete()
    with pytest.raises(MinosRepositoryConflictException, match="was deleted"):
        await Counter.create(value=2, uuid=counter.uuid, **K)
    paint = await Paint.create(name="p", color=1, **K)
    with pytest.raises(MinosRepositoryConflictException, match="Paint"):
        await Counter.create(value=2, uuid=paint.uuid, **K)


def _all():
    from minos.common import Condition

    return Condition.TRUE


def _document(aggregate):
    from minos.common import to_json_data

    return to_json_data(aggregate)
