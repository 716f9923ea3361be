"""Aggregate workloads on PostgreSQL: create, change+save, get from the snapshot.

The framework sides run the same code (the seed's ``Aggregate`` API) against
a fresh database; the ceilings do the same round trips with psycopg alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..measure import loop_args, timed_concurrent
from .raw import EVENT_TABLE, INSERT_EVENT, connections, event_row

__all__ = [
    "create_ceiling",
    "create_ours",
    "create_peer",
    "get_ceiling",
    "get_ours",
    "get_peer",
    "update_ceiling",
    "update_ours",
    "update_peer",
]


def _new_item(index: int) -> Any:
    from ..app.aggregates import Item, Location

    return Item.create(
        name=f"item-{index}",
        count=index,
        tags=["bench", f"batch-{index % 7}"],
        location=Location(street="Main Street 1", city="Springfield"),
    )


async def _check_stored(item: Any, **expected: Any) -> None:
    """Read ``item`` back through ``Aggregate.get``: the writes really happened."""
    from ..app.aggregates import Item

    stored = await Item.get(item.uuid)
    for name, value in expected.items():
        if getattr(stored, name) != value:
            raise AssertionError(
                f"Item.get({item.uuid}) has {name}={getattr(stored, name)!r}, "
                f"not {value!r}"
            )


async def _framework_create(params: dict[str, Any]) -> dict[str, Any]:
    from ..app.boot import booted

    async with booted(params):
        created: list[Any] = []

        async def operation(index: int) -> None:
            created.append(await _new_item(index))

        measured = await timed_concurrent(
            operation, concurrency=int(params["concurrency"]), **loop_args(params)
        )
        await _check_stored(created[-1], name=created[-1].name)
        return measured


create_ours = _framework_create
create_peer = _framework_create


async def _insert_loop(params: dict[str, Any], concurrency: int) -> dict[str, Any]:
    """Committed INSERTs of event-sized rows, one connection per client.

    In autocommit mode each INSERT is its own transaction, committed in the
    same round trip: the cheapest durable write psycopg can make.
    """
    async with connections(params["postgres"], concurrency, autocommit=True) as pool:
        connection = await pool.get()
        await connection.execute(EVENT_TABLE)
        pool.put_nowait(connection)

        async def operation(index: int) -> None:
            connection = await pool.get()
            try:
                await connection.execute(INSERT_EVENT, event_row(uuid.uuid4(), 1))
            finally:
                pool.put_nowait(connection)

        return await timed_concurrent(
            operation, concurrency=concurrency, **loop_args(params)
        )


async def create_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    return await _insert_loop(params, int(params["concurrency"]))


async def _framework_update(params: dict[str, Any]) -> dict[str, Any]:
    from ..app.boot import booted

    async with booted(params):
        items = [await _new_item(index) for index in range(int(params["aggregates"]))]

        async def operation(index: int) -> None:
            item = items[index % len(items)]
            item.count += 1
            await item.save()

        measured = await timed_concurrent(operation, concurrency=1, **loop_args(params))
        await _check_stored(items[0], count=items[0].count)
        return measured


update_ours = _framework_update
update_peer = _framework_update


async def update_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    return await _insert_loop(params, 1)


async def _framework_get(params: dict[str, Any]) -> dict[str, Any]:
    from ..app.aggregates import Item
    from ..app.boot import booted

    async with booted(params):
        items = [await _new_item(index) for index in range(int(params["aggregates"]))]
        uuids = [item.uuid for item in items]

        async def operation(index: int) -> None:
            item = await Item.get(uuids[index % len(uuids)])
            if index < 3 and item.uuid != uuids[index % len(uuids)]:
                raise AssertionError(f"Item.get answered another aggregate: {item!r}")

        return await timed_concurrent(operation, concurrency=1, **loop_args(params))


get_ours = _framework_get
get_peer = _framework_get


SNAPSHOT_TABLE = """
CREATE TABLE IF NOT EXISTS ceiling_snapshot (
    uuid UUID PRIMARY KEY,
    name TEXT NOT NULL,
    version INT NOT NULL,
    data JSONB NOT NULL
)
"""


async def get_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    """psycopg SELECT of one snapshot row by primary key, decoded from JSONB."""
    from psycopg.types.json import Jsonb

    uuids = [uuid.uuid4() for _ in range(int(params["aggregates"]))]
    async with connections(params["postgres"], 1, autocommit=True) as pool:
        connection = await pool.get()
        await connection.execute(SNAPSHOT_TABLE)
        for index, key in enumerate(uuids):
            document = {"name": f"item-{index}", "count": index, "tags": ["bench"]}
            await connection.execute(
                "INSERT INTO ceiling_snapshot VALUES (%s, %s, %s, %s)",
                (key, "benchmarks.app.aggregates.Item", 1, Jsonb(document)),
            )

        async def operation(index: int) -> None:
            cursor = await connection.execute(
                "SELECT uuid, version, data FROM ceiling_snapshot WHERE uuid = %s",
                (uuids[index % len(uuids)],),
            )
            if await cursor.fetchone() is None:
                raise AssertionError("the snapshot row vanished")

        return await timed_concurrent(operation, concurrency=1, **loop_args(params))
