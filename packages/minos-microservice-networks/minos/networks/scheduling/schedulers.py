"""Running ``enroute.periodic.event`` handlers on their schedules."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from minos.common import BackgroundService, MinosSetup

from ..decorators import EnrouteBuilder, as_async_handler
from ..exceptions import MinosNetworkException
from ..requests import Request, Response
from .schedules import InvalidScheduleException, Schedule, parse_schedule

if TYPE_CHECKING:
    from minos.common import MinosConfig

    from ..decorators import PeriodicEventEnrouteDecorator

logger = logging.getLogger(__name__)

__all__ = [
    "ScheduledRequest",
    "PeriodicTask",
    "PeriodicTaskScheduler",
    "PeriodicTaskSchedulerService",
]

Handler = Callable[[Request], Awaitable[Response | None] | Response | None]


class ScheduledRequest(Request):
    """What a periodic handler is called with: ``content()`` is the firing time."""

    def __init__(self, scheduled_at: datetime) -> None:
        self.scheduled_at = scheduled_at

    @property
    def user(self) -> None:
        return None

    async def content(self, **kwargs: Any) -> datetime:
        return self.scheduled_at

    def __repr__(self) -> str:
        return f"ScheduledRequest({self.scheduled_at.isoformat()})"


class PeriodicTask:
    """One handler on one schedule.

    At most one run is in progress at a time: when a firing time comes while
    the previous run is still going, that firing is skipped (a WARNING says
    so) rather than queued, so a slow handler never piles up work. Firing
    times missed while the event loop was busy are skipped too. A run that
    raises (``SystemExit`` and ``KeyboardInterrupt`` included) is logged with
    its traceback and the task keeps its schedule. A sync handler runs in a
    worker thread. On stop, a run cancelled after the grace period gets
    ``cancel_timeout`` seconds to end; one that ignores the cancellation is
    abandoned (an ERROR says so) so the service can still stop.
    """

    def __init__(
        self,
        schedule: Schedule | str,
        handler: Handler,
        *,
        name: str | None = None,
        cancel_timeout: float = 5.0,
    ) -> None:
        self.name = name or getattr(handler, "__qualname__", repr(handler))
        if (
            not isinstance(cancel_timeout, int | float)
            or isinstance(cancel_timeout, bool)
            or not math.isfinite(cancel_timeout)
            or cancel_timeout <= 0
        ):
            raise MinosNetworkException(
                f"Invalid cancel_timeout {cancel_timeout!r} for periodic handler "
                f"{self.name}: use a positive number of seconds"
            )
        self.cancel_timeout = float(cancel_timeout)
        if isinstance(schedule, str):
            try:
                schedule = parse_schedule(schedule)
            except InvalidScheduleException as exc:
                raise InvalidScheduleException(
                    f"{exc.message} (periodic handler {self.name})"
                ) from None
        self.schedule = schedule
        self.handler = handler
        self._call = as_async_handler(handler)
        self.runs = 0
        self._loop_task: asyncio.Task[None] | None = None
        self._run_task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether a run of the handler is in progress."""
        return self._run_task is not None and not self._run_task.done()

    async def run_once(self, scheduled_at: datetime) -> None:
        """Call the handler for one firing time, logging any failure."""
        self.runs += 1
        try:
            await self._call(ScheduledRequest(scheduled_at))
        except Exception:
            logger.exception(
                "Periodic handler %s failed for %s", self.name, scheduled_at.isoformat()
            )
        except (SystemExit, KeyboardInterrupt) as exc:
            # Raised by handler code: it must not end the service.
            logger.error(
                "Periodic handler %s raised %s for %s; it keeps its schedule",
                self.name,
                type(exc).__name__,
                scheduled_at.isoformat(),
                exc_info=exc,
            )

    async def run_forever(self) -> None:
        """Sleep until each firing time and start a run then."""
        target = self.schedule.next_after(_now())
        while True:
            delay = (target - _now()).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
                continue

            if self.running:
                logger.warning(
                    "Skipping %s at %s: its previous run is still going",
                    self.name,
                    target.isoformat(),
                )
            else:
                self._run_task = asyncio.create_task(
                    self.run_once(target), name=f"periodic {self.name}"
                )

            previous, target = target, self.schedule.next_after(target)
            if not target > previous:
                logger.error(
                    "Stopping periodic handler %s: its schedule %r gave %s, not "
                    "after %s",
                    self.name,
                    self.schedule,
                    target.isoformat(),
                    previous.isoformat(),
                )
                return
            now = _now()
            if target <= now:
                logger.warning(
                    "Periodic handler %s fell behind its schedule; skipping to the "
                    "next firing time",
                    self.name,
                )
                target = self.schedule.next_after(now)
                if not target > now:
                    logger.error(
                        "Stopping periodic handler %s: its schedule %r gave %s, "
                        "not after %s",
                        self.name,
                        self.schedule,
                        target.isoformat(),
                        now.isoformat(),
                    )
                    return

    def start(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(
                self.run_forever(), name=f"schedule {self.name}"
            )

    async def stop(self, grace: float | None = None) -> None:
        """Stop scheduling; let a run in progress finish within ``grace`` seconds."""
        loop_task, self._loop_task = self._loop_task, None
        if loop_task is not None:
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task

        run_task, self._run_task = self._run_task, None
        if run_task is None or run_task.done():
            return
        done, _ = await asyncio.wait({run_task}, timeout=grace)
        if not done:
            logger.warning(
                "Periodic handler %s did not finish within %s s; cancelling it",
                self.name,
                grace,
            )
            run_task.cancel()
            done, _ = await asyncio.wait({run_task}, timeout=self.cancel_timeout)
            if not done:
                logger.error(
                    "Periodic handler %s ignored its cancellation for %s s; "
                    "abandoning it",
                    self.name,
                    self.cancel_timeout,
                )

    def __repr__(self) -> str:
        return f"PeriodicTask({self.name!r}, {self.schedule!r})"


class PeriodicTaskScheduler(MinosSetup):
    """Runs periodic tasks from setup to destroy.

    Built from a configuration, it runs every ``enroute.periodic.event``
    handler of the services named by ``commands``, ``queries`` and ``events``.
    An invalid schedule is an error at construction, naming the handler.
    """

    def __init__(
        self,
        tasks: Iterable[PeriodicTask] = (),
        *,
        stop_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tasks = list(tasks)
        self.stop_timeout = stop_timeout

    @classmethod
    def from_routes(
        cls, routes: Mapping[PeriodicEventEnrouteDecorator, Handler], **kwargs: Any
    ) -> PeriodicTaskScheduler:
        """One task per ``enroute.periodic.event`` route."""
        tasks = [
            PeriodicTask(route.crontab, handler) for route, handler in routes.items()
        ]
        return cls(tasks, **kwargs)

    @classmethod
    def _from_config(
        cls, *args: Any, config: MinosConfig, **kwargs: Any
    ) -> PeriodicTaskScheduler:
        routes = EnrouteBuilder.from_config(config).get_periodic_event()
        return cls.from_routes(routes, **kwargs)

    async def _setup(self) -> None:
        for task in self.tasks:
            task.start()
        if self.tasks:
            logger.info(
                "Scheduler running %s",
                ", ".join(f"{t.name} ({t.schedule!r})" for t in self.tasks),
            )

    async def _destroy(self) -> None:
        await asyncio.gather(*(t.stop(self.stop_timeout) for t in self.tasks))
        if self.tasks:
            logger.info("Scheduler stopped")


class PeriodicTaskSchedulerService(BackgroundService):
    """The scheduler as one of the launcher's background services."""

    def __init__(
        self, *args: Any, scheduler: PeriodicTaskScheduler, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.scheduler = scheduler

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        scheduler = kwargs.pop("scheduler", None)
        if scheduler is None:
            scheduler = PeriodicTaskScheduler.from_config(config)
        return cls(*args, config=config, scheduler=scheduler, **kwargs)

    async def _setup(self) -> None:
        await self.scheduler.setup()

    async def _destroy(self) -> None:
        await self.scheduler.destroy()


def _now() -> datetime:
    return datetime.now(UTC)
