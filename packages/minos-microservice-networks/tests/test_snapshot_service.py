"""SnapshotService keeps snapshots caught up with events stored without them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import yaml

from minos.common import (
    Aggregate,
    AggregateDiff,
    Condition,
    DependencyInjector,
    InMemoryRepository,
    InMemorySnapshot,
    MinosConfig,
    MinosSnapshotException,
    Ordering,
    PostgreSqlRepository,
    PostgreSqlSnapshot,
    SqliteRepository,
    SqliteSnapshot,
    close_database_pools,
)
from minos.networks import SnapshotService


class Ticket(Aggregate):
    title: str
    seats: int


@pytest.fixture(params=["sqlite", "postgresql"])
async def stores(request, tmp_path):
    if request.param == "sqlite":
        repository = SqliteRepository(path=tmp_path / "events.sqlite3")
        snapshot = SqliteSnapshot(
            path=tmp_path / "events.sqlite3", repository=repository
        )
    else:
        settings = request.getfixturevalue("fresh_postgres_settings")
        repository = PostgreSqlRepository(**settings)
        snapshot = PostgreSqlSnapshot(**settings, repository=repository)
    await snapshot.setup()
    yield repository, snapshot
    await close_database_pools()


async def titles(snapshot):
    return [
        t.title
        async for t in snapshot.find(Ticket, Condition.TRUE, Ordering.ASC("title"))
    ]


async def eventually(check):
    """Poll ``check`` until it returns something truthy (5 seconds at most)."""
    for _ in range(250):
        if result := await check():
            return result
        await asyncio.sleep(0.02)
    raise AssertionError("the snapshot did not catch up in 5 seconds")


async def test_events_stored_directly_reach_find(stores):
    repository, snapshot = stores
    service = SnapshotService(snapshot=snapshot, interval=0.05)
    await service.start()
    try:
        first = Ticket("Opera", 2)
        await repository.submit(AggregateDiff.from_aggregate(first))
        assert await eventually(lambda: titles(snapshot)) == ["Opera"]

        second = Ticket("Ballet", 4)
        await repository.submit(AggregateDiff.from_aggregate(second))
        stored = Ticket.from_diff(AggregateDiff.from_aggregate(first))
        stored.seats = 0
        update = AggregateDiff.from_difference(stored, {"title": "Opera", "seats": 2})
        await repository.submit(update)
        service.wake()

        async def caught_up():
            found = [
                (t.title, t.seats)
                async for t in snapshot.find(
                    Ticket, Condition.TRUE, Ordering.ASC("title")
                )
            ]
            return found if found == [("Ballet", 4), ("Opera", 0)] else None

        assert await eventually(caught_up)
    finally:
        await service.stop()
    assert service._task is None


async def test_it_keeps_running_when_a_round_fails(caplog):
    class FlakySnapshot(InMemorySnapshot):
        failures = 2

        async def synchronize(self):
            if self.failures:
                self.failures -= 1
                raise ConnectionError("database restarting")
            return await super().synchronize()

    repository = InMemoryRepository()
    snapshot = FlakySnapshot(repository=repository)
    snapshot.commit_margin = timedelta(0)
    await repository.submit(AggregateDiff.from_aggregate(Ticket("Jazz", 1)))
    service = SnapshotService(snapshot=snapshot, interval=0.02)
    await service.start()
    try:

        async def offset_moved():
            return await snapshot.synchronized_until() > 0

        assert await eventually(offset_moved)
    finally:
        await service.stop()
    assert snapshot.failures == 0
    assert "Snapshot catch-up failed" in caplog.text


async def test_built_from_config_with_the_snapshot_injection(tmp_path):
    database = {"path": str(tmp_path / "service.sqlite3")}
    path = tmp_path / "config.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "service": {
                    "name": "tickets",
                    "injections": {
                        "repository": "minos.common.PostgreSqlRepository",
                        "snapshot": "minos.common.PostgreSqlSnapshot",
                    },
                    "services": ["minos.networks.SnapshotService"],
                },
                "repository": database,
                "snapshot": database,
            }
        )
    )
    config = MinosConfig(path)
    injector = DependencyInjector(config)
    await injector.wire()
    try:
        service = SnapshotService.from_config(config)
        assert service.snapshot is injector.get("snapshot")
        await service.start()
        await service.stop()
    finally:
        await injector.unwire()
        await close_database_pools()

    with pytest.raises(MinosSnapshotException, match="'snapshot' injection"):
        await SnapshotService.from_config(config).start()
    with pytest.raises(ValueError, match="interval"):
        SnapshotService(interval=0)
