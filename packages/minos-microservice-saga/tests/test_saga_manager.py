"""SagaManager with an in-process broker and a real LMDB execution storage."""

from __future__ import annotations

import asyncio
import enum
from types import SimpleNamespace
from uuid import UUID, uuid4

import pytest

from minos.common import MinosConfig, MinosConfigException
from minos.networks import ResponseException
from minos.saga import (
    InMemorySagaBroker,
    MinosSagaExecutionException,
    MinosSagaExecutionNotFoundException,
    MinosSagaFailedExecutionStepException,
    MinosSagaReplyException,
    MinosSagaStepTimeoutException,
    NetworksSagaBroker,
    Saga,
    SagaContext,
    SagaExecution,
    SagaExecutionStorage,
    SagaManager,
    SagaReply,
    SagaReplyStatus,
    SagaStatus,
)


def reserve(context: SagaContext) -> dict:
    return {"book": context["book"]}


def release(context: SagaContext) -> dict:
    return {"book": context["book"]}


def charge(context: SagaContext) -> dict:
    return {"reader": context["reader"]}


def refund(context: SagaContext) -> dict:
    return {"reader": context["reader"], "receipt": context["receipt"]}


def notify(context: SagaContext) -> str:
    return context["reader"]


async def open_loan(context: SagaContext) -> SagaContext:
    return SagaContext(loan={"book": context["book"], "receipt": context["receipt"]})


LEND = (
    Saga("Lend")
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
    .commit(open_loan)
)


class Library:
    """Participants that do and undo work, so compensations can be observed."""

    def __init__(self, *, failing: str | None = None, silent: str | None = None):
        self.failing = failing
        self.silent = silent
        self.reserved: set[str] = set()
        self.charged: list[str] = []
        self.log: list[str] = []

    def participants(self) -> dict:
        handlers = {
            "Reserve": self.reserve,
            "Release": self.release,
            "Charge": self.charge,
            "Refund": self.refund,
            "Notify": self.notify,
        }
        return {t: h for t, h in handlers.items() if t != self.silent}

    def _enter(self, topic: str) -> None:
        self.log.append(topic)
        if topic == self.failing:
            raise ResponseException(f"{topic} refused")

    async def reserve(self, data: dict) -> bool:
        self._enter("Reserve")
        self.reserved.add(data["book"])
        return True

    def release(self, data: dict) -> None:
        self._enter("Release")
        self.reserved.discard(data["book"])

    async def charge(self, data: dict) -> str:
        self._enter("Charge")
        receipt = f"receipt-{len(self.charged)}"
        self.charged.append(receipt)
        return receipt

    def refund(self, data: dict) -> None:
        self._enter("Refund")
        self.charged.remove(data["receipt"])

    def notify(self, data: str) -> str:
        self._enter("Notify")
        return "ok"


@pytest.fixture
def path(tmp_path):
    return tmp_path / "sagas.lmdb"


def build_manager(
    path, library: Library, **kwargs
) -> tuple[SagaManager, InMemorySagaBroker]:
    broker = InMemorySagaBroker(library.participants())
    manager = SagaManager(
        SagaExecutionStorage(path=path), broker, reply_topic="LibraryReply", **kwargs
    )
    broker.subscribe("LibraryReply", lambda reply: manager.run(reply=reply))
    return manager, broker


def answer(execution: SagaExecution, data, status=SagaReplyStatus.SUCCESS):
    """A reply (with its own id) to the command ``execution`` waits for."""
    return SagaReply(
        execution.uuid,
        status,
        data,
        id=uuid4(),
        correlation=execution.paused_step.command_id,
    )


def context() -> SagaContext:
    return SagaContext(book="B-1", reader="ann")


async def test_waits_and_returns_the_finished_execution(path):
    library = Library()
    manager, _ = build_manager(path, library)
    async with manager:
        execution = await manager.run(LEND, context=context())

        assert execution.status is SagaStatus.Finished
        assert execution.context["loan"] == {"book": "B-1", "receipt": "receipt-0"}
        assert library.log == ["Reserve", "Charge", "Notify"]
        stored = await manager.get(execution.uuid)
        assert stored.status is SagaStatus.Finished
        assert stored.context == execution.context


async def test_failure_compensates_and_raises(path):
    library = Library(failing="Notify")
    manager, broker = build_manager(path, library)
    async with manager:
        with pytest.raises(
            MinosSagaFailedExecutionStepException, match="Notify"
        ) as info:
            await manager.run(LEND, context=context())
        await broker.drain()

        assert library.log == ["Reserve", "Charge", "Notify", "Refund", "Release"]
        assert library.reserved == set()
        assert library.charged == []
        execution = info.value.execution
        assert execution.status is SagaStatus.Errored
        assert (await manager.get(execution.uuid)).status is SagaStatus.Errored


async def test_failure_without_raising_returns_the_errored_execution(path):
    library = Library(failing="Charge")
    manager, broker = build_manager(path, library)
    async with manager:
        execution = await manager.run(LEND, context=context(), raise_on_error=False)
        await broker.drain()

    assert execution.status is SagaStatus.Errored
    assert "Charge refused" in execution.error
    assert library.log == ["Reserve", "Charge", "Release"]


async def test_return_execution_false_returns_the_uuid(path):
    manager, _ = build_manager(path, Library())
    async with manager:
        uuid = await manager.run(LEND, context=context(), return_execution=False)
        assert isinstance(uuid, UUID)
        assert (await manager.get(uuid)).status is SagaStatus.Finished


async def test_a_participant_that_never_replies_times_out(path):
    library = Library(silent="Charge")
    manager, broker = build_manager(path, library, reply_timeout=0.2)
    async with manager:
        with pytest.raises(MinosSagaStepTimeoutException, match="within 0.2s"):
            await manager.run(LEND, context=context())
        await broker.drain()
    assert library.log == ["Reserve", "Release"]
    assert broker.topics()[-2:] == ["Charge", "Release"]


async def test_run_timeout_overrides_the_managers(path):
    library = Library(silent="Notify")
    manager, _ = build_manager(path, library, reply_timeout=30)
    async with manager:
        execution = await manager.run(
            LEND, context=context(), reply_timeout=0.1, raise_on_error=False
        )
    assert execution.status is SagaStatus.Errored
    assert "within 0.1s" in execution.error


async def test_foreign_replies_on_the_private_topic_are_ignored(path):
    library = Library()

    class Noisy(InMemorySagaBroker):
        async def send(self, data, topic, *, reply_topic, **kwargs):
            if reply_topic is not None and topic == "Charge":
                await self.deliver(
                    reply_topic, SagaReply(uuid4(), SagaReplyStatus.ERROR)
                )
            await super().send(data, topic, reply_topic=reply_topic, **kwargs)

    broker = Noisy(library.participants())
    async with SagaManager(SagaExecutionStorage(path=path), broker) as manager:
        execution = await manager.run(LEND, context=context())
    assert execution.status is SagaStatus.Finished


async def test_pause_on_disk_returns_at_once_and_the_reply_handler_finishes(path):
    library = Library()
    manager, broker = build_manager(path, library)
    async with manager:
        execution = await manager.run(LEND, context=context(), pause_on_disk=True)
        assert execution.status is SagaStatus.Paused
        assert broker.sent[0].reply_topic == "LibraryReply"
        stored = await manager.get(execution.uuid)
        assert stored.status is SagaStatus.Paused

        await broker.drain()

        finished = await manager.get(execution.uuid)
        assert finished.status is SagaStatus.Finished
        assert finished.context["loan"] == {"book": "B-1", "receipt": "receipt-0"}
        assert library.log == ["Reserve", "Charge", "Notify"]


async def test_pause_on_disk_failure_compensates_after_replies(path):
    library = Library(failing="Notify")
    manager, broker = build_manager(path, library)
    async with manager:
        uuid = await manager.run(
            LEND, context=context(), pause_on_disk=True, return_execution=False
        )
        await broker.drain()
        execution = await manager.get(uuid)
    assert execution.status is SagaStatus.Errored
    assert library.log == ["Reserve", "Charge", "Notify", "Refund", "Release"]
    assert library.reserved == set() and library.charged == []


class WireStatus(enum.Enum):
    """A transport's own status enum: matched by member name."""

    SUCCESS = 1
    ERROR = 2
    SYSTEM_ERROR = 3


async def test_paused_execution_resumes_in_a_fresh_manager(path):
    library = Library(silent="Charge")
    first, first_broker = build_manager(path, library)
    async with first:
        execution = await first.run(LEND, context=context(), pause_on_disk=True)
        await first_broker.drain()
        uuid = execution.uuid
        waiting = (await first.get(uuid)).paused_step
        assert waiting.definition.invoke_participant_operation.name == "Charge"

    # A new process: new storage object, new broker, same LMDB directory.
    library_after = Library()
    second, second_broker = build_manager(path, library_after)
    async with second:
        resumed = await second.get(uuid)
        assert resumed.status is SagaStatus.Paused
        assert resumed.context["reserved"] is True

        reply = SimpleNamespace(
            saga=str(uuid),
            status=WireStatus.SUCCESS,
            data="R-9",
            trace_id=str(resumed.paused_step.command_id),
        )
        execution = await second.run(reply=reply)
        await second_broker.drain()

        final = await second.get(uuid)
    assert execution.uuid == uuid
    assert final.status is SagaStatus.Finished
    assert final.context["loan"] == {"book": "B-1", "receipt": "R-9"}
    assert library_after.log == ["Notify"]


async def test_paused_execution_times_out_and_compensates(path):
    library = Library(silent="Charge")
    manager, broker = build_manager(path, library, reply_timeout=0.2)
    async with manager:
        uuid = await manager.run(
            LEND, context=context(), pause_on_disk=True, return_execution=False
        )
        execution = await wait_for_status(manager, uuid, SagaStatus.Errored)
        await broker.drain()
    assert "did not reply within 0.2s" in execution.error
    assert library.log == ["Reserve", "Release"]


async def test_timers_of_paused_executions_are_rearmed_at_setup(path):
    library = Library(silent="Charge")
    first, first_broker = build_manager(path, library, reply_timeout=0.3)
    async with first:
        uuid = await first.run(
            LEND, context=context(), pause_on_disk=True, return_execution=False
        )
        await first_broker.drain()
        assert library.log == ["Reserve"]
    async with SagaExecutionStorage(path=path) as storage:
        assert (await storage.load(uuid)).status is SagaStatus.Paused

    second, second_broker = build_manager(path, Library())
    async with second:
        execution = await wait_for_status(second, uuid, SagaStatus.Errored)
        await second_broker.drain()
    assert "within 0.3s" in execution.error
    assert second_broker.topics() == ["Release"]


async def test_late_reply_after_failure_is_ignored(path):
    library = Library(silent="Charge")
    manager, broker = build_manager(path, library, reply_timeout=0.1)
    async with manager:
        uuid = await manager.run(
            LEND, context=context(), pause_on_disk=True, return_execution=False
        )
        errored = await wait_for_status(manager, uuid, SagaStatus.Errored)
        late = await manager.run(reply=SagaReply(uuid, SagaReplyStatus.SUCCESS, "R"))
        assert late.status is SagaStatus.Errored
        assert (await manager.get(uuid)) == errored


async def test_reply_for_an_unknown_saga(path):
    manager, _ = build_manager(path, Library())
    async with manager:
        with pytest.raises(
            MinosSagaExecutionNotFoundException, match="no saga execution"
        ):
            await manager.run(reply=SagaReply(uuid4(), SagaReplyStatus.SUCCESS))


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (SimpleNamespace(status="SUCCESS", data=1), "no saga id"),
        (SimpleNamespace(saga="nope", status="SUCCESS"), "not a UUID"),
        (SimpleNamespace(saga=uuid4(), status="MAYBE"), "MAYBE"),
    ],
)
async def test_malformed_replies_are_refused(path, message, match):
    manager, _ = build_manager(path, Library())
    async with manager:
        with pytest.raises(MinosSagaReplyException, match=match):
            await manager.run(reply=message)


async def test_run_needs_a_definition_or_a_reply(path):
    manager, _ = build_manager(path, Library())
    async with manager:
        with pytest.raises(MinosSagaExecutionException, match="needs a saga"):
            await manager.run()
        with pytest.raises(MinosSagaExecutionException, match="not both"):
            await manager.run(LEND, reply=SagaReply(uuid4(), SagaReplyStatus.SUCCESS))


async def test_pause_on_disk_needs_a_reply_topic(path):
    broker = InMemorySagaBroker(Library().participants())
    async with SagaManager(SagaExecutionStorage(path=path), broker) as manager:
        with pytest.raises(MinosSagaExecutionException, match="reply topic"):
            await manager.run(LEND, context=context(), pause_on_disk=True)


async def test_concurrent_sagas_do_not_mix(path):
    library = Library()
    manager, broker = build_manager(path, library)
    async with manager:
        waiting = [
            manager.run(LEND, context=SagaContext(book=f"B-{i}", reader="r"))
            for i in range(10)
        ]
        paused = [
            manager.run(
                LEND, context=SagaContext(book=f"P-{i}", reader="r"), pause_on_disk=True
            )
            for i in range(10)
        ]
        done = await asyncio.gather(*waiting, *paused)
        await broker.drain()
        stored = [await manager.get(execution.uuid) for execution in done]
    assert all(e.status is SagaStatus.Finished for e in stored)
    assert sorted(e.context["loan"]["book"] for e in stored) == sorted(
        [f"B-{i}" for i in range(10)] + [f"P-{i}" for i in range(10)]
    )
    assert manager._locks == {}


async def wait_for_status(manager, uuid, status) -> SagaExecution:
    async with asyncio.timeout(5):
        while True:
            execution = await manager.get(uuid)
            if execution.status is status:
                return execution
            await asyncio.sleep(0.02)


async def test_a_redelivered_reply_sends_the_pending_command_again(path):
    """A reply processed again (its transaction did not commit) re-sends the
    command that transaction carried, instead of being taken for the next reply."""
    library = Library(silent="Charge")
    manager = SagaManager(
        SagaExecutionStorage(path=path),
        InMemorySagaBroker(library.participants()),
        reply_topic="LibraryReply",
    )
    async with manager:
        execution = await manager.run(LEND, context=context(), pause_on_disk=True)
        reply = answer(execution, True)

        await manager.run(reply=reply)
        await manager.run(reply=reply)

        stored = await manager.get(execution.uuid)
        topics = manager.broker.topics()
    assert topics == ["Reserve", "Charge", "Charge"]
    assert stored.status is SagaStatus.Paused
    assert len(stored.steps) == 2
    assert stored.steps[0].reply_id == reply.id


async def test_a_redelivered_final_reply_is_ignored(path):
    library = Library(silent="Notify")
    manager, broker = build_manager(path, library)
    async with manager:
        execution = await manager.run(LEND, context=context(), pause_on_disk=True)
        await broker.drain()
        last = answer(await manager.get(execution.uuid), "ok")
        await manager.run(reply=last)
        finished = await manager.get(execution.uuid)
        again = await manager.run(reply=last)
    assert finished.status is SagaStatus.Finished
    assert again == finished
    assert broker.topics() == ["Reserve", "Charge", "Notify"]


async def test_networks_command_replies_resume_sagas(path):
    """The reply handler passes ``CommandReply`` messages as they are."""
    from minos.networks import CommandReply, CommandStatus

    library = Library(silent="Charge")
    manager, broker = build_manager(path, library)
    async with manager:
        execution = await manager.run(LEND, context=context(), pause_on_disk=True)
        await broker.drain()
        waiting = (await manager.get(execution.uuid)).paused_step
        refused = CommandReply(
            "LibraryReply",
            "no money",
            execution.uuid,
            CommandStatus.ERROR,
            "bank",
            trace_id=waiting.command_id,  # a command handler repeats it
        )
        await manager.run(reply=refused)
        await broker.drain()
        stored = await manager.get(execution.uuid)
    assert stored.status is SagaStatus.Errored
    assert stored.steps[1].reply_id == refused.id
    assert "replied ERROR: no money" in stored.error
    assert library.log == ["Reserve", "Release"]


def saga_config(tmp_path, **saga) -> MinosConfig:
    return MinosConfig(
        {
            "service": {"name": "library"},
            "saga": {"storage": {"path": str(tmp_path / "cfg.lmdb")}, **saga},
        },
        with_environment=False,
    )


async def test_from_config_uses_the_service_reply_topic_and_storage_path(tmp_path):
    manager = SagaManager.from_config(saga_config(tmp_path, timeout=12))
    assert manager.reply_topic == "libraryReply"
    assert manager.reply_timeout == 12
    assert isinstance(manager.broker, NetworksSagaBroker)
    async with manager:
        assert (tmp_path / "cfg.lmdb" / "data.mdb").exists()
    default = SagaManager.from_config(saga_config(tmp_path))
    assert default.reply_timeout == 60


@pytest.mark.parametrize("timeout", [0, -3, "soon", True])
def test_from_config_refuses_a_bad_timeout(tmp_path, timeout):
    # The config refuses it when it is loaded; a config built otherwise, here.
    with pytest.raises(
        (MinosConfigException, MinosSagaExecutionException), match="saga.timeout"
    ):
        SagaManager.from_config(saga_config(tmp_path, timeout=timeout))


async def test_without_injections_the_networks_broker_says_what_is_missing(tmp_path):
    manager = SagaManager.from_config(saga_config(tmp_path))
    async with manager:
        with pytest.raises(MinosSagaExecutionException, match="command_broker"):
            await manager.run(LEND, context=context(), pause_on_disk=True)
        with pytest.raises(MinosSagaExecutionException, match="dynamic_handler_pool"):
            await manager.run(LEND, context=context())


async def test_a_broken_reply_channel_fails_the_step_and_compensates(path):
    library = Library()

    class Broken(InMemorySagaBroker):
        async def send(self, data, topic, *, reply_topic, **kwargs):
            await super().send(data, topic, reply_topic=reply_topic, **kwargs)
            if topic == "Charge":
                channel = self._channels[reply_topic]

                async def receive(wait=None):
                    raise ConnectionError("broker connection lost")

                channel.receive = receive

    broker = Broken(library.participants())
    async with SagaManager(SagaExecutionStorage(path=path), broker) as manager:
        with pytest.raises(MinosSagaFailedExecutionStepException) as info:
            await manager.run(LEND, context=context())
        await broker.drain()
    assert "could not be received (ConnectionError: broker connection lost)" in str(
        info.value
    )
    assert broker.topics() == ["Reserve", "Charge", "Release"]


async def test_a_cancelled_waiting_saga_is_stored_and_expires(path):
    library = Library(silent="Charge")
    charge_sent = asyncio.Event()

    class Watching(InMemorySagaBroker):
        async def send(self, data, topic, **kwargs):
            await super().send(data, topic, **kwargs)
            if topic == "Charge":
                charge_sent.set()

    broker = Watching(library.participants())
    manager = SagaManager(SagaExecutionStorage(path=path), broker, reply_timeout=0.3)
    async with manager:
        running = asyncio.create_task(manager.run(LEND, context=context()))
        await charge_sent.wait()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

        (paused,) = [e async for e in manager.storage.executions(SagaStatus.Paused)]
        execution = await wait_for_status(manager, paused.uuid, SagaStatus.Errored)
        await broker.drain()
    assert "did not reply within 0.3s" in execution.error
    assert library.log == ["Reserve", "Release"]
