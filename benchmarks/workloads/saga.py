"""Saga round trip: a REST command runs a one-step saga whose participant is a
broker command of the same service, and answers once the reply is in."""

from __future__ import annotations

from typing import Any

from ..measure import loop_args
from .raw import http_load

__all__ = ["roundtrip_ours", "roundtrip_peer"]


async def _framework_roundtrip(params: dict[str, Any]) -> dict[str, Any]:
    from ..app.boot import service_process

    async with service_process(params) as base:
        return await http_load(
            base,
            "/orders",
            concurrency=1,
            method="POST",
            body={"quantity": 2},
            **loop_args(params),
        )


roundtrip_ours = _framework_roundtrip
roundtrip_peer = _framework_roundtrip
