"""The launcher inside a running loop: order of start and stop, stop requests."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from minos.common import (
    BackgroundService,
    EntrypointLauncher,
    LaunchException,
    MinosConfig,
    MinosSetup,
    PostgreSqlPool,
)

TIMEOUT = 5


@pytest.fixture(autouse=True)
def no_current_config():
    previous = MinosConfig.set_current(None)
    yield
    MinosConfig.set_current(previous)


@pytest.fixture
def config() -> MinosConfig:
    return MinosConfig(
        {"service": {"name": "ledger"}, "rest": {"host": "127.0.0.1", "port": 8099}},
        with_environment=False,
    )


class Recorder(MinosSetup):
    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    async def _setup(self) -> None:
        self.events.append("recorder setup")

    async def _destroy(self) -> None:
        self.events.append("recorder destroy")


class Named(BackgroundService):
    def __init__(self, name: str, events: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.events = events
        self.started = asyncio.Event()

    async def _setup(self) -> None:
        self.events.append(f"{self.name} start")
        self.started.set()

    async def _destroy(self) -> None:
        self.events.append(f"{self.name} stop")


class Hanging(Named):
    async def _setup(self) -> None:
        self.events.append(f"{self.name} start")
        self.started.set()
        await asyncio.Event().wait()


async def test_starts_in_order_and_stops_in_reverse(config: MinosConfig, caplog):
    events: list[str] = []
    first, second = Named("first", events), Named("second", events)
    launcher = EntrypointLauncher(
        config, {"recorder": Recorder(events)}, services=[first, second]
    )
    caplog.set_level(logging.INFO, logger="minos.common.launcher")

    task = asyncio.create_task(launcher.run())
    await asyncio.wait_for(second.started.wait(), TIMEOUT)
    assert MinosConfig.current() is config
    launcher.request_stop()
    await asyncio.wait_for(task, TIMEOUT)

    assert events == [
        "recorder setup",
        "first start",
        "second start",
        "second stop",
        "first stop",
        "recorder destroy",
    ]
    assert "REST interface configured on 127.0.0.1:8099" in caplog.text
    assert launcher.services == []


async def test_stop_request_during_start_up_undoes_it(config: MinosConfig):
    events: list[str] = []
    first, hanging = Named("first", events), Hanging("hanging", events)
    launcher = EntrypointLauncher(config, {}, services=[first, hanging])

    task = asyncio.create_task(launcher.run())
    await asyncio.wait_for(hanging.started.wait(), TIMEOUT)
    launcher.request_stop()
    await asyncio.wait_for(task, TIMEOUT)

    assert events == ["first start", "hanging start", "first stop"]


async def test_service_classes_are_built_from_the_config(config: MinosConfig):
    launcher = EntrypointLauncher(config, {}, services=[BackgroundService])
    await launcher.setup()
    try:
        (service,) = launcher.services
        assert service.config is config
        assert service.already_setup
    finally:
        await launcher.destroy()
    assert service.already_destroyed


async def test_object_without_start_is_rejected(config: MinosConfig):
    launcher = EntrypointLauncher(config, {}, services=[Recorder([])])
    with pytest.raises(LaunchException, match="has no start"):
        await launcher.setup()


async def test_seed_config_with_a_real_postgresql_pool(postgres_settings):
    environ = {
        f"MINOS_REPOSITORY_{key.upper()}": str(value)
        for key, value in postgres_settings.items()
    }
    seed = Path(__file__).parent / "data" / "exam-config.yml"
    config = MinosConfig(seed, environ=environ)
    events: list[str] = []
    service = Named("probe", events)
    launcher = EntrypointLauncher(
        config, {"postgresql_pool": PostgreSqlPool}, services=[service]
    )

    task = asyncio.create_task(launcher.run())
    await asyncio.wait_for(service.started.wait(), TIMEOUT)
    pool = launcher.injector.get("postgresql_pool")
    assert pool.already_setup
    assert (pool.host, pool.port) == (
        postgres_settings["host"],
        int(postgres_settings["port"]),
    )
    async with pool.connection() as connection:
        assert await connection.fetchone("SELECT %s::int + 1", (41,)) == (42,)
    launcher.request_stop()
    await asyncio.wait_for(task, TIMEOUT)

    assert pool.already_destroyed
    assert events == ["probe start", "probe stop"]
