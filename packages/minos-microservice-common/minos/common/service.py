"""Background services: what ``service.services`` in the config names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from .setup import MinosSetup

if TYPE_CHECKING:
    from .config import MinosConfig

__all__ = ["BackgroundService"]


class BackgroundService(MinosSetup):
    """A long-running part of a microservice that the launcher starts and stops.

    ``start`` must return once the service is running (spawn tasks for loops);
    ``stop`` must finish in-flight work and release resources. The launcher
    builds each service with ``from_config(config)``; collaborators come from
    the container through ``Provide[...]`` defaults or explicit arguments.
    """

    def __init__(self, *args: Any, config: MinosConfig | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.config = config

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        return cls(*args, config=config, **kwargs)

    async def start(self) -> None:
        await self.setup()

    async def stop(self) -> None:
        await self.destroy()
