"""Replies are applied only to the step whose command they answer."""

from __future__ import annotations

import logging
from uuid import uuid4

import pytest

from minos.saga import (
    InMemorySagaBroker,
    MinosSagaExecutionStatusException,
    Saga,
    SagaContext,
    SagaExecution,
    SagaExecutionStorage,
    SagaManager,
    SagaReply,
    SagaReplyStatus,
    SagaStatus,
)

SUCCESS, ERROR = SagaReplyStatus.SUCCESS, SagaReplyStatus.ERROR


def reserve(context: SagaContext) -> str:
    return "reserve"


def release(context: SagaContext) -> str:
    return "release"


def charge(context: SagaContext) -> str:
    return "charge"


def refund(context: SagaContext) -> str:
    return "refund"


def notify(context: SagaContext) -> str:
    return "notify"


LEND = (
    Saga("CorrelatedLend")
    .step()
    .invoke_participant("Reserve", reserve)
    .with_compensation("Release", release)
    .on_reply("reserved")
    .step()
    .invoke_participant("Charge", charge)
    .with_compensation("Refund", refund)
    .on_reply("receipt")
    .step()
    .invoke_participant("Notify", notify)
    .on_reply("notified")
    .commit()
)


def reply_to(command, status=SUCCESS, data="ok", reply_id=None) -> SagaReply:
    """The participant's reply to ``command`` (a ``SagaCommandRecord``)."""
    return SagaReply(
        command.saga,
        status,
        data,
        id=reply_id or uuid4(),
        correlation=command.correlation,
    )


@pytest.fixture
async def manager(tmp_path):
    # No participants: the test plays them, reply by reply.
    manager = SagaManager(
        SagaExecutionStorage(path=tmp_path / "sagas"),
        InMemorySagaBroker(),
        reply_topic="LendReply",
    )
    async with manager:
        yield manager


def sent(manager, topic):
    return [c for c in manager.broker.sent if c.topic == topic]


async def test_each_command_carries_its_own_correlation(manager):
    execution = await manager.run(LEND, pause_on_disk=True)
    await manager.run(reply=reply_to(sent(manager, "Reserve")[0]))
    reserve_cmd, charge_cmd = manager.broker.sent
    stored = await manager.get(execution.uuid)
    assert reserve_cmd.correlation == stored.steps[0].command_id
    assert charge_cmd.correlation == stored.steps[1].command_id
    assert reserve_cmd.correlation != charge_cmd.correlation


async def test_a_duplicate_success_of_step_0_does_not_complete_step_1(manager, caplog):
    execution = await manager.run(LEND, pause_on_disk=True)
    reserve_cmd = sent(manager, "Reserve")[0]
    await manager.run(reply=reply_to(reserve_cmd))

    with caplog.at_level(logging.INFO, logger="minos.saga"):
        await manager.run(reply=reply_to(reserve_cmd))  # another copy, new id

    stored = await manager.get(execution.uuid)
    assert stored.status is SagaStatus.Paused
    assert len(stored.steps) == 2 and stored.steps[1].reply_status is None
    assert manager.broker.topics() == ["Reserve", "Charge"]
    assert "not the one of the waiting step 1" in caplog.text


async def test_a_stale_error_of_step_0_does_not_fail_step_1(manager):
    execution = await manager.run(LEND, pause_on_disk=True)
    reserve_cmd = sent(manager, "Reserve")[0]
    await manager.run(reply=reply_to(reserve_cmd))

    await manager.run(reply=reply_to(reserve_cmd, ERROR, "stale refusal"))

    stored = await manager.get(execution.uuid)
    assert stored.status is SagaStatus.Paused
    assert manager.broker.topics() == ["Reserve", "Charge"]
    await manager.run(reply=reply_to(sent(manager, "Charge")[0]))
    await manager.run(reply=reply_to(sent(manager, "Notify")[0]))
    assert (await manager.get(execution.uuid)).status is SagaStatus.Finished


async def test_a_reply_without_correlation_is_ignored(manager):
    execution = await manager.run(LEND, pause_on_disk=True)
    await manager.run(reply=SagaReply(execution.uuid, ERROR, "who am I", id=uuid4()))
    stored = await manager.get(execution.uuid)
    assert stored.status is SagaStatus.Paused and len(stored.steps) == 1


async def test_a_second_reply_to_a_resent_command_does_not_complete_the_next_step(
    manager,
):
    """Redelivered Reserve reply -> Charge sent again -> both Charge commands are
    answered: the first completes Charge, the second must not complete Notify."""
    execution = await manager.run(LEND, pause_on_disk=True)
    reserve_reply = reply_to(sent(manager, "Reserve")[0])
    await manager.run(reply=reserve_reply)
    await manager.run(reply=reserve_reply)  # redelivered: Charge sent again

    first, second = sent(manager, "Charge")
    assert first.correlation == second.correlation  # the same command, twice
    await manager.run(reply=reply_to(first, data="R-1"))
    await manager.run(reply=reply_to(second, data="R-2"))

    stored = await manager.get(execution.uuid)
    assert stored.status is SagaStatus.Paused  # Notify never replied
    assert stored.context["receipt"] == "R-1"
    assert manager.broker.topics() == ["Reserve", "Charge", "Charge", "Notify"]


async def test_twenty_copies_of_one_reply_resend_the_command_once(manager):
    execution = await manager.run(LEND, pause_on_disk=True)
    reserve_reply = reply_to(sent(manager, "Reserve")[0])
    for _ in range(21):
        await manager.run(reply=reserve_reply)
    assert manager.broker.topics() == ["Reserve", "Charge", "Charge"]
    stored = await manager.get(execution.uuid)
    assert stored.steps[1].resent_for == reserve_reply.id


async def test_an_older_redelivered_reply_does_not_resend(manager):
    execution = await manager.run(LEND, pause_on_disk=True)
    reserve_reply = reply_to(sent(manager, "Reserve")[0])
    await manager.run(reply=reserve_reply)
    await manager.run(reply=reply_to(sent(manager, "Charge")[0]))
    await manager.run(reply=reserve_reply)  # two steps back: Notify was not its doing
    assert manager.broker.topics() == ["Reserve", "Charge", "Notify"]
    assert (await manager.get(execution.uuid)).status is SagaStatus.Paused


async def test_waiting_mode_ignores_stale_and_duplicate_replies(tmp_path):
    class Echoing(InMemorySagaBroker):
        """Answers Reserve twice and, when Charge is sent, repeats a stale
        ERROR for Reserve first."""

        async def send(self, data, topic, *, reply_topic, **kwargs):
            await super().send(data, topic, reply_topic=reply_topic, **kwargs)
            command = self.sent[-1]
            if reply_topic is None:
                return
            if topic == "Charge":
                stale = [c for c in self.sent if c.topic == "Reserve"][0]
                await self.deliver(reply_topic, reply_to(stale, ERROR, "stale"))
            await self.deliver(reply_topic, reply_to(command))
            if topic == "Reserve":
                await self.deliver(reply_topic, reply_to(command))

    broker = Echoing()
    async with SagaManager(SagaExecutionStorage(path=tmp_path / "s"), broker) as mgr:
        execution = await mgr.run(LEND)
    assert execution.status is SagaStatus.Finished
    assert broker.topics() == ["Reserve", "Charge", "Notify"]


async def test_execute_refuses_a_reply_to_another_command():
    broker = InMemorySagaBroker()
    execution = SagaExecution.from_definition(LEND)
    await execution.execute(broker=broker)
    with pytest.raises(MinosSagaExecutionStatusException, match="waits for the reply"):
        await execution.execute(
            SagaReply(execution.uuid, SUCCESS, correlation=uuid4()), broker=broker
        )
    assert execution.status is SagaStatus.Paused


async def test_networks_replies_are_correlated_by_the_trace_id():
    from minos.networks import CommandReply

    saga = uuid4()
    command = uuid4()
    reply = SagaReply.from_message(CommandReply("X", 1, saga, trace_id=command))
    assert reply.correlation == command
