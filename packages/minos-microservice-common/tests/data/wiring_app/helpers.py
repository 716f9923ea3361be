"""A submodule that the package does not re-export."""

from __future__ import annotations

from dependency_injector.wiring import Provide, inject

from minos.common import MinosConfig


@inject
def configured_name(config: MinosConfig = Provide["config"]) -> str:
    return config.service.name
