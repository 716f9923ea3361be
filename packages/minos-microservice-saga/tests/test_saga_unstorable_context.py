"""A context that cannot be stored never lets a command out unrecorded."""

from __future__ import annotations

import threading

import pytest

from minos.saga import (
    InMemorySagaBroker,
    MinosSagaFailedExecutionStepException,
    Saga,
    SagaContext,
    SagaExecutionStorage,
    SagaManager,
    SagaStatus,
)


def reserve(context: SagaContext) -> str:
    return "reserve"


def reserve_and_keep_a_lock(context: SagaContext) -> str:
    context["lock"] = threading.Lock()  # cannot be stored
    return "reserve"


def release(context: SagaContext) -> str:
    return "release"


def charge(context: SagaContext) -> str:
    return "charge"


def keep_a_lock(data: object) -> object:
    return threading.Lock()


def finish_with_a_lock(context: SagaContext) -> SagaContext:
    return SagaContext(context, lock=threading.Lock())


def participants() -> dict:
    return {"Reserve": lambda data: True, "Release": lambda data: None}


def build(tmp_path, participants_=None, reply_timeout=None):
    broker = InMemorySagaBroker(
        participants() if participants_ is None else participants_
    )
    kwargs = {} if reply_timeout is None else {"reply_timeout": reply_timeout}
    manager = SagaManager(
        SagaExecutionStorage(path=tmp_path / "sagas"),
        broker,
        reply_topic="LendReply",
        **kwargs,
    )
    broker.subscribe("LendReply", lambda reply: manager.run(reply=reply))
    return manager, broker


REPLY_UNSTORABLE = (
    Saga("ReplyUnstorable")
    .step()
    .invoke_participant("Reserve", reserve)
    .with_compensation("Release", release)
    .on_reply("lock", keep_a_lock)
    .step()
    .invoke_participant("Charge", charge)
    .commit()
)


async def test_waiting_mode_fails_the_step_before_sending_and_compensates(tmp_path):
    manager, broker = build(tmp_path)
    async with manager:
        with pytest.raises(MinosSagaFailedExecutionStepException, match="'lock'") as e:
            await manager.run(REPLY_UNSTORABLE)
        await broker.drain()
        stored = await manager.get(e.value.execution.uuid)
    assert broker.topics() == ["Reserve", "Release"]  # Charge never sent
    assert stored.status is SagaStatus.Errored
    assert "its context could not be stored" in stored.error
    assert dict(stored.context) == {}


async def test_waiting_mode_callback_that_taints_the_context(tmp_path):
    saga = (
        Saga("InvokeUnstorable")
        .step()
        .invoke_participant("Reserve", reserve_and_keep_a_lock)
        .commit()
    )
    manager, broker = build(tmp_path)
    async with manager:
        execution = await manager.run(saga, raise_on_error=False)
        stored = await manager.get(execution.uuid)
    assert broker.topics() == []
    assert stored.status is SagaStatus.Errored
    assert "'lock'" in stored.error


async def test_an_unstorable_commit_result_is_stored_finished_without_context(
    tmp_path,
):
    saga = (
        Saga("CommitUnstorable")
        .step()
        .invoke_participant("Reserve", reserve)
        .with_compensation("Release", release)
        .commit(finish_with_a_lock)
    )
    manager, broker = build(tmp_path)
    async with manager:
        execution = await manager.run(saga)
        stored = await manager.get(execution.uuid)
    # The commit callback ran (its writes are done): the saga is not undone.
    assert execution.status is SagaStatus.Finished
    assert isinstance(execution.context["lock"], type(threading.Lock()))
    assert stored.status is SagaStatus.Finished
    assert "its context could not be stored" in stored.error
    assert broker.topics() == ["Reserve"]


async def test_disk_mode_unstorable_errored_execution_is_not_compensated_again(
    tmp_path,
):
    manager, broker = build(tmp_path, reply_timeout=0.2)
    async with manager:
        execution = await manager.run(REPLY_UNSTORABLE, pause_on_disk=True)
        await broker.drain()
        stored = await manager.get(execution.uuid)
    assert stored.status is SagaStatus.Errored
    assert "its context could not be stored" in stored.error
    assert broker.topics() == ["Reserve", "Release"]

    # A restart finds nothing paused: no second compensation, no false timeout.
    again, again_broker = build(tmp_path, reply_timeout=0.2)
    async with again:
        assert again._timers == {}
        assert (await again.get(execution.uuid)).error == stored.error
    assert again_broker.topics() == []
