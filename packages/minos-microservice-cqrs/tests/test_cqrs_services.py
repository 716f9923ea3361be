"""Command and query services: what each side may declare, and what it receives."""

from __future__ import annotations

import sys

import pytest

from minos.common import DependencyInjector, MinosConfig
from minos.cqrs import CommandService, MinosIllegalHandlingException, QueryService
from minos.networks import EnrouteBuilder, InMemoryRequest, Response, enroute


def test_a_command_service_refuses_queries_and_events():
    with pytest.raises(MinosIllegalHandlingException) as info:

        class Wrong(CommandService):
            @enroute.rest.query("/things", "GET")
            async def things(self, request):
                return Response([])

    assert "Wrong.things" in str(info.value)
    assert "QueryService" in str(info.value)

    with pytest.raises(MinosIllegalHandlingException, match="ThingCreated"):

        class AlsoWrong(CommandService):
            @enroute.broker.event("ThingCreated")
            async def created(self, request):
                return None


def test_a_query_service_refuses_commands():
    with pytest.raises(MinosIllegalHandlingException) as info:

        class Wrong(QueryService):
            @enroute.broker.command("CreateThing")
            async def create(self, request):
                return None

    assert "CreateThing" in str(info.value)
    assert "CommandService" in str(info.value)


def test_saga_manager_missing_is_explained():
    class Commands(CommandService):
        pass

    with pytest.raises(MinosIllegalHandlingException, match="saga_manager"):
        _ = Commands().saga_manager


class Echo(QueryService):
    @enroute.rest.query("/echo", "GET")
    @enroute.broker.query("Echo")
    async def echo(self, request):
        return Response(
            {"got": await request.content(), "name": self.config.service.name}
        )


class FakeSagaManager:
    @classmethod
    def from_config(cls, config):
        return cls()


async def test_handlers_receive_config_and_injections():
    config = MinosConfig({"service": {"name": "echoer"}})
    injector = DependencyInjector(config, injections={"saga_manager": FakeSagaManager})
    await injector.wire(modules=[sys.modules[__name__]])
    try:
        builder = EnrouteBuilder(Echo, config=config)
        handlers = builder.get_broker_command_query_event()
        (handler,) = handlers.values()
        response = await handler(InMemoryRequest({"x": 1}))
        assert await response.content() == {"got": {"x": 1}, "name": "echoer"}
        service = builder.instance(Echo)
        assert isinstance(service.saga_manager, FakeSagaManager)
    finally:
        await injector.unwire()
