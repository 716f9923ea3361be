"""Helpers of the messaging tests: transports, configurations, waiting."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from types import ModuleType, SimpleNamespace
from typing import Any

from minos.common import MinosConfig
from minos.networks import InMemoryTransport, KafkaTransport

# Short timeouts so a failing test fails fast; the small session timeout makes
# the Kafka group join take about a second instead of five.
KAFKA_OPTIONS: dict[str, Any] = {
    "request_timeout": 3.0,
    "consumer_options": {
        "session_timeout_ms": 2000,
        "heartbeat_interval_ms": 500,
        "metadata_max_age_ms": 2000,
    },
}


def unique(prefix: str) -> str:
    """A topic or group name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def kafka_transport(bootstrap: str, **kwargs: Any) -> KafkaTransport:
    host, port = bootstrap.rsplit(":", 1)
    return KafkaTransport(host, int(port), **{**KAFKA_OPTIONS, **kwargs})


def memory_transport() -> InMemoryTransport:
    return InMemoryTransport(unique("memory"))


class Section(SimpleNamespace):
    """A configuration section readable as attributes and with ``_asdict()``."""

    def _asdict(self) -> dict[str, Any]:
        return {
            k: v._asdict() if isinstance(v, Section) else v
            for k, v in vars(self).items()
        }


def make_config(
    name: str,
    queue: dict[str, Any],
    *,
    bootstrap: str | None = None,
    commands: str | None = None,
    queries: str | None = None,
    events: str | None = None,
    records: int = 100,
    retry: int = 2,
) -> MinosConfig:
    """A real configuration with the sections the messaging layer reads."""
    broker: dict[str, Any] = {
        "queue": {
            **{k: v for k, v in queue.items()},
            "records": records,
            "retry": retry,
        }
    }
    if bootstrap is not None:
        host, port = bootstrap.rsplit(":", 1)
        broker.update(host=host, port=int(port))
    data: dict[str, Any] = {"service": {"name": name}, "broker": broker}
    for section, path in (
        ("commands", commands),
        ("queries", queries),
        ("events", events),
    ):
        if path is not None:
            data[section] = {"service": path}
    return MinosConfig(data, with_environment=False)


def register_module(name: str, **members: Any) -> ModuleType:
    """Make ``members`` importable as ``name.<member>`` (for dotted config paths)."""
    module = ModuleType(name)
    for key, value in members.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


async def eventually(
    check: Callable[[], Awaitable[bool] | bool],
    within: float = 15.0,
    interval: float = 0.05,
) -> None:
    """Wait until ``check()`` is true; fail with a clear message otherwise."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s: {check}")
        await asyncio.sleep(interval)
