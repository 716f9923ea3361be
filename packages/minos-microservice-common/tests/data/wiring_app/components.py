"""Injections used by the container tests."""

from __future__ import annotations

from typing import Any

from minos.common import MinosConfig, MinosSetup


class QueryRepository(MinosSetup):
    """Records its lifecycle and the config it was built from."""

    def __init__(self, *args: Any, name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.name = name
        self.events: list[str] = []

    @classmethod
    def _from_config(
        cls, *args: Any, config: MinosConfig, **kwargs: Any
    ) -> QueryRepository:
        return cls(*args, name=config.service.name, **kwargs)

    async def _setup(self) -> None:
        self.events.append("setup")

    async def _destroy(self) -> None:
        self.events.append("destroy")


class BrokenComponent(MinosSetup):
    """Fails while setting up."""

    async def _setup(self) -> None:
        raise ConnectionRefusedError("nothing listens on 127.0.0.1:9")


class UnbuildableComponent(MinosSetup):
    """Fails while being built from the configuration."""

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Any:
        return config.repository._asdict()
