"""Discovery against IPv6 addresses, hung servers and bad settings, on loopback."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from minos.networks import (
    DiscoveryConnector,
    MinosDiscoveryClient,
    MinosNetworkException,
)
from testing.harness import free_port


def _ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


class Recorder:
    """A discovery server that records calls, or hangs when asked to."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.port = 0
        self.calls: list[tuple[str, str]] = []
        self.hang = False
        self.called = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def _any(self, request: web.Request) -> web.Response:
        self.calls.append((request.method, request.path))
        self.called.set()
        if self.hang:
            await asyncio.sleep(60)
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    server = Recorder("127.0.0.1")
    await server.start()
    yield server
    await server.stop()


async def test_ipv6_literal_hosts_build_valid_urls() -> None:
    client = MinosDiscoveryClient("::1", 8080)
    assert client.url == "http://[::1]:8080/microservices"
    if not _ipv6_available():
        return
    server = Recorder("::1")
    await server.start()
    try:
        client = MinosDiscoveryClient("::1", server.port, timeout=2)
        await client.subscribe("exam", "::1", 8082, [])
        await client.unsubscribe("exam service/1")
    finally:
        await server.stop()
    assert server.calls == [
        ("POST", "/microservices"),
        ("DELETE", "/microservices/exam service/1"),
    ]


async def test_retry_warnings_name_the_exception_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = MinosDiscoveryClient("127.0.0.1", free_port(), timeout=1)
    connector = DiscoveryConnector(client, "exam", "127.0.0.1", 8082, retry_delay=0.01)
    with caplog.at_level(logging.WARNING, logger="minos.networks.discovery"):
        await connector.setup()
        for _ in range(200):
            if "ClientConnectorError" in caplog.text:
                break
            await asyncio.sleep(0.01)
        await connector.destroy()
    assert "ClientConnectorError" in caplog.text


async def test_a_hung_server_delays_neither_start_nor_stop(
    recorder: Recorder,
) -> None:
    recorder.hang = True
    client = MinosDiscoveryClient("127.0.0.1", recorder.port, timeout=30)
    connector = DiscoveryConnector(
        client, "exam", "127.0.0.1", 8082, unregister_timeout=0.2
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    await connector.setup()
    assert loop.time() - started < 5  # not the 30 s client timeout
    await asyncio.wait_for(recorder.called.wait(), 5)
    assert not connector.registered

    started = loop.time()
    await connector.destroy()
    assert loop.time() - started < 5
    assert not connector.registered


async def test_wait_registered(recorder: Recorder) -> None:
    client = MinosDiscoveryClient("127.0.0.1", recorder.port, timeout=2)
    connector = DiscoveryConnector(client, "exam", "127.0.0.1", 8082)
    async with connector:
        await asyncio.wait_for(connector.wait_registered(), 5)
        assert connector.registered
    assert recorder.calls == [
        ("POST", "/microservices"),
        ("DELETE", "/microservices/exam"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"port": -1}, "discovery.port"),
        ({"port": 0}, "discovery.port"),
        ({"port": 70000}, "discovery.port"),
        ({"port": "abc"}, "discovery.port"),
        ({"port": None}, "discovery.port"),
        ({"host": ""}, "discovery.host"),
        ({"host": None}, "discovery.host"),
        ({"timeout": 0}, "discovery timeout"),
    ],
)
def test_bad_client_settings_are_refused(kwargs: dict[str, Any], name: str) -> None:
    arguments: dict[str, Any] = {"host": "127.0.0.1", "port": 5567, **kwargs}
    with pytest.raises(MinosNetworkException, match=name):
        MinosDiscoveryClient(**arguments)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"port": -1}, "rest.port"),
        ({"port": 70000}, "rest.port"),
        ({"port": "x"}, "rest.port"),
        ({"name": ""}, "service.name"),
        ({"retry_delay": 0}, "retry_delay"),
        ({"unregister_timeout": -1}, "unregister_timeout"),
    ],
)
def test_bad_connector_settings_are_refused(kwargs: dict[str, Any], name: str) -> None:
    client = MinosDiscoveryClient("127.0.0.1", 5567)
    arguments: dict[str, Any] = {
        "name": "exam",
        "host": "127.0.0.1",
        "port": 8082,
        **kwargs,
    }
    with pytest.raises(MinosNetworkException, match=name):
        DiscoveryConnector(client, **arguments)
