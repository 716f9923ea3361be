"""The benchmark service's query side: a REST query and an event handler."""

from __future__ import annotations

import time

from minos.cqrs import QueryService
from minos.networks import Request, Response, enroute

from .payloads import ITEMS_PAGE

# When each ``ItemCreated`` event reached its handler, by aggregate uuid
# (``time.perf_counter``: one monotonic clock for every process on a host).
SEEN: dict[str, float] = {}


class BenchQueryService(QueryService):
    @enroute.rest.query("/items", "GET")
    async def list_items(self, request: Request) -> Response:
        return Response(ITEMS_PAGE)

    @enroute.rest.query("/seen", "GET")
    async def seen(self, request: Request) -> Response:
        return Response(dict(SEEN))

    @enroute.broker.event("ItemCreated")
    async def item_created(self, request: Request) -> None:
        diff = await request.content()
        SEEN[str(diff.uuid)] = time.perf_counter()
