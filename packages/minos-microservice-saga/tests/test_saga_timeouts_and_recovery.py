"""Hanging callbacks, bad timeouts, odd stored deadlines, failed compensations."""

from __future__ import annotations

import asyncio
import math

import orjson
import pytest

from minos.saga import (
    InMemorySagaBroker,
    MinosSagaException,
    MinosSagaExecutionException,
    MinosSagaFailedExecutionStepException,
    MinosSagaSerializationException,
    Saga,
    SagaContext,
    SagaExecution,
    SagaExecutionStorage,
    SagaManager,
    SagaStatus,
    SagaStepStatus,
)


def reserve(context: SagaContext) -> str:
    return "reserve"


def release(context: SagaContext) -> str:
    return "release"


def charge(context: SagaContext) -> str:
    return "charge"


async def hang(value: object) -> object:
    await asyncio.Event().wait()


LEND = (
    Saga("BoundedLend")
    .step()
    .invoke_participant("Reserve", reserve)
    .with_compensation("Release", release)
    .step()
    .invoke_participant("Charge", charge)
    .commit()
)


def build(tmp_path, participants, **kwargs):
    broker = InMemorySagaBroker(participants)
    manager = SagaManager(
        SagaExecutionStorage(path=tmp_path / "sagas"),
        broker,
        reply_topic="LendReply",
        **kwargs,
    )
    broker.subscribe("LendReply", lambda reply: manager.run(reply=reply))
    return manager, broker


def ok(data: object) -> bool:
    return True


@pytest.mark.parametrize("where", ["invoke", "reply", "commit", "compensation"])
@pytest.mark.parametrize("pause_on_disk", [False, True])
async def test_a_hanging_callback_fails_its_step_and_compensates(
    tmp_path, where, pause_on_disk
):
    saga = Saga(f"Hanging-{where}").step().invoke_participant("Reserve", reserve)
    saga = saga.with_compensation(
        "Release", hang if where == "compensation" else release
    )
    if where == "reply":
        saga = saga.on_reply("reserved", hang)
    saga = saga.step().invoke_participant(
        "Charge", hang if where == "invoke" else charge
    )
    if where == "compensation":
        saga = saga.on_reply("charged", hang)
    saga = saga.commit(hang if where == "commit" else None)

    manager, broker = build(
        tmp_path, {"Reserve": ok, "Release": ok, "Charge": ok}, reply_timeout=0.2
    )
    async with manager, asyncio.timeout(5):
        execution = await manager.run(
            saga, pause_on_disk=pause_on_disk, raise_on_error=False
        )
        await broker.drain()
        stored = await manager.get(execution.uuid)
    assert stored.status is SagaStatus.Errored
    assert "did not return within 0.2s" in stored.error
    if where == "compensation":
        assert stored.steps[0].status is SagaStepStatus.CompensationFailed
        assert "failed to compensate: Release" in stored.error
    elif where == "commit":
        assert broker.topics() == ["Reserve", "Charge", "Release"]
    else:  # the step failed before Charge was sent
        assert broker.topics() == ["Reserve", "Release"]


BAD_TIMEOUTS = [math.nan, math.inf, -math.inf, True, False, -1, 0, "5", [1]]


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
async def test_bad_reply_timeouts_are_refused_everywhere(tmp_path, value):
    with pytest.raises(MinosSagaExecutionException, match="positive, finite"):
        SagaManager(
            SagaExecutionStorage(path=tmp_path / "a"),
            InMemorySagaBroker(),
            reply_timeout=value,
        )
    manager, _ = build(tmp_path, {})
    async with manager:
        with pytest.raises(MinosSagaExecutionException, match="positive, finite"):
            await manager.run(LEND, reply_timeout=value)
    with pytest.raises(MinosSagaExecutionException, match="positive, finite"):
        SagaExecution.from_definition(LEND, reply_timeout=value)

    execution = SagaExecution.from_definition(LEND)
    raw = execution.raw
    raw["reply_timeout"] = value
    with pytest.raises(MinosSagaSerializationException, match="positive, finite"):
        SagaExecution.from_raw(raw)


async def test_a_naive_stored_deadline_is_utc_and_one_bad_record_is_skipped(
    tmp_path, caplog
):
    manager, broker = build(tmp_path, {"Reserve": ok, "Release": ok}, reply_timeout=30)
    async with manager:
        execution = await manager.run(LEND, pause_on_disk=True)
        await broker.drain()
        stored = await manager.get(execution.uuid)
    assert stored.paused_step.definition.invoke_participant_operation.name == "Charge"

    async with SagaExecutionStorage(path=tmp_path / "sagas") as storage:
        raw = stored.raw
        raw["steps"][-1]["deadline"] = "2020-01-01T00:00:00"  # naive, long past
        await storage.storage.put(storage.table, raw["uuid"], orjson.dumps(raw))
        bad = {**raw, "uuid": "00000000-0000-0000-0000-000000000001"}
        bad["steps"] = [*raw["steps"][:-1], {**raw["steps"][-1], "deadline": "soon"}]
        await storage.storage.put(storage.table, bad["uuid"], orjson.dumps(bad))

    again, again_broker = build(tmp_path, {"Release": ok}, reply_timeout=30)
    async with again, asyncio.timeout(5):
        while True:
            if (await again.get(execution.uuid)).status is SagaStatus.Errored:
                break
            await asyncio.sleep(0.02)
        await again_broker.drain()
    assert again_broker.topics() == ["Release"]
    assert "skipped the unreadable saga execution" in caplog.text


class Flaky:
    """A Release participant whose compensation callback fails until fixed."""

    broken = True


def flaky_release(context: SagaContext) -> str:
    if Flaky.broken:
        raise ConnectionError("stock service unknown")
    return "release"


async def test_a_failed_compensation_is_recorded_and_can_be_retried(tmp_path):
    saga = (
        Saga("FlakyLend")
        .step()
        .invoke_participant("Reserve", reserve)
        .with_compensation("Release", flaky_release)
        .step()
        .invoke_participant("Charge", charge)
        .commit()
    )
    manager, broker = build(
        tmp_path,
        {"Reserve": ok, "Release": ok, "Charge": lambda data: 1 / 0},
    )
    Flaky.broken = True
    async with manager:
        with pytest.raises(MinosSagaFailedExecutionStepException) as info:
            await manager.run(saga)
        uuid = info.value.execution.uuid
        stored = await manager.get(uuid)
        assert "failed to compensate: Release" in stored.error
        assert "stock service unknown" in stored.error
        assert stored.uncompensated_steps == [0]
        assert stored.steps[0].status is SagaStepStatus.CompensationFailed
        assert broker.topics() == ["Reserve", "Charge"]

        Flaky.broken = False
        retried = await manager.compensate(uuid)
        await broker.drain()
        stored = await manager.get(uuid)
    assert retried.uncompensated_steps == []
    assert stored.steps[0].status is SagaStepStatus.Compensated
    assert "compensated later: Release" in stored.error
    assert broker.topics() == ["Reserve", "Charge", "Release"]


async def test_two_storages_on_one_directory_are_refused(tmp_path):
    async with SagaExecutionStorage(path=tmp_path / "one"):
        with pytest.raises(MinosSagaException, match="in use by another saga"):
            async with SagaExecutionStorage(path=tmp_path / "one"):
                pass
    async with SagaExecutionStorage(path=tmp_path / "one"):
        pass  # released by the first one's destroy
