"""The REST handler against hostile or broken clients and handlers, on loopback."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import uuid4

import aiohttp
import pytest

from minos.networks import (
    USER_HEADER,
    MinosNetworkException,
    Request,
    Response,
    ResponseException,
    RestHandler,
    RestRouteException,
)
from minos.networks.decorators.definitions import (
    RestCommandEnrouteDecorator,
    RestQueryEnrouteDecorator,
)


async def _echo(request: Request) -> Response:
    return Response(await request.content())


async def _ok(request: Request) -> Response:
    return Response("ok")


def _get(url: str) -> RestQueryEnrouteDecorator:
    return RestQueryEnrouteDecorator(url, "GET")


def _post(url: str) -> RestCommandEnrouteDecorator:
    return RestCommandEnrouteDecorator(url, "POST")


async def _serve(
    endpoints: dict[Any, Callable[[Request], Any]], **kwargs: Any
) -> RestHandler:
    handler = RestHandler("127.0.0.1", 0, endpoints, **kwargs)
    await handler.setup()
    return handler


@pytest.fixture
async def echo_server() -> AsyncIterator[RestHandler]:
    handler = await _serve({_post("/echo"): _echo, _get("/ok"): _ok})
    yield handler
    await handler.destroy()


async def _raw_exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes and read the whole answer until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()


# -- Slow clients -------------------------------------------------------------


async def test_a_body_that_never_arrives_is_a_408() -> None:
    handler = await _serve({_post("/echo"): _echo}, body_timeout=0.2)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", handler.port)
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"a": '
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 5)
        writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408")
        assert b"application/json" in head
        assert b'"error"' in body and b"0.2" in body

        # The server still answers others.
        async with aiohttp.ClientSession(f"http://127.0.0.1:{handler.port}") as s:
            async with s.post("/echo", json={"a": 1}) as response:
                assert await response.json() == {"a": 1}
    finally:
        await handler.destroy()


async def test_headers_that_never_end_are_cut_after_keepalive_timeout() -> None:
    handler = await _serve({_get("/ok"): _ok}, keepalive_timeout=0.2)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", handler.port)
        writer.write(b"GET /ok HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(100):  # one header line at a time, never the blank line
            writer.write(b"X-Slow: 1\r\n")
            try:
                await writer.drain()
                data = await asyncio.wait_for(reader.read(100), 0.05)
            except TimeoutError:
                continue
            except ConnectionError:
                data = b""
            if data == b"":
                closed = True
                break
        writer.close()
        assert closed
    finally:
        await handler.destroy()


def test_body_timeout_must_be_positive() -> None:
    for bad in (0, -1, float("nan"), "5", True):
        with pytest.raises(MinosNetworkException, match="rest.body_timeout"):
            RestHandler("127.0.0.1", 0, {}, body_timeout=bad)
        with pytest.raises(MinosNetworkException, match="rest.keepalive_timeout"):
            RestHandler("127.0.0.1", 0, {}, keepalive_timeout=bad)


# -- Sync handlers ------------------------------------------------------------


async def test_a_blocking_sync_handler_does_not_block_other_requests() -> None:
    release = threading.Event()
    entered = threading.Event()

    def blocking(request: Request) -> Response:
        entered.set()
        release.wait(5)
        return Response("slow")

    handler = await _serve({_get("/slow"): blocking, _get("/ok"): _ok})
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{handler.port}") as s:

            async def slow() -> Any:
                async with s.get("/slow") as response:
                    return await response.json()

            slow_task = asyncio.create_task(slow())
            await asyncio.to_thread(entered.wait, 5)
            # While the sync handler blocks, the event loop serves this one.
            async with s.get("/ok") as response:
                assert await response.json() == "ok"
            assert not release.is_set() and not slow_task.done()
            release.set()
            assert await asyncio.wait_for(slow_task, 5) == "slow"
    finally:
        release.set()
        await handler.destroy()


# -- Handlers that exit or return bad responses -------------------------------


async def test_system_exit_and_keyboard_interrupt_in_a_handler_are_500s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def exits(request: Request) -> Response:
        raise SystemExit(3)

    def interrupts(request: Request) -> Response:
        raise KeyboardInterrupt

    endpoints = {_get("/exit"): exits, _get("/interrupt"): interrupts, _get("/ok"): _ok}
    handler = await _serve(endpoints)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{handler.port}") as s:
            with caplog.at_level(logging.ERROR, logger="minos.networks.rest"):
                for url in ("/exit", "/interrupt"):
                    async with s.get(url) as response:
                        assert response.status == 500
                        assert await response.json() == {
                            "error": "Internal server error"
                        }
            async with s.get("/ok") as response:
                assert response.status == 200
    finally:
        await handler.destroy()
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("SystemExit" in m and "/exit" in m for m in messages)
    assert any("KeyboardInterrupt" in m and "/interrupt" in m for m in messages)


def test_response_exception_is_normalised() -> None:
    assert ResponseException("x", status="418").status == 400  # type: ignore[arg-type]
    assert ResponseException("x", status=None).status == 400  # type: ignore[arg-type]
    assert ResponseException("x", status=True).status == 400  # type: ignore[arg-type]
    assert ResponseException("x", status=302).status == 400
    assert ResponseException("x", status=600).status == 400
    assert ResponseException("x", status=418).status == 418
    assert ResponseException({"a": 1}).message == "{'a': 1}"  # type: ignore[arg-type]
    assert ResponseException(None).message == ""  # type: ignore[arg-type]


async def test_malformed_response_exceptions_answer_valid_json() -> None:
    async def odd(request: Request) -> Response:
        raise ResponseException(["not", "a", "string"], status="418")  # type: ignore[arg-type]

    handler = await _serve({_get("/odd"): odd})
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{handler.port}") as s:
            async with s.get("/odd") as response:
                assert response.status == 400
                assert await response.json() == {"error": "['not', 'a', 'string']"}
    finally:
        await handler.destroy()


@pytest.mark.parametrize("status", [0, -1, 999, 100, 101, 199, 600, True, "200"])
def test_response_status_outside_200_599_is_refused(status: Any) -> None:
    with pytest.raises(MinosNetworkException, match="status"):
        Response({"a": 1}, status=status)


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_statuses_refuse_data(status: int) -> None:
    with pytest.raises(MinosNetworkException, match=str(status)):
        Response({"a": 1}, status=status)
    assert Response(None, status=status).status == status


async def test_a_bad_status_reaching_the_renderer_is_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def tampered(request: Request) -> Response:
        response = Response("x")
        response.status = 999
        return response

    handler = await _serve({_get("/tampered"): tampered})
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{handler.port}") as s:
            with caplog.at_level(logging.ERROR, logger="minos.networks.rest"):
                async with s.get("/tampered") as response:
                    assert response.status == 500
                    assert await response.json() == {"error": "Internal server error"}
    finally:
        await handler.destroy()
    assert "999" in caplog.text and "tampered" in caplog.text


# -- Bodies the transport cannot read -----------------------------------------


async def test_bad_content_encoding_is_a_400(echo_server: RestHandler) -> None:
    answer = await _raw_exchange(
        echo_server.port,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: 8\r\nConnection: close\r\n\r\n"
        b'{"a": 1}',
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"application/json" in head
    assert b"gzip" in body and b'"error"' in body


async def test_a_client_leaving_mid_body_is_logged_quietly(
    echo_server: RestHandler, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="minos.networks.rest"):
        reader, writer = await asyncio.open_connection("127.0.0.1", echo_server.port)
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"a": '
        )
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()
        for _ in range(100):
            if "disconnected" in caplog.text:
                break
            await asyncio.sleep(0.01)
    rest_records = [r for r in caplog.records if r.name.startswith("minos.networks")]
    assert any("disconnected" in r.getMessage() for r in rest_records)
    assert all(r.levelno < logging.WARNING for r in rest_records)
    assert all(not r.exc_info for r in rest_records)


# -- JSON numbers ---------------------------------------------------------------


async def test_big_integers_in_bodies_are_exact(echo_server: RestHandler) -> None:
    big = 2**64 + 1
    payload = f'{{"n": {big}, "m": -{big}, "small": 3, "s": "{big}"}}'.encode()
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(f"http://127.0.0.1:{echo_server.port}") as s:
        async with s.post("/echo", data=payload, headers=headers) as response:
            assert response.status == 200
            text = await response.text()
    assert f'"n":{big}' in text.replace(" ", "")
    assert f'"m":-{big}' in text.replace(" ", "")


async def test_absurd_numbers_in_bodies_are_400s(echo_server: RestHandler) -> None:
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(f"http://127.0.0.1:{echo_server.port}") as s:
        for body in (b"1" + b"0" * 5000, b"[1e400]", b"[NaN]", b"[-Infinity]"):
            async with s.post("/echo", data=body, headers=headers) as response:
                assert response.status == 400, body[:20]
                error = (await response.json())["error"]
                assert "JSON" in error or "number" in error


async def test_big_integers_render_and_non_finite_floats_are_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    big = 10**30

    async def big_int(request: Request) -> Response:
        return Response({"n": big, "items": [1, None, -big]})

    async def not_a_number(request: Request) -> Response:
        return Response({"ratio": math.nan, "other": None})

    async def infinite(request: Request) -> Response:
        return Response([math.inf])

    endpoints = {_get("/big"): big_int, _get("/nan"): not_a_number}
    endpoints[_get("/inf")] = infinite
    handler = await _serve(endpoints)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{handler.port}") as s:
            async with s.get("/big") as response:
                assert response.status == 200
                assert response.content_type == "application/json"
                text = await response.text()
            assert text.replace(" ", "") == f'{{"n":{big},"items":[1,null,-{big}]}}'
            with caplog.at_level(logging.ERROR, logger="minos.networks.rest"):
                for url in ("/nan", "/inf"):
                    async with s.get(url) as response:
                        assert response.status == 500
                        assert await response.json() == {
                            "error": "Internal server error"
                        }
    finally:
        await handler.destroy()
    assert "not_a_number" in caplog.text and "infinite" in caplog.text
    assert "finite" in caplog.text


# -- The user header ------------------------------------------------------------


async def test_user_header_must_be_one_canonical_uuid(echo_server: RestHandler) -> None:
    user = uuid4()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{echo_server.port}") as s:
        for value in (user.hex, f"{{{user}}}", f"urn:uuid:{user}", str(user) + " x"):
            async with s.post("/echo", json={}, headers={USER_HEADER: value}) as r:
                assert r.status == 400, value
                assert USER_HEADER in (await r.json())["error"]
        async with s.post(
            "/echo", json={}, headers={USER_HEADER: str(user).upper()}
        ) as r:
            assert r.status == 200

    answer = await _raw_exchange(
        echo_server.port,
        f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        f"{USER_HEADER}: {user}\r\n{USER_HEADER}: {uuid4()}\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert USER_HEADER.encode() in body and b"once" in body


# -- Shutdown -------------------------------------------------------------------


async def test_shutdown_is_bounded_by_shutdown_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entered = asyncio.Event()

    async def forever(request: Request) -> Response:
        entered.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(60)  # ignores the first cancellation
        return Response("late")

    handler = await _serve({_get("/forever"): forever}, shutdown_timeout=0.5)
    session = aiohttp.ClientSession(f"http://127.0.0.1:{handler.port}")
    request = asyncio.create_task(session.get("/forever"))
    try:
        await asyncio.wait_for(entered.wait(), 5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with caplog.at_level(logging.WARNING, logger="minos.networks.rest"):
            await handler.destroy()
        elapsed = loop.time() - started
        # Bounded by the timeout (plus a little), not twice the timeout.
        assert elapsed < 0.9, elapsed
        assert "1 request" in caplog.text
    finally:
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        await session.close()


async def test_shutdown_waits_for_requests_in_progress() -> None:
    entered = asyncio.Event()

    async def short(request: Request) -> Response:
        entered.set()
        await asyncio.sleep(0.1)
        return Response("done")

    handler = await _serve({_get("/short"): short}, shutdown_timeout=5)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{handler.port}") as s:

        async def call() -> Any:
            async with s.get("/short") as response:
                return response.status, await response.json()

        task = asyncio.create_task(call())
        await asyncio.wait_for(entered.wait(), 5)
        await handler.destroy()
        assert await asyncio.wait_for(task, 5) == (200, "done")


# -- Constructor arguments --------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"port": -1}, "rest.port"),
        ({"port": 70000}, "rest.port"),
        ({"port": "abc"}, "rest.port"),
        ({"port": None}, "rest.port"),
        ({"port": True}, "rest.port"),
        ({"host": ""}, "rest.host"),
        ({"host": "  "}, "rest.host"),
        ({"host": None}, "rest.host"),
        ({"max_body_size": True}, "rest.max_body_size"),
        ({"max_body_size": 0}, "rest.max_body_size"),
        ({"shutdown_timeout": -1}, "rest.shutdown_timeout"),
    ],
)
def test_bad_constructor_arguments_name_the_setting(
    kwargs: dict[str, Any], names: str
) -> None:
    arguments: dict[str, Any] = {"host": "127.0.0.1", "port": 0, **kwargs}
    with pytest.raises(MinosNetworkException, match=names.replace(".", r"\.")):
        RestHandler(endpoints={}, **arguments)


# -- Routes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/b/{id}", r"/b/{id:\d+}"),
        (r"/b/{id:\d+}", "/b/{uuid}"),
        ("/b/{id}/pages", "/b/{name}/pages"),
        (r"/b/{id:\d+}", r"/b/{n:\d+}"),
    ],
)
def test_overlapping_patterns_are_refused(first: str, second: str) -> None:
    async def one(request: Request) -> None:
        return None

    async def two(request: Request) -> None:
        return None

    handler = RestHandler("127.0.0.1", 0, {_get(first): one, _get(second): two})
    with pytest.raises(RestRouteException) as caught:
        handler.get_app()
    message = caught.value.message
    assert first in message and second in message
    assert "one" in message and "two" in message


def test_distinct_patterns_and_methods_are_accepted() -> None:
    endpoints = {
        _get("/b/{id}"): _ok,
        _post("/b/{id:\\d+}"): _ok,
        _get("/b/{id}/pages"): _ok,
        _get("/b/search"): _ok,
        _get(r"/c/{id:\d+}"): _ok,
        _get(r"/c/{name:[a-z]+}"): _ok,
    }
    RestHandler("127.0.0.1", 0, endpoints).get_app()


@pytest.mark.parametrize("path", ["/b?x=1", "/b#top", "/b/{id}?"])
def test_query_or_fragment_in_a_path_is_refused(path: str) -> None:
    with pytest.raises(MinosNetworkException, match="REST path"):
        _get(path)


async def test_head_is_served_for_get_routes(echo_server: RestHandler) -> None:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{echo_server.port}") as s:
        async with s.head("/ok") as response:
            assert response.status == 200
            assert await response.read() == b""
        async with s.head("/echo") as response:
            assert response.status == 405


async def test_explicit_head_route_wins() -> None:
    async def head(request: Request) -> Response:
        return Response(None, status=204)

    endpoints: dict[Any, Callable[[Request], Awaitable[Any]]] = {
        _get("/x"): _ok,
        RestQueryEnrouteDecorator("/x", "HEAD"): head,
    }
    handler = await _serve(endpoints)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{handler.port}") as s:
            async with s.head("/x") as response:
                assert response.status == 204
    finally:
        await handler.destroy()
