"""Discovery registration against a small discovery server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
import types
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
from aiohttp import web

from minos.common import MinosConfig, MinosConfigException
from minos.networks import (
    DiscoveryClient,
    DiscoveryConnector,
    MinosDiscoveryClient,
    MinosDiscoveryConnectorException,
    Request,
    Response,
    enroute,
)
from testing.harness import free_port

MODULE = "discovery_test_services"


class ExamCommandService:
    @enroute.rest.command("/exams", "POST")
    @enroute.broker.command("CreateExam")
    async def create(self, request: Request) -> Response:
        return Response(None)

    @enroute.rest.command("/exams/{uuid}", "DELETE")
    async def delete(self, request: Request) -> None:
        return None


class ExamQueryService:
    @staticmethod
    @enroute.rest.query("/exams", "GET")
    async def list_exams(request: Request) -> Response:
        return Response([])

    @enroute.broker.event("ExamCreated")
    async def created(self, request: Request) -> None:
        return None


class FakeDiscoveryServer:
    """Records what services register; can answer with an error status."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.registrations: list[Any] = []
        self.removals: list[str] = []
        self.registered = asyncio.Event()
        self.removed = asyncio.Event()
        self.fail_with: int | None = None
        self._runner: web.AppRunner | None = None

    async def _register(self, request: web.Request) -> web.Response:
        if self.fail_with is not None:
            return web.Response(status=self.fail_with, text="try later")
        self.registrations.append(await request.json())
        self.registered.set()
        return web.json_response({"ok": True}, status=201)

    async def _remove(self, request: web.Request) -> web.Response:
        self.removals.append(request.match_info["name"])
        self.removed.set()
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/microservices", self._register)
        app.router.add_delete("/microservices/{name}", self._remove)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
def services_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    module = types.ModuleType(MODULE)
    module.ExamCommandService = ExamCommandService  # type: ignore[attr-defined]
    module.ExamQueryService = ExamQueryService  # type: ignore[attr-defined]
    module.RecordingClient = RecordingClient  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, MODULE, module)
    yield MODULE


@pytest.fixture
async def server() -> AsyncIterator[FakeDiscoveryServer]:
    server = FakeDiscoveryServer(free_port())
    await server.start()
    yield server
    await server.stop()


def _config(
    discovery_port: int | None, rest_host: str = "127.0.0.1", **discovery: Any
) -> MinosConfig:
    data: dict[str, Any] = {
        "service": {"name": "exam"},
        "rest": {"host": rest_host, "port": 8082},
        "commands": {"service": f"{MODULE}.ExamCommandService"},
        "queries": {"service": f"{MODULE}.ExamQueryService"},
    }
    if discovery_port is not None:
        data["discovery"] = {
            "client": "minos.networks.MinosDiscoveryClient",
            "host": "127.0.0.1",
            "port": discovery_port,
            **discovery,
        }
    return MinosConfig(data, with_environment=False)


EXPECTED_ENDPOINTS = [
    {"url": "/exams", "method": "GET"},
    {"url": "/exams", "method": "POST"},
    {"url": "/exams/{uuid}", "method": "DELETE"},
]


async def test_registers_on_setup_and_unregisters_on_destroy(
    services_module: str, server: FakeDiscoveryServer
) -> None:
    connector = DiscoveryConnector.from_config(_config(server.port))
    assert isinstance(connector.client, MinosDiscoveryClient)

    await connector.setup()
    await asyncio.wait_for(connector.wait_registered(), 5)
    assert server.registrations == [
        {
            "name": "exam",
            "host": "127.0.0.1",
            "port": 8082,
            "endpoints": EXPECTED_ENDPOINTS,
        }
    ]
    assert server.removals == []

    await connector.destroy()
    assert server.removals == ["exam"]
    assert not connector.registered


async def test_starts_with_the_server_down_and_registers_later(
    services_module: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    connector = DiscoveryConnector.from_config(_config(port), retry_delay=0.05)

    with caplog.at_level(logging.WARNING, logger="minos.networks.discovery"):
        started = time.monotonic()
        await connector.setup()
        assert time.monotonic() - started < 2
        for _ in range(200):
            if "retrying in the background" in caplog.text:
                break
            await asyncio.sleep(0.01)
    assert not connector.registered
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning and "retrying in the background" in warning[0].getMessage()
    assert f"127.0.0.1:{port}" in warning[0].getMessage()

    server = FakeDiscoveryServer(port)
    await server.start()
    try:
        await asyncio.wait_for(server.registered.wait(), 5)
        assert server.registrations[0]["name"] == "exam"
        assert server.registrations[0]["endpoints"] == EXPECTED_ENDPOINTS
        for _ in range(100):
            if connector.registered:
                break
            await asyncio.sleep(0.01)
        assert connector.registered
        await connector.destroy()
        assert server.removals == ["exam"]
    finally:
        await server.stop()


async def test_error_answers_are_retried(
    services_module: str, server: FakeDiscoveryServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.fail_with = 503
    connector = DiscoveryConnector.from_config(_config(server.port), retry_delay=0.05)
    with caplog.at_level(logging.WARNING, logger="minos.networks.discovery"):
        await connector.setup()
        for _ in range(200):
            if "answered POST" in caplog.text:
                break
            await asyncio.sleep(0.01)
    assert not connector.registered
    assert "answered POST" in caplog.text and "503" in caplog.text

    server.fail_with = None
    await asyncio.wait_for(server.registered.wait(), 5)
    await connector.destroy()
    assert server.removals == ["exam"]


async def test_destroy_while_the_server_stays_down(
    services_module: str, caplog: pytest.LogCaptureFixture
) -> None:
    connector = DiscoveryConnector.from_config(
        _config(free_port()), retry_delay=0.01, max_retry_delay=0.02
    )
    with caplog.at_level(logging.WARNING, logger="minos.networks.discovery"):
        await connector.setup()
        await asyncio.sleep(0.1)  # a few background attempts
        await connector.destroy()
    assert "(attempt 2)" in caplog.text
    assert not connector.registered
    assert connector._retrying is None


async def test_unregister_failure_is_logged_not_raised(
    services_module: str, server: FakeDiscoveryServer, caplog: pytest.LogCaptureFixture
) -> None:
    connector = DiscoveryConnector.from_config(_config(server.port))
    await connector.setup()
    await asyncio.wait_for(connector.wait_registered(), 5)
    await server.stop()
    with caplog.at_level(logging.WARNING, logger="minos.networks.discovery"):
        await connector.destroy()
    assert "Unregistering exam failed" in caplog.text


async def test_without_a_discovery_section_nothing_is_registered(
    services_module: str, caplog: pytest.LogCaptureFixture
) -> None:
    connector = DiscoveryConnector.from_config(_config(None))
    assert not connector.enabled
    with caplog.at_level(logging.INFO, logger="minos.networks.discovery"):
        async with connector:
            assert not connector.registered
    assert "Discovery is not configured" in caplog.text


async def test_wildcard_rest_host_registers_the_host_name(
    services_module: str, server: FakeDiscoveryServer
) -> None:
    connector = DiscoveryConnector.from_config(_config(server.port, "0.0.0.0"))
    async with connector:
        await asyncio.wait_for(connector.wait_registered(), 5)
    assert server.registrations[0]["host"] == socket.gethostname()


def test_host_without_port_is_a_clear_error(services_module: str) -> None:
    config = MinosConfig(
        {"service": {"name": "exam"}, "discovery": {"host": "127.0.0.1"}},
        with_environment=False,
    )
    with pytest.raises(MinosConfigException, match="discovery.port"):
        DiscoveryConnector.from_config(config)


class RecordingClient(DiscoveryClient):
    """A client named by ``discovery.client``."""

    calls: list[tuple[str, Any]] = []

    async def subscribe(
        self, name: str, host: str, port: int, endpoints: Sequence[Any]
    ) -> None:
        RecordingClient.calls.append(("subscribe", (name, host, port, list(endpoints))))

    async def unsubscribe(self, name: str) -> None:
        RecordingClient.calls.append(("unsubscribe", name))


async def test_client_class_comes_from_the_config(services_module: str) -> None:
    RecordingClient.calls = []
    config = _config(5567, client=f"{MODULE}.RecordingClient")
    connector = DiscoveryConnector.from_config(config)
    assert isinstance(connector.client, RecordingClient)
    assert (connector.client.host, connector.client.port) == ("127.0.0.1", 5567)
    async with connector:
        await asyncio.wait_for(connector.wait_registered(), 5)
    assert RecordingClient.calls == [
        ("subscribe", ("exam", "127.0.0.1", 8082, EXPECTED_ENDPOINTS)),
        ("unsubscribe", "exam"),
    ]


async def test_client_errors_name_the_server(server: FakeDiscoveryServer) -> None:
    client = MinosDiscoveryClient("127.0.0.1", server.port, timeout=2)
    server.fail_with = 500
    with pytest.raises(MinosDiscoveryConnectorException, match="answered POST"):
        await client.subscribe("exam", "127.0.0.1", 1, [])

    await client.unsubscribe("exam service/1")
    assert server.removals == ["exam service/1"]

    nowhere = MinosDiscoveryClient("127.0.0.1", free_port(), timeout=2)
    with pytest.raises(MinosDiscoveryConnectorException, match="Cannot reach"):
        await nowhere.unsubscribe("exam")
