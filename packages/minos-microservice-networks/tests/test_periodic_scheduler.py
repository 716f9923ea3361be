"""The periodic scheduler running real handlers on short schedules."""

from __future__ import annotations

import asyncio
import logging
import sys
import types
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from minos.common import MinosConfig
from minos.networks import (
    EnrouteBuilder,
    InvalidScheduleException,
    PeriodicTask,
    PeriodicTaskScheduler,
    PeriodicTaskSchedulerService,
    Request,
    ScheduledRequest,
    enroute,
)

MODULE = "periodic_scheduler_test_services"


class TickService:
    """Records each call; the second one fails."""

    def __init__(self, config: Any = None) -> None:
        self.ticks: list[datetime] = []
        self.enough = asyncio.Event()

    @enroute.periodic.event("@every 0.05s")
    async def tick(self, request: Request) -> None:
        self.ticks.append(await request.content())
        if len(self.ticks) >= 4:
            self.enough.set()
        if len(self.ticks) == 2:
            raise RuntimeError("the second tick breaks")


async def test_handler_runs_on_schedule_and_survives_an_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = TickService()
    scheduler = PeriodicTaskScheduler.from_routes(
        EnrouteBuilder(service).get_periodic_event()
    )
    with caplog.at_level(logging.INFO, logger="minos.networks.scheduling"):
        async with scheduler:
            await asyncio.wait_for(service.enough.wait(), 5)

    assert len(service.ticks) >= 4
    assert all(isinstance(t, datetime) and t.tzinfo for t in service.ticks)
    assert service.ticks == sorted(service.ticks)
    gaps = [
        (b - a).total_seconds()
        for a, b in zip(service.ticks, service.ticks[1:], strict=False)
    ]
    # Scheduled times, not wall-clock ones: multiples of the period apart
    # (more than one only if the test machine fell behind the schedule).
    assert all(gap > 0 and abs(gap / 0.05 - round(gap / 0.05)) < 1e-6 for gap in gaps)

    failures = [r for r in caplog.records if r.exc_info]
    assert len(failures) == 1
    assert "TickService.tick" in failures[0].getMessage()
    assert "the second tick breaks" in str(failures[0].exc_info[1])
    assert "Scheduler running TickService.tick" in caplog.text


async def test_overlapping_runs_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    active = 0
    most_active = 0
    calls = 0
    release = asyncio.Event()
    third_call = asyncio.Event()

    async def slow(request: Request) -> None:
        nonlocal active, most_active, calls
        calls += 1
        if calls == 3:
            third_call.set()
        active += 1
        most_active = max(most_active, active)
        await release.wait()
        active -= 1

    task = PeriodicTask("@every 0.02s", slow, name="slow")
    with caplog.at_level(logging.WARNING, logger="minos.networks.scheduling"):
        task.start()
        await asyncio.sleep(0.15)  # several firing times while the first run waits
        assert calls == 1 and task.running
        assert "Skipping slow" in caplog.text
        release.set()
        await asyncio.wait_for(third_call.wait(), 5)
        await task.stop(grace=1)
    assert most_active == 1


async def test_stop_waits_for_the_run_in_progress() -> None:
    started = asyncio.Event()
    finished = False

    async def job(request: Request) -> None:
        nonlocal finished
        started.set()
        await asyncio.sleep(0.1)
        finished = True

    task = PeriodicTask("@every 0.01s", job)
    task.start()
    await asyncio.wait_for(started.wait(), 5)
    await task.stop(grace=5)
    assert finished
    assert not task.running
    runs = task.runs
    await asyncio.sleep(0.05)
    assert task.runs == runs  # nothing runs after stop


async def test_stop_cancels_a_run_past_the_grace_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = asyncio.Event()
    cancelled = False

    async def stuck(request: Request) -> None:
        nonlocal cancelled
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled = True
            raise

    task = PeriodicTask("@every 0.01s", stuck, name="stuck")
    task.start()
    await asyncio.wait_for(started.wait(), 5)
    with caplog.at_level(logging.WARNING, logger="minos.networks.scheduling"):
        await task.stop(grace=0.05)
    assert cancelled
    assert "stuck did not finish within 0.05 s" in caplog.text


async def test_handlers_receive_the_scheduled_time() -> None:
    received: list[Any] = []

    def sync_handler(request: Request) -> None:
        received.append(request)

    when = datetime.fromisoformat("2024-03-01T10:00:00+00:00")
    await PeriodicTask("* * * * *", sync_handler).run_once(when)

    async def async_handler(request: Request) -> None:
        received.append(await request.content())
        assert request.user is None

    await PeriodicTask("* * * * *", async_handler).run_once(when)
    assert received[-1] == when
    assert isinstance(received[0], ScheduledRequest)


def test_invalid_schedule_is_refused_at_declaration() -> None:
    with pytest.raises(InvalidScheduleException) as info:
        enroute.periodic.event("99 * * * *")
    assert "minute 99 is out of range 0-59" in str(info.value)


def test_invalid_schedule_names_the_handler() -> None:
    async def broken(request: Request) -> None:
        raise AssertionError("never runs")

    with pytest.raises(InvalidScheduleException) as info:
        PeriodicTask("99 * * * *", broken)
    message = str(info.value)
    assert "minute 99 is out of range 0-59" in message
    assert "broken" in message


class ConfiguredService:
    calls: list[datetime] = []
    done = asyncio.Event()

    @staticmethod
    @enroute.periodic.event("@every 0.03s")
    def beat(request: Request) -> None:
        ConfiguredService.calls.append(request.scheduled_at)  # type: ignore[attr-defined]
        if len(ConfiguredService.calls) >= 2:
            ConfiguredService.done.set()


@pytest.fixture
def services_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    module = types.ModuleType(MODULE)
    module.ConfiguredService = ConfiguredService  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, MODULE, module)
    ConfiguredService.calls = []
    ConfiguredService.done = asyncio.Event()
    yield MODULE


async def test_service_from_config_runs_static_sync_handlers(
    services_module: str,
) -> None:
    config = MinosConfig(
        {
            "service": {"name": "ticker"},
            "events": {"service": f"{MODULE}.ConfiguredService"},
        },
        with_environment=False,
    )
    service = PeriodicTaskSchedulerService.from_config(config)
    assert [t.name for t in service.scheduler.tasks] == ["ConfiguredService.beat"]

    await service.start()
    try:
        await asyncio.wait_for(ConfiguredService.done.wait(), 5)
    finally:
        await service.stop()
    count = len(ConfiguredService.calls)
    await asyncio.sleep(0.1)
    assert len(ConfiguredService.calls) == count >= 2
