"""``GET /system/health`` against the real PostgreSQL, SQLite and Kafka broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from minos.common import MinosConfig, close_database_pools
from minos.networks import RestHandler, SystemHealth
from testing.harness import KafkaBroker, free_port


@pytest.fixture(autouse=True)
async def _close_pools() -> AsyncIterator[None]:
    yield
    await close_database_pools()


def _config(
    postgres: dict[str, object], sqlite: Path, broker: str | None
) -> MinosConfig:
    sqlite.touch()  # the service creates its database; the check never does
    data: dict[str, Any] = {
        "service": {"name": "health"},
        "rest": {"host": "127.0.0.1", "port": 0},
        "repository": dict(postgres),
        "snapshot": {"path": str(sqlite)},
        "broker": {"queue": {**postgres, "records": 10}},
    }
    if broker is not None:
        host, port = broker.rsplit(":", 1)
        data["broker"].update(host=host, port=int(port))
    return MinosConfig(data, with_environment=False)


async def _health(config: MinosConfig) -> tuple[int, Any]:
    health = SystemHealth.from_config(config, timeout=1.0)
    async with RestHandler.from_config(config, endpoints={}, health=health) as rest:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{rest.port}") as session:
            async with session.get("/system/health") as response:
                return response.status, await response.json()


async def test_everything_up_is_a_200(
    postgres_settings: dict[str, object], kafka_bootstrap: str, tmp_path: Path
) -> None:
    config = _config(postgres_settings, tmp_path / "snapshot.sqlite3", kafka_bootstrap)
    status, report = await _health(config)

    assert status == 200
    assert report["status"] == "up"
    assert set(report["checks"]) == {"repository", "snapshot", "broker.queue", "broker"}
    assert all(check["status"] == "up" for check in report["checks"].values())
    assert report["checks"]["broker"]["target"] == kafka_bootstrap
    assert "snapshot.sqlite3" in report["checks"]["snapshot"]["target"]
    database = str(postgres_settings["database"])
    assert database in report["checks"]["repository"]["target"]
    assert str(postgres_settings["password"]) not in str(report)


async def test_broker_going_down_and_up(
    postgres_settings: dict[str, object],
    kafka_broker_factory: Callable[[], KafkaBroker],
    tmp_path: Path,
) -> None:
    broker = kafka_broker_factory()
    config = _config(postgres_settings, tmp_path / "s.sqlite3", broker.bootstrap)
    assert (await _health(config))[0] == 200

    await asyncio.to_thread(broker.stop)
    status, report = await _health(config)
    assert status == 503
    assert report["status"] == "down"
    assert report["checks"]["broker"]["status"] == "down"
    assert report["checks"]["broker"]["error"]
    assert report["checks"]["repository"]["status"] == "up"

    await asyncio.to_thread(broker.start)
    assert (await _health(config))[0] == 200


async def test_unreachable_database_is_a_503(
    postgres_settings: dict[str, object], kafka_bootstrap: str, tmp_path: Path
) -> None:
    nowhere = {**postgres_settings, "host": "127.0.0.1", "port": free_port()}
    config = _config(postgres_settings, tmp_path / "s.sqlite3", kafka_bootstrap)
    health = SystemHealth.from_config(config, timeout=0.5)
    health.databases["repository"] = nowhere

    report = await health.check()
    assert report["status"] == "down"
    assert report["checks"]["repository"]["status"] == "down"
    assert report["checks"]["repository"]["error"]
    assert report["checks"]["broker.queue"]["status"] == "up"


async def test_broker_without_host_is_not_checked(tmp_path: Path) -> None:
    (tmp_path / "queue.sqlite3").touch()
    config = MinosConfig(
        {
            "service": {"name": "health"},
            "broker": {"queue": {"path": str(tmp_path / "queue.sqlite3")}},
        },
        with_environment=False,
    )
    report = await SystemHealth.from_config(config).check()
    assert report == {
        "status": "up",
        "checks": {
            "broker.queue": {
                "status": "up",
                "target": report["checks"]["broker.queue"]["target"],
            }
        },
    }
    assert "queue.sqlite3" in report["checks"]["broker.queue"]["target"]


async def test_missing_sqlite_file_is_down_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "not" / "there" / "queue.sqlite3"
    health = SystemHealth({"broker.queue": {"path": str(missing)}}, timeout=1.0)
    report = await health.check()
    assert report["status"] == "down"
    check = report["checks"]["broker.queue"]
    assert check["status"] == "down"
    assert "does not exist" in check["error"]
    assert not missing.exists() and not missing.parent.exists()
