"""Routes are checked when declared: schedules with the scheduler's own parser."""

from __future__ import annotations

import asyncio
import threading

import pytest

from minos.networks import (
    EnrouteBuilder,
    InMemoryRequest,
    InvalidScheduleException,
    MinosNetworkException,
    Request,
    Response,
    enroute,
)


@pytest.mark.parametrize(
    "crontab",
    [
        "99 * * * *",
        "² * * * *",
        "* * * * * *",
        "@every 0.0000001s",
        "@every 0.0001ms",
        "@sometimes",
        "@every 10 years",
        "*/0 * * * *",
    ],
)
def test_periodic_routes_use_the_schedule_parser(crontab: str) -> None:
    with pytest.raises(InvalidScheduleException, match="Invalid"):
        enroute.periodic.event(crontab)


@pytest.mark.parametrize(
    "crontab", ["*/5 * * * *", "@daily", "@every 10s", "0 9 * * mon-fri"]
)
def test_valid_periodic_routes_are_accepted(crontab: str) -> None:
    assert enroute.periodic.event(crontab).crontab == crontab


@pytest.mark.parametrize("path", ["/a?b=1", "/a#b", "/a/{id}?"])
def test_rest_paths_with_query_or_fragment_are_refused(path: str) -> None:
    with pytest.raises(MinosNetworkException, match="REST path"):
        enroute.rest.query(path, "GET")


async def test_sync_handlers_are_run_in_a_worker_thread() -> None:
    seen: list[str] = []

    class Service:
        @enroute.rest.query("/where", "GET")
        def where(self, request: Request) -> Response:
            seen.append(threading.current_thread().name)
            return Response("here")

        @enroute.rest.query("/coro", "GET")
        def returns_a_coroutine(self, request: Request) -> object:
            async def later() -> Response:
                return Response("later")

            return later()

    handlers = EnrouteBuilder(Service).get_rest_command_query()
    by_url = {route.url: handler for route, handler in handlers.items()}
    assert asyncio.iscoroutinefunction(by_url["/where"])
    assert (await by_url["/where"](InMemoryRequest())).data == "here"
    assert seen and seen[0] != threading.main_thread().name
    assert (await by_url["/coro"](InMemoryRequest())).data == "later"
