"""``RestService`` built from a configuration, started and stopped like the launcher."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from minos.common import MinosConfig, MinosConfigException
from minos.networks import (
    MinosNetworkException,
    Request,
    Response,
    RestHandler,
    RestService,
    enroute,
)
from testing.harness import free_port

MODULE = "rest_service_test_services"


class GreetingCommandService:
    def __init__(self, config: Any = None) -> None:
        self.config = config

    @enroute.rest.command("/greetings", "POST")
    async def greet(self, request: Request) -> Response:
        content = await request.content()
        return Response({"greeting": f"Hello, {content['name']}!"})


class GreetingQueryService:
    @staticmethod
    @enroute.rest.query("/greetings/{name}", "GET")
    async def get_greeting(request: Request) -> Response:
        content = await request.content()
        return Response({"greeting": f"Hello again, {content['name']}!"})


@pytest.fixture
def services_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    module = types.ModuleType(MODULE)
    module.GreetingCommandService = GreetingCommandService  # type: ignore[attr-defined]
    module.GreetingQueryService = GreetingQueryService  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, MODULE, module)
    yield MODULE


def _config(port: int, **rest: Any) -> MinosConfig:
    return MinosConfig(
        {
            "service": {"name": "greeter"},
            "rest": {"host": "127.0.0.1", "port": port, **rest},
            "commands": {"service": f"{MODULE}.GreetingCommandService"},
            "queries": {"service": f"{MODULE}.GreetingQueryService"},
        },
        with_environment=False,
    )


async def test_service_serves_the_configured_routes(
    services_module: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    service = RestService.from_config(_config(port))
    assert service.handler.routes == [
        ("/greetings", "POST"),
        ("/greetings/{name}", "GET"),
    ]

    with caplog.at_level(logging.INFO, logger="minos.networks.rest"):
        await service.start()
    try:
        assert f"REST listening on 127.0.0.1:{port}" in caplog.text
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            async with session.post("/greetings", json={"name": "Ada"}) as response:
                assert await response.json() == {"greeting": "Hello, Ada!"}
            async with session.get("/greetings/Ada") as response:
                assert await response.json() == {"greeting": "Hello again, Ada!"}
            async with session.get("/system/health") as response:
                assert response.status == 200
                assert await response.json() == {"status": "up", "checks": {}}
    finally:
        await service.stop()

    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(f"http://127.0.0.1:{port}/greetings/Ada"):
                pass


async def test_service_restarts_on_the_same_port(services_module: str) -> None:
    port = free_port()
    service = RestService.from_config(_config(port))
    for _ in range(2):
        await service.start()
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            async with session.get("/greetings/Bo") as response:
                assert response.status == 200
        await service.stop()


async def test_max_body_size_comes_from_the_config(services_module: str) -> None:
    handler = RestHandler.from_config(_config(free_port(), max_body_size=2048))
    assert handler.max_body_size == 2048


async def test_invalid_max_body_size_is_a_clear_error(services_module: str) -> None:
    with pytest.raises(MinosConfigException, match="rest.max_body_size"):
        _config(free_port(), max_body_size="big")
    # The configuration refuses 0 itself; the handler checks its own argument.
    with pytest.raises(MinosConfigException, match="rest.max_body_size"):
        _config(free_port(), max_body_size=0)
    with pytest.raises(MinosNetworkException, match="rest.max_body_size"):
        RestHandler(endpoints={}, max_body_size=0)


async def test_missing_rest_section_is_a_clear_error() -> None:
    config = MinosConfig({"service": {"name": "greeter"}}, with_environment=False)
    with pytest.raises(MinosConfigException, match="rest: section is missing"):
        RestService.from_config(config)


async def test_busy_port_is_a_clear_error(services_module: str) -> None:
    async with RestHandler("127.0.0.1", 0) as first:
        second = RestService.from_config(_config(first.port))
        with pytest.raises(MinosNetworkException, match=f"127.0.0.1:{first.port}"):
            await second.start()
        assert not second.handler.already_setup
