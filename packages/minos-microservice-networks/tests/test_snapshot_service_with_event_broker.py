"""Aggregates with the real EventBroker: the event row, the snapshot row and the
outbox rows commit together, and SnapshotService serves what other processes
stored (SQLite and real PostgreSQL)."""

from __future__ import annotations

import pytest

from minos.common import (
    Aggregate,
    AggregateDiff,
    Condition,
    PostgreSqlRepository,
    PostgreSqlSnapshot,
    SqliteRepository,
    SqliteSnapshot,
    close_database_pools,
)
from minos.networks import Event, EventBroker, SnapshotService


class Seat(Aggregate):
    row: str
    taken: bool


class FailingBroker(EventBroker):
    """Fails after queueing ``fail_after`` in the outbox."""

    fail_after: str | None = None

    async def send(self, data, topic, **kwargs):
        message_id = await super().send(data, topic, **kwargs)
        if topic == self.fail_after:
            raise RuntimeError(f"injected failure after queueing {topic}")
        return message_id


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request, tmp_path):
    if request.param == "sqlite":
        repository = SqliteRepository(path=tmp_path / "service.sqlite3")
        snapshot = SqliteSnapshot(
            path=tmp_path / "service.sqlite3", repository=repository
        )
    else:
        settings = request.getfixturevalue("fresh_postgres_settings")
        repository = PostgreSqlRepository(**settings)
        snapshot = PostgreSqlSnapshot(**settings, repository=repository)
    broker = FailingBroker(repository.pool, service_name="seats")
    for component in (repository, snapshot, broker):
        await component.setup()
    yield repository, snapshot, broker
    await close_database_pools()


async def outbox(pool):
    async with pool.connection() as conn:
        rows = await conn.fetchall(
            "SELECT topic, key, payload FROM producer_queue ORDER BY id"
        )
    return [(topic, key, Event.from_avro_bytes(bytes(raw))) for topic, key, raw in rows]


async def test_save_queues_its_events_in_the_same_transaction(world):
    repository, snapshot, broker = world
    kw = {"_repository": repository, "_snapshot": snapshot, "_broker": broker}
    seat = await Seat.create("A", False, **kw)
    seat.taken = True
    await seat.save()

    queued = await outbox(repository.pool)
    assert [(topic, key) for topic, key, _ in queued] == [
        ("SeatCreated", str(seat.uuid)),
        ("SeatUpdated", str(seat.uuid)),
        ("SeatUpdated.taken", str(seat.uuid)),
    ]
    diff = queued[2][2].data
    assert isinstance(diff, AggregateDiff)
    assert (diff.uuid, diff.version, diff.get_one("taken")) == (seat.uuid, 2, True)

    broker.fail_after = "SeatUpdated"
    seat.row = "B"
    with pytest.raises(RuntimeError, match="after queueing SeatUpdated"):
        await seat.save()
    assert len(await outbox(repository.pool)) == 3
    assert [e.version async for e in repository.select(aggregate_uuid=seat.uuid)] == [
        1,
        2,
    ]
    stored = await Seat.get(seat.uuid, **kw)
    assert (stored.row, stored.version) == ("A", 2)


async def test_snapshot_service_serves_what_another_writer_stored(world):
    repository, snapshot, broker = world
    other = Seat("Z", True)
    await repository.submit(AggregateDiff.from_aggregate(other))
    service = SnapshotService(snapshot=snapshot, interval=60)
    await service.start()
    try:
        await service.synchronize()
        found = [
            s.row
            async for s in Seat.find(Condition.EQUAL("taken", True), _snapshot=snapshot)
        ]
        assert found == ["Z"]
    finally:
        await service.stop()
