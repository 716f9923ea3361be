"""``RestService``: the REST server as one of the launcher's background services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from minos.common import BackgroundService

from .handlers import RestHandler

if TYPE_CHECKING:
    from minos.common import MinosConfig

__all__ = ["RestService"]


class RestService(BackgroundService):
    """Starts a ``RestHandler`` (``rest.host``/``rest.port``) and stops it cleanly."""

    def __init__(self, *args: Any, handler: RestHandler, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handler = handler

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        handler = kwargs.pop("handler", None) or RestHandler.from_config(config)
        return cls(*args, config=config, handler=handler, **kwargs)

    async def _setup(self) -> None:
        await self.handler.setup()

    async def _destroy(self) -> None:
        await self.handler.destroy()
