"""SagaExecutionStorage on LMDB: layout, round trips, listing, bad data."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

import orjson
import pytest

from minos.common import MinosStorageLmdb
from minos.saga import (
    InMemorySagaBroker,
    MinosSagaExecutionNotFoundException,
    MinosSagaSerializationException,
    Saga,
    SagaContext,
    SagaExecution,
    SagaExecutionStorage,
    SagaStatus,
)


def reserve(context: SagaContext) -> dict:
    return {"book": context["book"]}


SAGA = Saga("Store").step().invoke_participant("Reserve", reserve).commit()


async def paused_execution(**kwargs) -> SagaExecution:
    execution = SagaExecution.from_definition(SAGA, SagaContext(book=uuid4()), **kwargs)
    await execution.execute(broker=InMemorySagaBroker(), reply_topic="R")
    return execution


async def test_store_load_delete(tmp_path):
    execution = await paused_execution()
    async with SagaExecutionStorage(path=tmp_path / "s") as storage:
        await storage.store(execution)
        assert await storage.load(execution.uuid) == execution
        assert await storage.load(str(execution.uuid)) == execution
        assert await storage.delete(execution.uuid) is True
        with pytest.raises(
            MinosSagaExecutionNotFoundException, match=str(execution.uuid)
        ):
            await storage.load(execution.uuid)


async def test_layout_is_json_by_uuid_in_one_table(tmp_path):
    execution = await paused_execution()
    async with SagaExecutionStorage(path=tmp_path / "s") as storage:
        await storage.store(execution)
    async with MinosStorageLmdb(tmp_path / "s") as raw_storage:
        value = await raw_storage.get("saga_executions", str(execution.uuid))
    raw = orjson.loads(value)
    assert raw["uuid"] == str(execution.uuid)
    assert raw["status"] == "paused"
    assert raw["definition"]["name"] == "Store"
    assert raw["context"]["book"] == {"uuid": str(execution.context["book"])}


async def test_survives_reopening_and_lists_by_status(tmp_path):
    paused = await paused_execution(reply_timeout=10)
    created = SagaExecution.from_definition(SAGA, SagaContext(book=uuid4()))
    async with SagaExecutionStorage(path=tmp_path / "s") as storage:
        await storage.store(paused)
        await storage.store(created)

    async with SagaExecutionStorage(path=tmp_path / "s") as storage:
        everything = [e.uuid async for e in storage.executions()]
        only_paused = [e async for e in storage.executions(SagaStatus.Paused)]
        deadlines = [d async for d in storage.deadlines()]
    assert sorted(everything) == sorted([paused.uuid, created.uuid])
    assert only_paused == [paused]
    assert deadlines == [(paused.uuid, paused.paused_step.deadline)]


async def test_unreadable_rows_are_clear_errors_and_skipped_by_deadlines(tmp_path):
    paused = await paused_execution(reply_timeout=10)
    async with SagaExecutionStorage(path=tmp_path / "s") as storage:
        await storage.store(paused)
        await storage.storage.put(storage.table, str(uuid4()), b"{not json")
        broken = uuid4()
        await storage.storage.put(storage.table, str(broken), b"[1, 2]")

        assert [d async for d in storage.deadlines()] == [
            (paused.uuid, paused.paused_step.deadline)
        ]
        with pytest.raises(MinosSagaSerializationException, match="not a JSON object"):
            await storage.load(broken)


def test_needs_a_storage_or_a_path():
    with pytest.raises(MinosSagaSerializationException, match="saga.storage.path"):
        SagaExecutionStorage()


async def test_from_config(tmp_path):
    config = SimpleNamespace(
        service=SimpleNamespace(name="library"),
        saga=SimpleNamespace(storage=SimpleNamespace(path=str(tmp_path / "cfg"))),
    )
    execution = await paused_execution()
    async with SagaExecutionStorage.from_config(config) as storage:
        await storage.store(execution)
    assert (tmp_path / "cfg" / "data.mdb").exists()
