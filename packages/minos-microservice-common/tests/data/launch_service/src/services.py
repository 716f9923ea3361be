"""Background services that record start and stop in the injected journal."""

from __future__ import annotations

from dependency_injector.wiring import Provide

from minos.common import BackgroundService

from .components import Journal


class FirstService(BackgroundService):
    """Writes to the journal it receives as a class attribute."""

    journal: Journal = Provide["journal"]

    async def _setup(self) -> None:
        self.journal.write(
            f"{type(self).__name__} started ({self.config.service.name})"
        )

    async def _destroy(self) -> None:
        self.journal.write(f"{type(self).__name__} stopped")


class SecondService(FirstService):
    """A second service, to check the stop order."""


class FailingService(FirstService):
    """Cannot start."""

    async def _setup(self) -> None:
        raise RuntimeError("port 8099 is taken by another process")


class BrokenStopService(FirstService):
    """Starts, but cannot stop."""

    async def _destroy(self) -> None:
        raise RuntimeError("the socket is already gone")
