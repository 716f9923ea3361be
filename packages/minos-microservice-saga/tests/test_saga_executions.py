"""The execution engine, driven reply by reply with an in-process broker."""

from __future__ import annotations

from uuid import uuid4

import orjson
import pytest

from minos.saga import (
    InMemorySagaBroker,
    MinosSagaDefinitionException,
    MinosSagaExecutionStatusException,
    MinosSagaFailedCommitCallbackException,
    MinosSagaFailedExecutionStepException,
    MinosSagaNotCommittedException,
    MinosSagaStepTimeoutException,
    Saga,
    SagaContext,
    SagaExecution,
    SagaReply,
    SagaReplyStatus,
    SagaStatus,
    SagaStepStatus,
)

SUCCESS, ERROR, SYSTEM_ERROR = (
    SagaReplyStatus.SUCCESS,
    SagaReplyStatus.ERROR,
    SagaReplyStatus.SYSTEM_ERROR,
)


def reserve(context: SagaContext) -> dict:
    return {"book": context["book"]}


def release(context: SagaContext) -> dict:
    return {"book": context["book"], "why": "compensation"}


async def charge(context: SagaContext) -> dict:
    return {"reader": context["reader"], "amount": 5}


async def refund(context: SagaContext) -> dict:
    return {"reader": context["reader"], "receipt": context["receipt"]}


def notify(context: SagaContext) -> str:
    return f"{context['reader']} borrowed {context['book']}"


def unnotify(context: SagaContext) -> str:
    return "sorry"


def read_receipt(data: dict) -> str:
    return data["receipt"]


async def finish(context: SagaContext) -> SagaContext:
    return SagaContext(context, done=True)


def finish_badly(context: SagaContext) -> SagaContext:
    raise RuntimeError("no loan table")


def finish_with_wrong_type(context: SagaContext) -> int:
    return 3


def exploding(context: SagaContext) -> dict:
    raise ValueError("bad input")


def exploding_reply(data: dict) -> str:
    raise KeyError("receipt")


def lend_saga(commit=finish) -> Saga:
    return (
        Saga("Lend")
        .step()
        .invoke_participant("Reserve", reserve)
        .with_compensation("Release", release)
        .on_reply("reserved")
        .step()
        .invoke_participant("Charge", charge)
        .with_compensation("Refund", refund)
        .on_reply("receipt", read_receipt)
        .step()
        .invoke_participant("Notify", notify)
        .with_compensation("Unnotify", unnotify)
        .commit(commit)
    )


REPLIES = [True, {"receipt": "R-1"}, "sent"]


def answer(execution: SagaExecution, status, data=None) -> SagaReply:
    """The reply of the participant to the command the execution waits for."""
    step = execution.paused_step
    correlation = step.command_id if step is not None else None
    return SagaReply(execution.uuid, status, data, correlation=correlation)


def new_execution(saga: Saga | None = None, **kwargs) -> SagaExecution:
    context = SagaContext(book="B-1", reader="ann")
    return SagaExecution.from_definition(saga or lend_saga(), context, **kwargs)


async def run_with_replies(execution, broker, statuses):
    """Start ``execution`` and answer its steps with ``statuses`` in order."""
    await execution.execute(broker=broker, reply_topic="LendReply")
    for index, status in enumerate(statuses):
        data = REPLIES[index] if status is SUCCESS else "it went wrong"
        await execution.execute(
            answer(execution, status, data),
            broker=broker,
            reply_topic="LendReply",
        )


async def test_first_execute_sends_the_first_command_and_pauses():
    broker = InMemorySagaBroker()
    execution = new_execution()
    assert execution.status is SagaStatus.Created

    await execution.execute(broker=broker, reply_topic="LendReply")

    assert execution.status is SagaStatus.Paused
    assert execution.paused_step is execution.steps[0]
    assert execution.steps[0].status is SagaStepStatus.Paused
    assert broker.topics() == ["Reserve"]
    assert broker.sent[-1].data == {"book": "B-1"}
    assert broker.sent[-1].reply_topic == "LendReply"
    assert broker.sent[-1].saga == execution.uuid


async def test_full_success():
    broker = InMemorySagaBroker()
    execution = new_execution()
    await run_with_replies(execution, broker, [SUCCESS, SUCCESS, SUCCESS])

    assert execution.status is SagaStatus.Finished
    assert broker.topics() == ["Reserve", "Charge", "Notify"]
    assert broker.sent[1].data == {"reader": "ann", "amount": 5}
    assert broker.sent[2].data == "ann borrowed B-1"
    assert [s.status for s in execution.steps] == [SagaStepStatus.Finished] * 3
    assert execution.context == SagaContext(
        book="B-1", reader="ann", reserved=True, receipt="R-1", done=True
    )
    assert execution.error is None


@pytest.mark.parametrize(
    ("failing", "compensations"),
    [(0, []), (1, ["Release"]), (2, ["Refund", "Release"])],
)
@pytest.mark.parametrize("status", [ERROR, SYSTEM_ERROR])
async def test_failure_compensates_completed_steps_in_reverse(
    failing, compensations, status
):
    broker = InMemorySagaBroker()
    execution = new_execution()
    statuses = [SUCCESS] * failing + [status]

    with pytest.raises(MinosSagaFailedExecutionStepException) as info:
        await run_with_replies(execution, broker, statuses)

    forward = ["Reserve", "Charge", "Notify"][: failing + 1]
    assert broker.topics() == forward + compensations
    assert execution.status is SagaStatus.Errored
    failed = execution.steps[failing]
    assert failed.status is SagaStepStatus.Errored
    assert failed.reply_status is status
    assert f"replied {status.name}: it went wrong" in failed.error
    assert all(
        s.status is SagaStepStatus.Compensated for s in execution.steps[:failing]
    )
    assert info.value.execution is execution
    assert info.value.step == failing
    assert f"at step {failing}" in str(info.value)
    assert f"compensated: {', '.join(compensations) or 'nothing'}" in execution.error
    for command in broker.sent[len(forward) :]:
        assert command.reply_topic is None  # compensations expect no reply


async def test_compensation_commands_carry_the_callbacks_data():
    broker = InMemorySagaBroker()
    execution = new_execution()
    with pytest.raises(MinosSagaFailedExecutionStepException):
        await run_with_replies(execution, broker, [SUCCESS, SUCCESS, ERROR])

    refund_command, release_command = broker.sent[3:]
    assert refund_command.data == {"reader": "ann", "receipt": "R-1"}
    assert release_command.data == {"book": "B-1", "why": "compensation"}
    assert {c.saga for c in broker.sent} == {execution.uuid}


async def test_commit_failure_compensates_every_step():
    broker = InMemorySagaBroker()
    execution = new_execution(lend_saga(commit=finish_badly))

    with pytest.raises(MinosSagaFailedCommitCallbackException, match="no loan table"):
        await run_with_replies(execution, broker, [SUCCESS, SUCCESS, SUCCESS])

    assert broker.topics()[3:] == ["Unnotify", "Refund", "Release"]
    assert execution.status is SagaStatus.Errored
    assert "at commit" in execution.error


async def test_commit_returning_a_non_context_fails():
    broker = InMemorySagaBroker()
    execution = new_execution(lend_saga(commit=finish_with_wrong_type))
    with pytest.raises(MinosSagaFailedCommitCallbackException, match="SagaContext"):
        await run_with_replies(execution, broker, [SUCCESS, SUCCESS, SUCCESS])
    assert broker.topics()[3:] == ["Unnotify", "Refund", "Release"]


async def test_commit_without_callback_keeps_the_context():
    saga = Saga("Plain").step().invoke_participant("Reserve", reserve).commit()
    broker = InMemorySagaBroker()
    execution = new_execution(saga)
    await execution.execute(broker=broker)
    await execution.execute(answer(execution, SUCCESS), broker=broker)
    assert execution.status is SagaStatus.Finished
    assert execution.context == SagaContext(book="B-1", reader="ann")


async def test_invoke_callback_failure_sends_nothing_for_that_step():
    saga = (
        Saga("Broken")
        .step()
        .invoke_participant("Reserve", reserve)
        .with_compensation("Release", release)
        .step()
        .invoke_participant("Charge", exploding)
        .with_compensation("Refund", refund)
        .commit()
    )
    broker = InMemorySagaBroker()
    execution = new_execution(saga)
    await execution.execute(broker=broker)

    with pytest.raises(MinosSagaFailedExecutionStepException, match="bad input"):
        await execution.execute(answer(execution, SUCCESS), broker=broker)

    assert broker.topics() == ["Reserve", "Release"]
    assert execution.steps[1].status is SagaStepStatus.Errored
    assert execution.steps[1].reply_status is None


async def test_reply_handler_failure_compensates_that_step_too():
    """Its participant replied SUCCESS: its work happened and must be undone."""
    saga = (
        Saga("ReplyFails")
        .step()
        .invoke_participant("Reserve", reserve)
        .with_compensation("Release", release)
        .step()
        .invoke_participant("Charge", charge)
        .with_compensation("Refund", refund)
        .on_reply("receipt", exploding_reply)
        .commit()
    )
    broker = InMemorySagaBroker()
    execution = new_execution(saga)
    execution.context["receipt"] = "none yet"
    await execution.execute(broker=broker)
    await execution.execute(answer(execution, SUCCESS), broker=broker)

    with pytest.raises(MinosSagaFailedExecutionStepException, match="reply handler"):
        await execution.execute(answer(execution, SUCCESS, {"x": 1}), broker=broker)

    assert broker.topics() == ["Reserve", "Charge", "Refund", "Release"]


async def test_expire_fails_the_waiting_step_with_a_timeout_error():
    broker = InMemorySagaBroker()
    execution = new_execution(reply_timeout=0.5)
    await run_with_replies(execution, broker, [SUCCESS])
    assert execution.paused_step.deadline is not None

    with pytest.raises(
        MinosSagaStepTimeoutException, match=r"did not reply within 0.5s"
    ):
        await execution.expire(broker=broker)

    assert broker.topics() == ["Reserve", "Charge", "Release"]
    assert execution.status is SagaStatus.Errored
    assert execution.steps[1].status is SagaStepStatus.Errored


async def test_send_failure_fails_the_step():
    class Unreachable(InMemorySagaBroker):
        async def send(self, data, topic, **kwargs):
            if topic == "Charge":
                raise ConnectionError("broker down")
            await super().send(data, topic, **kwargs)

    broker = Unreachable()
    execution = new_execution()
    await execution.execute(broker=broker)
    with pytest.raises(MinosSagaFailedExecutionStepException, match="broker down"):
        await execution.execute(answer(execution, SUCCESS), broker=broker)
    assert broker.topics() == ["Reserve", "Release"]


async def test_persist_runs_before_each_command_is_sent():
    broker = InMemorySagaBroker()
    execution = new_execution()
    seen = []

    async def persist(current):
        seen.append((current.status, len(broker.sent), len(current.steps)))

    await execution.execute(broker=broker, persist=persist)
    await execution.execute(
        answer(execution, SUCCESS, True), broker=broker, persist=persist
    )
    assert seen == [(SagaStatus.Paused, 0, 1), (SagaStatus.Paused, 1, 2)]


async def test_status_rules():
    broker = InMemorySagaBroker()
    execution = new_execution()
    with pytest.raises(MinosSagaExecutionStatusException, match="not waiting"):
        await execution.execute(answer(execution, SUCCESS), broker=broker)

    await execution.execute(broker=broker)
    with pytest.raises(
        MinosSagaExecutionStatusException, match="waiting for the reply"
    ):
        await execution.execute(broker=broker)

    await run_with_replies_from_paused(execution, broker)
    with pytest.raises(MinosSagaExecutionStatusException, match="already Finished"):
        await execution.execute(broker=broker)
    with pytest.raises(MinosSagaExecutionStatusException, match="not waiting"):
        await execution.expire(broker=broker)


async def run_with_replies_from_paused(execution, broker):
    for data in REPLIES:
        await execution.execute(answer(execution, SUCCESS, data), broker=broker)


def test_uncommitted_sagas_cannot_run():
    saga = Saga("Open")
    saga.step().invoke_participant("Reserve", reserve)
    with pytest.raises(MinosSagaNotCommittedException):
        SagaExecution.from_definition(saga)


@pytest.mark.parametrize("timeout", [0, -1, "5"])
def test_reply_timeout_must_be_positive(timeout):
    with pytest.raises(MinosSagaExecutionStatusException, match="positive"):
        new_execution(reply_timeout=timeout)


async def test_raw_round_trip_of_a_paused_execution():
    broker = InMemorySagaBroker()
    user = uuid4()
    execution = new_execution(user=user, reply_timeout=30)
    await run_with_replies(execution, broker, [SUCCESS])

    stored = orjson.loads(orjson.dumps(execution.raw))
    again = SagaExecution.from_raw(stored)

    assert again == execution
    assert again.uuid == execution.uuid
    assert again.status is SagaStatus.Paused
    assert again.user == user
    assert again.reply_timeout == 30
    assert again.context == execution.context
    assert again.definition == execution.definition
    assert again.paused_step.deadline == execution.paused_step.deadline

    await run_with_replies_from(again, broker, 1)
    assert again.status is SagaStatus.Finished
    assert again.context["done"] is True
    assert broker.sent[-1].user == user


async def run_with_replies_from(execution, broker, start):
    for data in REPLIES[start:]:
        await execution.execute(answer(execution, SUCCESS, data), broker=broker)


async def test_raw_round_trip_of_an_errored_execution():
    broker = InMemorySagaBroker()
    execution = new_execution()
    with pytest.raises(MinosSagaFailedExecutionStepException):
        await run_with_replies(execution, broker, [SUCCESS, ERROR])
    again = SagaExecution.from_raw(orjson.loads(orjson.dumps(execution.raw)))
    assert again == execution
    assert again.error == execution.error
    assert [s.status for s in again.steps] == [
        SagaStepStatus.Compensated,
        SagaStepStatus.Errored,
    ]


def test_only_saga_definitions_can_run():
    with pytest.raises(MinosSagaDefinitionException, match="not dict"):
        SagaExecution.from_definition({"name": "Lend"})


def remember_a_lock(data: dict) -> object:
    return object()


async def test_a_context_that_cannot_be_stored_fails_the_step_before_sending():
    saga = (
        Saga("Unstorable")
        .step()
        .invoke_participant("Reserve", reserve)
        .with_compensation("Release", release)
        .on_reply("lock", remember_a_lock)
        .step()
        .invoke_participant("Charge", charge)
        .commit()
    )
    stored = []

    async def persist(execution):
        stored.append(execution.raw)

    broker = InMemorySagaBroker()
    execution = new_execution(saga)
    await execution.execute(broker=broker, persist=persist)
    with pytest.raises(MinosSagaFailedExecutionStepException, match="'lock'"):
        await execution.execute(
            answer(execution, SUCCESS), broker=broker, persist=persist
        )
    assert broker.topics() == ["Reserve", "Release"]
    assert len(stored) == 1
