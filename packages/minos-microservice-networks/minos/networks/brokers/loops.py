"""Helpers shared by the long-running loops (producer, consumer, handlers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

__all__ = ["StopSignal", "stop_task"]


class StopSignal:
    """A stop request a loop checks between steps and sleeps on."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def _get(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    @property
    def is_set(self) -> bool:
        return self._event is not None and self._event.is_set()

    def set(self) -> None:
        self._get().set()

    def clear(self) -> None:
        self._event = None

    async def sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds, less if the stop is requested meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._get().wait(), delay)

    async def wait(self, wakeups: asyncio.Queue[str], max_wait: float) -> None:
        """Until a notification in ``wakeups``, a stop request or ``max_wait``."""
        if wakeups.empty():
            woken = asyncio.ensure_future(wakeups.get())
            stopped = asyncio.ensure_future(self._get().wait())
            try:
                await asyncio.wait(
                    {woken, stopped},
                    timeout=max_wait,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                woken.cancel()
                stopped.cancel()
        while not wakeups.empty():
            wakeups.get_nowait()


async def stop_task(
    task: asyncio.Task[None] | None, stop: Callable[[], None], grace: float = 10.0
) -> None:
    """Ask a loop to stop, give it ``grace`` seconds to finish, then cancel it."""
    if task is None:
        return
    stop()
    try:
        await asyncio.wait_for(asyncio.shield(task), grace)
    except TimeoutError:
        logger.warning(
            "%s did not stop in %.0fs; cancelling it", task.get_name(), grace
        )
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            task.cancel()
            raise
        logger.warning("%s was cancelled while stopping", task.get_name())
    except Exception:
        logger.exception("%s ended with an error", task.get_name())
