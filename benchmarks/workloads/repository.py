"""Event append: one aggregate change stored by the repository, nothing else."""

from __future__ import annotations

from typing import Any

from ..measure import Unavailable, loop_args, timed_concurrent
from .aggregates import create_ceiling

__all__ = ["append_ceiling", "append_ours", "append_peer"]


async def _framework_append(params: dict[str, Any]) -> dict[str, Any]:
    from ..app.boot import booted

    async with booted(params):
        from minos.common import AggregateDiff

        from ..app import injected
        from ..app.aggregates import Item, Location

        if not hasattr(AggregateDiff, "from_aggregate"):
            raise Unavailable("AggregateDiff.from_aggregate is missing")
        repository = injected.repository()
        arguments = loop_args(params)
        # Changes are built before the clock starts: only the append is timed.
        diffs = [
            AggregateDiff.from_aggregate(
                Item(
                    name=f"item-{index}",
                    count=index,
                    tags=["bench"],
                    location=Location(street="Main Street 1", city="Springfield"),
                )
            )
            for index in range(arguments["count"] + arguments["warmup"])
        ]

        async def operation(index: int) -> None:
            # Warm-up calls get negative indices: they take the extra changes.
            position = index if index >= 0 else arguments["count"] - 1 - index
            await repository.create(diffs[position])

        return await timed_concurrent(operation, concurrency=1, **arguments)


append_ours = _framework_append
append_peer = _framework_append


async def append_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    return await create_ceiling({**params, "concurrency": 1})
