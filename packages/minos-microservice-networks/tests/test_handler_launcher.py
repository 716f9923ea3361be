"""The embedded default under the launcher: SQLite queues and the in-process broker."""

from __future__ import annotations

import asyncio

import pytest

from minos.common import EntrypointLauncher, MinosConfig
from minos.networks import (
    CommandStatus,
    ConsumerService,
    Request,
    Response,
    enroute,
)
from testing.messaging import eventually, register_module, unique

SEEN: list[object] = []


class Counter:
    @enroute.broker.command("Increment")
    async def increment(self, request: Request) -> Response:
        return Response((await request.content()) + 1)

    @enroute.broker.event("Incremented")
    async def incremented(self, request: Request) -> None:
        SEEN.append(await request.content())


@pytest.fixture
def config(tmp_path) -> MinosConfig:
    module = unique("counter").replace("-", "_")
    register_module(module, Counter=Counter)
    return MinosConfig(
        {
            "service": {
                "name": unique("counter"),
                "injections": {
                    "command_broker": "minos.networks.CommandBroker",
                    "command_reply_broker": "minos.networks.CommandReplyBroker",
                    "event_broker": "minos.networks.EventBroker",
                    "consumer": "minos.networks.Consumer",
                    "dynamic_handler_pool": "minos.networks.DynamicHandlerPool",
                },
                "services": [
                    "minos.networks.ConsumerService",
                    "minos.networks.CommandHandlerService",
                    "minos.networks.CommandReplyHandlerService",
                    "minos.networks.EventHandlerService",
                    "minos.networks.ProducerService",
                ],
            },
            "broker": {"queue": {"path": str(tmp_path / "queues.sqlite3")}},
            "commands": {"service": f"{module}.Counter"},
        },
        with_environment=False,
    )


async def test_the_embedded_default_runs_messages_end_to_end(config):
    SEEN.clear()
    launcher = EntrypointLauncher(config)
    running = asyncio.create_task(launcher.run())
    try:
        await eventually(lambda: len(launcher.services) == 5, within=10)
        injector = launcher.injector

        (consumer_service,) = [
            s for s in launcher.services if isinstance(s, ConsumerService)
        ]
        assert consumer_service.consumer is injector.get("consumer")

        await injector.get("event_broker").send(41, "Incremented")
        await eventually(lambda: SEEN == [41], within=10)

        async with injector.get("dynamic_handler_pool").acquire() as handler:
            await injector.get("command_broker").send(
                1, "Increment", reply_topic=handler.topic
            )
            reply = await handler.get_one(timeout=10)
        assert (reply.status, reply.data) == (CommandStatus.SUCCESS, 2)
    finally:
        launcher.request_stop()
        await asyncio.wait_for(running, 20)
    assert launcher.stopped_cleanly
