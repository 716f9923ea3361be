"""A burst of concurrent calls over loopback: every one answered correctly."""

from __future__ import annotations

import asyncio

import aiohttp

from minos.networks import EnrouteBuilder, Request, Response, RestHandler, enroute

REQUESTS = 10_000
CONCURRENCY = 100


class CounterService:
    def __init__(self) -> None:
        self.calls = 0

    @enroute.rest.command("/counter/{name}", "POST")
    async def bump(self, request: Request) -> Response:
        content = await request.content()
        self.calls += 1
        await asyncio.sleep(0)
        return Response({"name": content["name"], "n": content["n"]})


async def test_ten_thousand_concurrent_requests_all_succeed() -> None:
    service = CounterService()
    endpoints = EnrouteBuilder(service).get_rest_command_query()
    gate = asyncio.Semaphore(CONCURRENCY)
    failures: list[str] = []

    async with RestHandler("127.0.0.1", 0, endpoints) as handler:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        url = f"http://127.0.0.1:{handler.port}"
        async with aiohttp.ClientSession(url, connector=connector) as session:

            async def call(n: int) -> None:
                async with gate:
                    try:
                        path = f"/counter/c{n % 7}"
                        async with session.post(path, json={"n": n}) as response:
                            body = await response.json()
                            if response.status != 200 or body != {
                                "name": f"c{n % 7}",
                                "n": n,
                            }:
                                failures.append(f"{n}: {response.status} {body}")
                    except aiohttp.ClientError as exc:
                        failures.append(f"{n}: {exc!r}")

            await asyncio.gather(*(call(n) for n in range(REQUESTS)))

    assert failures == []
    assert service.calls == REQUESTS
