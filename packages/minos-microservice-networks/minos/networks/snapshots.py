"""The background service that keeps snapshots in sync with the event store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from dependency_injector.wiring import Provide

from minos.common import BackgroundService, MinosSnapshot, MinosSnapshotException

logger = logging.getLogger(__name__)

__all__ = ["SnapshotService"]


class SnapshotService(BackgroundService):
    """Applies events stored without their snapshot (another process, a direct
    ``repository.submit``, a snapshot store in another database) every
    ``interval`` seconds.

    ``Aggregate.save`` updates the snapshot itself, and ``get`` catches up one
    aggregate when it lags, so this service only makes ``find`` see such
    changes. The snapshot store is the ``snapshot`` injection or the
    ``snapshot`` argument.
    """

    snapshot_injection: Any = Provide["snapshot"]

    def __init__(
        self,
        *args: Any,
        snapshot: MinosSnapshot | None = None,
        interval: float = 2.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if interval <= 0:
            raise ValueError(
                f"SnapshotService interval must be positive, not {interval}"
            )
        self._snapshot = snapshot
        self.interval = float(interval)
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        self._wakeup: asyncio.Event | None = None

    @property
    def snapshot(self) -> MinosSnapshot:
        """The snapshot store this service keeps up to date."""
        snapshot = self._snapshot
        if snapshot is None:
            snapshot = self.snapshot_injection
        if not isinstance(snapshot, MinosSnapshot):
            raise MinosSnapshotException(
                "SnapshotService needs the 'snapshot' injection: add "
                "'snapshot: minos.common.PostgreSqlSnapshot' to service.injections "
                "in the config, or pass snapshot=..."
            )
        return snapshot

    async def _setup(self) -> None:
        snapshot = self.snapshot
        await snapshot.setup()
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._task = asyncio.create_task(self._run(snapshot), name="snapshot-service")
        logger.info("Snapshot service started (every %.1fs)", self.interval)

    async def _destroy(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        assert self._stopping is not None
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), 10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        logger.info("Snapshot service stopped")

    def wake(self) -> None:
        """Run a catch-up now instead of at the next interval."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def synchronize(self) -> int:
        """Catch up now; return how many aggregates were updated."""
        return await self.snapshot.synchronize()

    async def _run(self, snapshot: MinosSnapshot) -> None:
        assert self._stopping is not None and self._wakeup is not None
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                await snapshot.synchronize()
            except Exception:
                # The loop must outlive a database restart; the next round retries.
                logger.warning("Snapshot catch-up failed; retrying", exc_info=True)
            waiters = [
                asyncio.ensure_future(self._stopping.wait()),
                asyncio.ensure_future(self._wakeup.wait()),
            ]
            try:
                await asyncio.wait(
                    waiters, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()
