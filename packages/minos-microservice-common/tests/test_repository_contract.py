"""One contract for every event store: in memory, SQLite and real PostgreSQL."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from minos.common import (
    Action,
    InMemoryRepository,
    MinosConfig,
    MinosRepositoryConflictException,
    MinosRepositoryException,
    PostgreSqlRepository,
    RepositoryEntry,
    SqliteRepository,
    close_database_pools,
)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def repository(request, tmp_path):
    if request.param == "memory":
        repo = InMemoryRepository()
    elif request.param == "sqlite":
        repo = SqliteRepository(path=tmp_path / "events.sqlite3")
    else:
        settings = request.getfixturevalue("fresh_postgres_settings")
        repo = PostgreSqlRepository(**settings)
    await repo.setup()
    yield repo
    await repo.destroy()
    await close_database_pools()


def entry(uuid, version, action="update", data=b"x", name="shop.Product"):
    return RepositoryEntry(uuid, name, version, data, Action.value_of(action))


async def history(repository, **filters):
    return [e async for e in repository.select(**filters)]


async def test_submit_assigns_ids_in_order(repository):
    a, b = uuid4(), uuid4()
    first = await repository.submit(entry(a, 1, "create", b"\x00a"))
    second = await repository.submit(entry(b, 1, "create"))
    third = await repository.submit(entry(a, 2, "update", b"\xffb"))
    assert first.id < second.id < third.id
    assert (first.version, third.version) == (1, 2)
    assert first.created_at is not None and first.created_at.tzinfo is not None

    stored = await history(repository, aggregate_uuid=a)
    assert [(e.version, e.action, e.data) for e in stored] == [
        (1, Action.CREATE, b"\x00a"),
        (2, Action.UPDATE, b"\xffb"),
    ]
    assert stored[0] == first
    assert stored[0].created_at == first.created_at


async def test_version_is_assigned_when_missing(repository):
    uuid = uuid4()
    await repository.create(entry(uuid, None, "create"))
    updated = await repository.update(entry(uuid, None, "update"))
    deleted = await repository.delete(entry(uuid, None, "delete"))
    assert (updated.version, deleted.version) == (2, 3)
    assert await repository.last_version(uuid) == 3


async def test_same_version_twice_is_a_conflict_and_stores_nothing(repository):
    uuid = uuid4()
    await repository.submit(entry(uuid, 1, "create"))
    await repository.submit(entry(uuid, 2, "update", b"first"))
    with pytest.raises(MinosRepositoryConflictException) as info:
        await repository.submit(entry(uuid, 2, "update", b"second"))
    assert info.value.aggregate_uuid == uuid
    assert info.value.version == 2
    assert info.value.last_version == 2
    assert str(uuid) in str(info.value) and "version 2" in str(info.value)
    assert [e.data for e in await history(repository, aggregate_uuid=uuid)] == [
        b"x",
        b"first",
    ]


@pytest.mark.parametrize(
    ("previous", "change", "reason"),
    [
        ([], ("update", 2), "does not exist"),
        ([("create", 1)], ("create", 1), "already exists"),
        ([("create", 1)], ("update", 3), "stored version is 1"),
        ([("create", 1), ("delete", 2)], ("update", 3), "was deleted"),
        ([("create", 1)], ("create", 2), "already exists"),
    ],
    ids=["missing", "created-twice", "gap", "after-delete", "create-as-update"],
)
async def test_changes_that_do_not_follow_the_history_conflict(
    repository, previous, change, reason
):
    uuid = uuid4()
    for action, version in previous:
        await repository.submit(entry(uuid, version, action))
    action, version = change
    with pytest.raises(MinosRepositoryConflictException, match=reason):
        await repository.submit(entry(uuid, version, action))
    assert len(await history(repository, aggregate_uuid=uuid)) == len(previous)


async def test_select_filters(repository):
    a, b = uuid4(), uuid4()
    await repository.submit(entry(a, 1, "create", name="shop.Product"))
    await repository.submit(entry(b, 1, "create", name="shop.Order"))
    for version in range(2, 6):
        await repository.submit(entry(a, version, "update"))
    await repository.submit(entry(a, 6, "delete"))

    assert len(await history(repository)) == 7
    assert len(await history(repository, aggregate_name="shop.Order")) == 1
    assert len(await history(repository, action="delete")) == 1
    assert [e.version for e in await history(repository, aggregate_uuid=a)] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]

    def versions(entries):
        return [e.version for e in entries]

    assert versions(await history(repository, aggregate_uuid=a, version=3)) == [3]
    assert versions(await history(repository, aggregate_uuid=a, version_lt=3)) == [
        1,
        2,
    ]
    assert versions(await history(repository, aggregate_uuid=a, version_le=2)) == [
        1,
        2,
    ]
    assert versions(await history(repository, aggregate_uuid=a, version_gt=4)) == [
        5,
        6,
    ]
    assert versions(await history(repository, aggregate_uuid=a, version_ge=5)) == [
        5,
        6,
    ]
    ids = [e.id for e in await history(repository)]
    assert [e.id for e in await history(repository, id_gt=ids[2])] == ids[3:]
    assert [e.id for e in await history(repository, id_ge=ids[2])] == ids[2:]
    assert [e.id for e in await history(repository, id_lt=ids[2])] == ids[:2]
    assert [e.id for e in await history(repository, id_le=ids[2])] == ids[:3]
    assert [e.id for e in await history(repository, id=ids[4])] == [ids[4]]
    assert [e.id for e in await history(repository, limit=3)] == ids[:3]
    assert await repository.last_id() == ids[-1]


async def test_select_pages_through_long_histories(repository):
    uuid = uuid4()
    await repository.submit(entry(uuid, 1, "create"))
    for version in range(2, 1203):
        await repository.submit(entry(uuid, version, "update"))
    versions = [e.version async for e in repository.select(aggregate_uuid=uuid)]
    assert versions == list(range(1, 1203))
    limited = [e.version async for e in repository.select(limit=700)]
    assert limited == list(range(1, 701))


async def test_bad_filters_are_rejected(repository):
    with pytest.raises(MinosRepositoryException, match="aggregate_uuid"):
        await history(repository, aggregate_uuid="not-a-uuid")
    with pytest.raises(MinosRepositoryException, match="version_gt"):
        await history(repository, version_gt="1; DROP TABLE aggregate_event")
    with pytest.raises(ValueError, match="unknown aggregate action"):
        await history(repository, action="truncate")
    with pytest.raises(MinosRepositoryException, match="cannot store"):
        await repository.submit({"uuid": uuid4()})


async def test_hostile_names_are_stored_verbatim(repository):
    uuid = uuid4()
    name = "x'); DROP TABLE aggregate_event; --"
    await repository.submit(entry(uuid, 1, "create", name=name))
    assert [e.aggregate_name for e in await history(repository, aggregate_name=name)]
    assert [e.aggregate_name for e in await history(repository)] == [name]


async def test_failed_transaction_stores_nothing(repository):
    uuid = uuid4()
    with pytest.raises(RuntimeError):
        async with repository.transaction():
            await repository.submit(entry(uuid, 1, "create"))
            await repository.submit(entry(uuid, 2, "update"))
            assert await repository.last_version(uuid) == 2
            raise RuntimeError("injected failure")
    assert await history(repository, aggregate_uuid=uuid) == []
    await repository.submit(entry(uuid, 1, "create"))
    assert [e.version for e in await history(repository)] == [1]


async def test_concurrent_writers_of_one_version(repository):
    uuid = uuid4()
    await repository.submit(entry(uuid, 1, "create"))

    async def write(number):
        async with repository.transaction():
            return await repository.submit(entry(uuid, 2, "update", bytes([number])))

    results = await asyncio.gather(
        *(write(n) for n in range(8)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, RepositoryEntry)]
    losers = [r for r in results if not isinstance(r, RepositoryEntry)]
    assert len(winners) == 1
    assert all(isinstance(r, MinosRepositoryConflictException) for r in losers)
    stored = await history(repository, aggregate_uuid=uuid)
    assert [e.data for e in stored] == [b"x", winners[0].data]


async def test_entries_validate_their_fields():
    with pytest.raises(TypeError, match="aggregate_uuid"):
        RepositoryEntry("nope", "a.B", 1, b"", Action.CREATE)
    with pytest.raises(TypeError, match="version"):
        RepositoryEntry(uuid4(), "a.B", 0, b"", Action.CREATE)
    with pytest.raises(TypeError, match="data"):
        RepositoryEntry(uuid4(), "a.B", 1, "text", Action.CREATE)


async def test_from_config_picks_the_backend(tmp_path, postgres_settings):
    sqlite = SqliteRepository.from_config(_config(tmp_path, {"path": "ev.sqlite3"}))
    assert isinstance(sqlite, SqliteRepository)
    postgres = PostgreSqlRepository.from_config(_config(tmp_path, postgres_settings))
    assert isinstance(postgres, PostgreSqlRepository)
    assert postgres.pool.database == postgres_settings["database"]
    embedded = PostgreSqlRepository.from_config(
        _config(tmp_path, {"path": str(tmp_path / "e.sqlite3")})
    )
    assert isinstance(embedded, SqliteRepository)
    await close_database_pools()


def _config(tmp_path, repository):
    import yaml

    path = tmp_path / f"config-{len(list(tmp_path.iterdir()))}.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "service": {"name": "shop", "aggregate": "builtins.object"},
                "repository": dict(repository),
            }
        )
    )
    return MinosConfig(path)
