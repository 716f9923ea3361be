"""The background services that run the message handlers for the launcher."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from minos.common import BackgroundService

from ..brokers.loops import stop_task
from .dispatch import MessageHandler
from .handlers import CommandHandler, CommandReplyHandler, EventHandler

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = [
    "CommandHandlerService",
    "CommandReplyHandlerService",
    "EventHandlerService",
    "HandlerService",
]


class HandlerService(BackgroundService):
    """Runs one message handler until the launcher stops it."""

    handler_class: ClassVar[type[MessageHandler]]

    def __init__(
        self,
        *args: Any,
        handler: MessageHandler | None = None,
        config: MinosConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, config=config, **kwargs)
        self._handler = handler
        self._task: asyncio.Task[None] | None = None

    @property
    def handler(self) -> MessageHandler:
        if self._handler is None:
            if self.config is None:
                raise ValueError(f"{type(self).__name__} needs a handler or a config")
            self._handler = self.handler_class.from_config(self.config)
        return self._handler

    async def _setup(self) -> None:
        handler = self.handler
        await handler.setup()
        name = f"minos:{type(handler).__name__}"
        self._task = asyncio.create_task(handler.run(), name=name)
        logger.info("%r started", handler)

    async def _destroy(self) -> None:
        await stop_task(self._task, self.handler.stop)
        self._task = None
        await self.handler.destroy()
        logger.info("%s stopped", type(self.handler).__name__)


class CommandHandlerService(HandlerService):
    """Runs the ``CommandHandler``, which answers commands and queries."""

    handler_class = CommandHandler


class CommandReplyHandlerService(HandlerService):
    """Runs the ``CommandReplyHandler``, which resumes sagas with their replies."""

    handler_class = CommandReplyHandler


class EventHandlerService(HandlerService):
    """Runs the ``EventHandler``, which reacts to events."""

    handler_class = EventHandler
