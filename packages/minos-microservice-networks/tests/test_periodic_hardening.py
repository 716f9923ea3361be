"""Schedules and periodic tasks that could freeze, kill or hang the service."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minos.networks import (
    Interval,
    InvalidScheduleException,
    MinosNetworkException,
    PeriodicTask,
    PeriodicTaskScheduler,
    Request,
    Schedule,
    parse_schedule,
)

MOMENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    [
        "@every 0.0000001s",
        "@every 0.0001ms",
        "@every 0s",
        "@every 0.0000004s",
        "@every 367d",
        "@every 9000h",
        "@every " + "9" * 400 + "h",
        "@every 1" + "0" * 30 + "ms",
        "@every ²s",
        "@every 1.5e3s",
    ],
)
def test_degenerate_intervals_are_refused(expression: str) -> None:
    with pytest.raises(InvalidScheduleException, match="Invalid interval"):
        parse_schedule(expression)


def test_interval_constructor_checks_the_converted_period() -> None:
    for seconds in (1e-7, 0, -1, float("nan"), float("inf"), 1e300, 400 * 86400):
        with pytest.raises(InvalidScheduleException):
            Interval(seconds)
    assert Interval(0.001).next_after(MOMENT) == MOMENT + timedelta(milliseconds=1)
    assert Interval(365 * 86400).next_after(MOMENT) > MOMENT


@pytest.mark.parametrize(
    "expression",
    ["² * * * *", "* ¹ * * *", "*/٣ * * * *", "1-² * * * *", "* * * * ⁵", "１ * * * *"],
)
def test_non_ascii_digits_in_a_crontab_are_refused(expression: str) -> None:
    with pytest.raises(InvalidScheduleException, match="Invalid crontab"):
        parse_schedule(expression)


class _Stuck(Schedule):
    """A broken schedule whose next time never moves forward."""

    def next_after(self, moment: datetime) -> datetime:
        return datetime.now(UTC) - timedelta(seconds=1)


async def test_a_schedule_that_does_not_move_forward_stops_its_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def handler(request: Request) -> None:
        nonlocal calls
        calls += 1

    task = PeriodicTask(_Stuck(), handler, name="stuck")
    with caplog.at_level(logging.ERROR, logger="minos.networks.scheduling"):
        task.start()
        # The event loop stays responsive: these sleeps return.
        for _ in range(20):
            await asyncio.sleep(0.005)
        await task.stop(1)
    assert calls <= 1
    assert "stuck" in caplog.text and "not after" in caplog.text


async def test_a_blocking_sync_handler_runs_in_a_thread() -> None:
    release = threading.Event()
    entered = threading.Event()

    def blocking(request: Request) -> None:
        entered.set()
        release.wait(5)

    task = PeriodicTask("@every 0.01s", blocking, name="blocking")
    task.start()
    try:
        await asyncio.to_thread(entered.wait, 5)
        assert entered.is_set()
        # The loop is free while the handler blocks its thread.
        await asyncio.wait_for(asyncio.sleep(0.01), 1)
        assert task.running and not release.is_set()
    finally:
        release.set()
        await task.stop(5)


@pytest.mark.parametrize("error", [SystemExit(2), KeyboardInterrupt()])
async def test_exiting_handlers_are_logged_and_keep_their_schedule(
    error: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0
    again = asyncio.Event()

    async def handler(request: Request) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise error
        again.set()

    task = PeriodicTask("@every 0.02s", handler, name="exiting")
    with caplog.at_level(logging.ERROR, logger="minos.networks.scheduling"):
        task.start()
        try:
            await asyncio.wait_for(again.wait(), 5)
        finally:
            await task.stop(1)
    assert calls >= 2
    assert type(error).__name__ in caplog.text and "exiting" in caplog.text


async def test_sync_handler_exit_is_caught_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    def handler(request: Request) -> None:
        loop.call_soon_threadsafe(done.set)
        raise SystemExit(1)

    task = PeriodicTask("@every 0.02s", handler, name="sync-exit")
    with caplog.at_level(logging.ERROR, logger="minos.networks.scheduling"):
        task.start()
        try:
            await asyncio.wait_for(done.wait(), 5)
            for _ in range(100):
                if "SystemExit" in caplog.text:
                    break
                await asyncio.sleep(0.01)
        finally:
            await task.stop(1)
    assert "SystemExit" in caplog.text


async def test_a_handler_swallowing_cancellation_does_not_hang_destroy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = asyncio.Event()
    finish = asyncio.Event()

    async def stubborn(request: Request) -> None:
        started.set()
        while not finish.is_set():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                pass  # refuses to stop

    task = PeriodicTask("@every 0.01s", stubborn, name="stubborn", cancel_timeout=0.1)
    scheduler = PeriodicTaskScheduler([task], stop_timeout=0.05)
    await scheduler.setup()
    try:
        await asyncio.wait_for(started.wait(), 5)
        with caplog.at_level(logging.ERROR, logger="minos.networks.scheduling"):
            await asyncio.wait_for(scheduler.destroy(), 5)
        assert "stubborn" in caplog.text and "abandon" in caplog.text
    finally:
        finish.set()


def test_cancel_timeout_must_be_positive() -> None:
    async def handler(request: Request) -> Any:
        return None

    with pytest.raises(MinosNetworkException, match="cancel_timeout"):
        PeriodicTask("@every 1s", handler, cancel_timeout=-1)
