"""The REST handler over a real loopback socket: routes, content, every status."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

import aiohttp
import pytest
from aiohttp import web

from minos.common import UUID_REGEX, DeclarativeModel, ModelType, ValueObject
from minos.networks import (
    DEFAULT_MAX_BODY_SIZE,
    USER_HEADER,
    EnrouteBuilder,
    MinosRedefinedEnrouteDecoratorException,
    Request,
    Response,
    ResponseException,
    RestHandler,
    RestRequest,
    RestRouteException,
    enroute,
)
from minos.networks.decorators.definitions import (
    BrokerCommandEnrouteDecorator,
    RestCommandEnrouteDecorator,
    RestQueryEnrouteDecorator,
)

UUID_PATTERN = UUID_REGEX.pattern
BOOK_UUID = UUID("6d6b0a4c-3c6f-4d0b-9a50-0a0c4c1e2f3a")
MAX_BODY = DEFAULT_MAX_BODY_SIZE


class Color(Enum):
    RED = "red"


class Author(ValueObject):
    name: str
    born: int | None


class Shelf(DeclarativeModel):
    uuid: UUID
    authors: list[Author]
    tags: set[str]
    at: datetime
    color: Color


BookDTO = ModelType.build("BookDTO", {"uuid": UUID, "title": str, "available": int})


class BookService:
    """Handlers on instance methods, static methods, sync and async functions."""

    def __init__(self, config: Any = None) -> None:
        self.created: list[Any] = []

    @enroute.rest.command("/books", "POST")
    async def create_book(self, request: Request) -> Response:
        content = await request.content()
        self.created.append(content)
        return Response({"content": content, "user": request.user}, status=201)

    @staticmethod
    @enroute.rest.query(f"/books/{{uuid:{UUID_PATTERN}}}", "GET")
    async def get_book(request: Request) -> Response:
        return Response(await request.content())

    @enroute.rest.command(f"/books/{{uuid:{UUID_PATTERN}}}", "DELETE")
    async def delete_book(self, request: Request) -> None:
        content = await request.content()
        if content["uuid"] != str(BOOK_UUID):
            raise ResponseException("The book does not exist.")

    @enroute.rest.command(f"/books/{{uuid:{UUID_PATTERN}}}/copies", "PUT")
    async def add_copies(self, request: Request) -> Response:
        assert isinstance(request, RestRequest)
        content = await request.content()
        return Response(
            {
                "content": content,
                "path_args": request.path_args,
                "query_args": request.query_args,
            }
        )

    @enroute.rest.query("/books", "GET")
    def list_books(self, request: Request) -> Response:
        shelf = Shelf(
            BOOK_UUID,
            [Author("Ursula", 1929), Author("Anon", None)],
            {"sf"},
            datetime(2024, 1, 2, tzinfo=UTC),
            Color.RED,
        )
        return Response([shelf, BookDTO(BOOK_UUID, "The Lathe of Heaven", 2)])

    @enroute.rest.command("/echo", "POST")
    @enroute.broker.command("Echo")
    async def echo(self, request: Request) -> Response:
        return Response(await request.content())

    @enroute.rest.query("/uuid", "GET")
    async def a_uuid(self, request: Request) -> Response:
        return Response(BOOK_UUID)

    @enroute.rest.query("/teapot", "GET")
    async def teapot(self, request: Request) -> Response:
        raise ResponseException("I refuse to brew coffee.", status=418)

    @enroute.rest.query("/crash", "GET")
    async def crash(self, request: Request) -> Response:
        raise RuntimeError("connection string postgres://secret")

    @enroute.rest.query("/unrenderable", "GET")
    async def unrenderable(self, request: Request) -> Response:
        return Response(object())

    @enroute.rest.query("/report.csv", "GET")
    async def report(self, request: Request) -> web.Response:
        return web.Response(text="a,b\n1,2\n", content_type="text/csv")

    @enroute.rest.query("/headers", "GET")
    async def headers(self, request: Request) -> Response:
        return Response({"trace": request.headers.get("X-Trace")})


@pytest.fixture
async def server() -> AsyncIterator[RestHandler]:
    builder = EnrouteBuilder(BookService)
    handler = RestHandler("127.0.0.1", 0, builder.get_rest_command_query())
    async with handler:
        yield handler


@pytest.fixture
async def client(server: RestHandler) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as session:
        yield session


async def test_body_and_user(client: aiohttp.ClientSession) -> None:
    user = uuid4()
    body = {"title": "The Dispossessed", "copies": 2}
    async with client.post("/books", json=body, headers={USER_HEADER: str(user)}) as r:
        assert r.status == 201
        assert r.content_type == "application/json"
        assert await r.json() == {"content": body, "user": str(user)}


async def test_static_method_with_regex_path(client: aiohttp.ClientSession) -> None:
    async with client.get(f"/books/{BOOK_UUID}") as response:
        assert response.status == 200
        assert await response.json() == {"uuid": str(BOOK_UUID)}

    async with client.get("/books/not-a-uuid") as response:
        assert response.status == 404


async def test_path_query_and_body_are_merged(client: aiohttp.ClientSession) -> None:
    url = f"/books/{BOOK_UUID}/copies?count=3&tag=a&tag=b&uuid=ignored"
    body = {"count": 1, "note": "gift", "uuid": "also ignored"}
    async with client.put(url, json=body) as response:
        assert response.status == 200
        data = await response.json()
    assert data["content"] == {
        "count": "3",
        "note": "gift",
        "tag": ["a", "b"],
        "uuid": str(BOOK_UUID),
    }
    assert data["path_args"] == {"uuid": str(BOOK_UUID)}
    assert data["query_args"] == {"count": "3", "tag": ["a", "b"], "uuid": "ignored"}


async def test_list_body_is_kept_as_a_list(client: aiohttp.ClientSession) -> None:
    url = f"/books/{BOOK_UUID}/copies?count=3"
    async with client.put(url, json=[1, {"a": 2}]) as response:
        assert response.status == 200
        data = await response.json()
    assert data["content"] == [1, {"a": 2}]
    assert data["path_args"] == {"uuid": str(BOOK_UUID)}
    assert data["query_args"] == {"count": "3"}


async def test_no_body_gives_the_arguments(client: aiohttp.ClientSession) -> None:
    async with client.put(f"/books/{BOOK_UUID}/copies?count=3") as response:
        data = await response.json()
    assert data["content"] == {"count": "3", "uuid": str(BOOK_UUID)}


async def test_none_is_an_empty_204(client: aiohttp.ClientSession) -> None:
    async with client.delete(f"/books/{BOOK_UUID}") as response:
        assert response.status == 204
        assert await response.read() == b""


async def test_response_exception_is_a_400(client: aiohttp.ClientSession) -> None:
    async with client.delete(f"/books/{uuid4()}") as response:
        assert response.status == 400
        assert await response.json() == {"error": "The book does not exist."}


async def test_response_exception_keeps_its_status(
    client: aiohttp.ClientSession,
) -> None:
    async with client.get("/teapot") as response:
        assert response.status == 418
        assert await response.json() == {"error": "I refuse to brew coffee."}


async def test_models_lists_uuids_and_datetimes_render(
    client: aiohttp.ClientSession,
) -> None:
    async with client.get("/books") as response:
        assert response.status == 200
        assert await response.json() == [
            {
                "uuid": str(BOOK_UUID),
                "authors": [
                    {"name": "Ursula", "born": 1929},
                    {"name": "Anon", "born": None},
                ],
                "tags": ["sf"],
                "at": "2024-01-02T00:00:00+00:00",
                "color": "red",
            },
            {"uuid": str(BOOK_UUID), "title": "The Lathe of Heaven", "available": 2},
        ]
    async with client.get("/uuid") as response:
        assert await response.json() == str(BOOK_UUID)


async def test_aiohttp_responses_pass_through(client: aiohttp.ClientSession) -> None:
    async with client.get("/report.csv") as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert await response.text() == "a,b\n1,2\n"


async def test_headers_are_readable(client: aiohttp.ClientSession) -> None:
    async with client.get("/headers", headers={"X-Trace": "abc"}) as response:
        assert await response.json() == {"trace": "abc"}


async def test_stacked_route_served_over_rest_and_listed_for_broker(
    client: aiohttp.ClientSession,
) -> None:
    async with client.post("/echo", json={"said": "hi"}) as response:
        assert response.status == 200
        assert await response.json() == {"said": "hi"}

    builder = EnrouteBuilder(BookService)
    assert (
        BrokerCommandEnrouteDecorator("Echo")
        in builder.get_broker_command_query_event()
    )
    assert "Echo" in builder.topics()
    rest = builder.get_rest_command_query()
    assert RestCommandEnrouteDecorator("/echo", "POST") in rest


async def test_malformed_json_is_a_400(client: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "application/json"}
    async with client.post("/echo", data=b'{"a": ', headers=headers) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert "not valid JSON" in error


async def test_invalid_utf8_is_a_400(client: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "application/json"}
    async with client.post("/echo", data=b'"\xff\xfe"', headers=headers) as response:
        assert response.status == 400
        assert "not valid JSON" in (await response.json())["error"]


async def test_non_json_content_type_is_a_400(client: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "text/plain"}
    async with client.post("/echo", data=b"hello", headers=headers) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert "must be JSON" in error and "text/plain" in error


async def test_form_body_is_a_400(client: aiohttp.ClientSession) -> None:
    async with client.post("/echo", data={"a": "b"}) as response:
        assert response.status == 400
        assert "application/x-www-form-urlencoded" in (await response.json())["error"]


async def test_json_suffix_types_and_charsets_are_accepted(
    client: aiohttp.ClientSession,
) -> None:
    headers = {"Content-Type": "application/vnd.api+json"}
    async with client.post("/echo", data=b'{"a": 1}', headers=headers) as response:
        assert await response.json() == {"a": 1}

    headers = {"Content-Type": "application/json; charset=latin-1"}
    body = '{"name": "Fañch"}'.encode("latin-1")
    async with client.post("/echo", data=body, headers=headers) as response:
        assert await response.json() == {"name": "Fañch"}

    headers = {"Content-Type": "application/json; charset=klingon"}
    async with client.post("/echo", data=b"{}", headers=headers) as response:
        assert response.status == 400
        assert "klingon" in (await response.json())["error"]


async def test_bad_user_header_is_a_400_naming_it(
    client: aiohttp.ClientSession,
) -> None:
    headers = {USER_HEADER: "not-a-uuid"}
    async with client.post("/books", json={}, headers=headers) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert USER_HEADER in error and "not-a-uuid" in error


async def test_body_over_the_limit_is_a_413(client: aiohttp.ClientSession) -> None:
    body = {"text": "x" * MAX_BODY}
    async with client.post("/echo", json=body) as response:
        assert response.status == 413
        assert str(MAX_BODY) in (await response.json())["error"]


async def test_configured_limit_is_applied() -> None:
    endpoints = EnrouteBuilder(BookService).get_rest_command_query()
    async with RestHandler("127.0.0.1", 0, endpoints, max_body_size=100) as handler:
        url = f"http://127.0.0.1:{handler.port}"
        async with aiohttp.ClientSession(url) as session:
            async with session.post("/echo", json={"t": "x" * 80}) as response:
                assert response.status == 200
            async with session.post("/echo", json={"t": "x" * 101}) as response:
                assert response.status == 413
                error = (await response.json())["error"]
    assert "limit of 100 bytes" in error


async def test_chunked_body_over_the_limit_is_a_413(
    client: aiohttp.ClientSession,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    headers = {"Content-Type": "application/json"}
    async with client.post("/echo", data=chunks(), headers=headers) as response:
        assert response.status == 413
        assert "larger than the limit" in (await response.json())["error"]


async def test_large_and_unicode_bodies(client: aiohttp.ClientSession) -> None:
    body = {
        "title": "Крестовый поход 🐉 — 東京 ∑ ünïcödé",
        "pages": ["é🐉" * 100 for _ in range(1500)],
    }
    data = json.dumps(body, ensure_ascii=False).encode()
    assert 0.8 * MAX_BODY < len(data) < MAX_BODY
    headers = {"Content-Type": "application/json"}
    async with client.post("/echo", data=data, headers=headers) as response:
        assert response.status == 200
        assert await response.json() == body


async def test_unknown_route_is_a_json_404(client: aiohttp.ClientSession) -> None:
    async with client.get("/nowhere") as response:
        assert response.status == 404
        assert response.content_type == "application/json"
        assert await response.json() == {"error": "No route for GET /nowhere"}


async def test_wrong_method_is_a_json_405(client: aiohttp.ClientSession) -> None:
    async with client.patch("/books") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET, HEAD, POST"
        error = (await response.json())["error"]
    assert error == "Method PATCH is not allowed on /books; allowed: GET, HEAD, POST"


async def test_unexpected_error_is_a_generic_500(
    client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="minos.networks.rest"):
        async with client.get("/crash") as response:
            assert response.status == 500
            text = await response.text()
    assert "secret" not in text
    assert await response.json() == {"error": "Internal server error"}
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "GET /crash" in logged[0].getMessage()
    assert "postgres://secret" in str(logged[0].exc_info[1])

    async with client.get("/unrenderable") as response:
        assert response.status == 500
        assert await response.json() == {"error": "Internal server error"}


async def test_server_keeps_serving_after_every_error(
    client: aiohttp.ClientSession,
) -> None:
    for method, url in [("GET", "/crash"), ("GET", "/nowhere"), ("PATCH", "/books")]:
        async with client.request(method, url) as response:
            assert response.status >= 400
        async with client.get(f"/books/{BOOK_UUID}") as response:
            assert response.status == 200


async def test_instance_state_is_shared_between_calls(server: RestHandler) -> None:
    service_handler = server.endpoints[RestCommandEnrouteDecorator("/books", "POST")]
    async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as session:
        for index in range(3):
            async with session.post("/books", json={"n": index}) as response:
                assert response.status == 201
    assert service_handler.__self__.created == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_health_route_is_only_added_when_asked(server: RestHandler) -> None:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as session:
        async with session.get("/system/health") as response:
            assert response.status == 404
    assert ("/books", "POST") in server.routes


async def _ok(request: Request) -> Response:
    return Response("ok")


async def test_two_handlers_for_one_route_is_a_clear_error() -> None:
    endpoints = {
        RestCommandEnrouteDecorator("/books", "GET"): _ok,
        RestQueryEnrouteDecorator("/books", "GET"): _ok,
    }
    handler = RestHandler("127.0.0.1", 0, endpoints)
    with pytest.raises(MinosRedefinedEnrouteDecoratorException, match="GET /books"):
        handler.get_app()


async def test_bad_path_pattern_is_a_clear_error() -> None:
    endpoints = {RestQueryEnrouteDecorator("/books/{uuid:[0-9}", "GET"): _ok}
    with pytest.raises(RestRouteException, match=r"/books/\{uuid:\[0-9\}"):
        RestHandler("127.0.0.1", 0, endpoints).get_app()


async def test_literal_path_wins_over_a_pattern() -> None:
    async def by_name(request: Request) -> Response:
        return Response({"by": "name", **(await request.content())})

    async def search(request: Request) -> Response:
        return Response({"by": "search"})

    endpoints = {
        RestQueryEnrouteDecorator("/authors/{name}", "GET"): by_name,
        RestQueryEnrouteDecorator("/authors/search", "GET"): search,
    }
    async with RestHandler("127.0.0.1", 0, endpoints) as handler:
        url = f"http://127.0.0.1:{handler.port}"
        async with aiohttp.ClientSession(url) as session:
            async with session.get("/authors/search") as response:
                assert await response.json() == {"by": "search"}
            async with session.get("/authors/le-guin") as response:
                assert await response.json() == {"by": "name", "name": "le-guin"}
