"""The lifecycle every long-lived minos component shares."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from .config import MinosConfig

__all__ = ["MinosSetup"]


class MinosSetup:
    """A component with an async ``setup``/``destroy`` pair.

    Both are idempotent and safe to call concurrently. Subclasses put their
    work in ``_setup``/``_destroy`` and their construction from the
    configuration in ``_from_config``.
    """

    def __init__(self, *args: Any, already_setup: bool = False, **kwargs: Any) -> None:
        self._already_setup = already_setup
        self._lifecycle_lock: asyncio.Lock | None = None

    @property
    def already_setup(self) -> bool:
        return self._already_setup

    @property
    def already_destroyed(self) -> bool:
        return not self._already_setup

    @classmethod
    def from_config(
        cls, config: MinosConfig | str | None = None, **kwargs: Any
    ) -> Self:
        """Build an instance from a configuration (object or path to a file)."""
        if config is None:
            from .config import MinosConfig

            config = MinosConfig.current()
        elif not hasattr(config, "service"):
            from .config import MinosConfig

            config = MinosConfig(config)
        return cls._from_config(config=config, **kwargs)

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        return cls(*args, **kwargs)

    def _lifecycle_guard(self) -> asyncio.Lock:
        if self._lifecycle_lock is None:
            self._lifecycle_lock = asyncio.Lock()
        return self._lifecycle_lock

    async def setup(self) -> None:
        if self._already_setup:
            return
        async with self._lifecycle_guard():
            if not self._already_setup:
                await self._setup()
                self._already_setup = True

    async def _setup(self) -> None:
        return None

    async def destroy(self) -> None:
        if not self._already_setup:
            return
        async with self._lifecycle_guard():
            if self._already_setup:
                await self._destroy()
                self._already_setup = False

    async def _destroy(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        await self.setup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.destroy()
