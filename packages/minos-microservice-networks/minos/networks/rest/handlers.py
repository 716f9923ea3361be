"""The HTTP server: decorated handlers as aiohttp routes, every error as JSON."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aiohttp import web

from minos.common import MinosSetup

from ..decorators import EnrouteBuilder, as_async_handler
from ..decorators.definitions import RestEnrouteDecorator
from ..exceptions import MinosNetworkException, MinosRedefinedEnrouteDecoratorException
from ..requests import Request, Response, ResponseException
from .exceptions import ClientDisconnectedException, RestException, RestRouteException
from .health import HEALTH_PATH, SystemHealth
from .requests import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_SIZE, RestRequest
from .responses import error_response, render_result

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["RestHandler"]

Handler = Callable[[Request], Awaitable[Response | None]]
AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_INTERNAL_ERROR = "Internal server error"

# How long aiohttp keeps reading (and discarding) a body the handler did not
# read before closing the connection: long enough for a client to receive an
# early answer such as a 413, short enough not to feed a slow client.
_LINGERING_TIME = 2.0

# The part of ``shutdown_timeout`` kept for closing connections once the
# requests in progress are done or cut (aiohttp applies it twice).
_CLOSE_GRACE = 0.1


class RestHandler(MinosSetup):
    """Serves REST routes on ``host:port`` until destroyed.

    ``endpoints`` maps each ``enroute.rest`` route to its handler (what
    ``EnrouteBuilder.get_rest_command_query()`` returns). Paths use aiohttp's
    syntax, regular expressions included (``/books/{uuid:[0-9a-f-]+}``). Two
    patterns of one method that match the same paths are refused, except a
    literal path beside a pattern (the literal wins). ``HEAD`` is served for
    every ``GET`` route without its own ``HEAD``. Sync handlers run in a
    worker thread. ``GET /system/health`` is served too when ``health`` is
    given, unless a route of the service claims it.

    Errors never stop the server and are always ``{"error": message}``:
    ``ResponseException`` -> its status (400 by default) and message; an
    unreadable request -> 400 (bad JSON, non-JSON body, bad or repeated
    ``X-User``, undecodable body), 408 (body not received within
    ``body_timeout`` seconds) or 413 (body over ``max_body_size``); no route ->
    404; route without that method -> 405; anything else, ``SystemExit`` and
    ``KeyboardInterrupt`` raised by a handler included -> 500 with a generic
    message, the traceback only in the log.

    Limitation: requests aiohttp's HTTP parser itself rejects (a malformed
    request line, header or chunk size) are answered by aiohttp with a
    ``text/plain`` 400, before any handler or middleware runs; answering them
    as JSON would need replacing aiohttp's private connection handler.

    Slow clients are bounded: a connection idle, or still sending its
    request line and headers, for ``keepalive_timeout`` seconds is closed
    (aiohttp has no separate header timeout), and a body not received within
    ``body_timeout`` seconds is a 408.

    On destroy, the server stops listening, lets the requests in progress
    finish, and cuts those still running after ``shutdown_timeout`` seconds
    (a WARNING gives how many): destroy returns within about that time.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        endpoints: Mapping[RestEnrouteDecorator, Handler] | None = None,
        *,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        health: SystemHealth | None = None,
        shutdown_timeout: float = 10.0,
        keepalive_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.host = _checked_host(host)
        self.requested_port = _checked_port(port)
        if not _is_int(max_body_size) or max_body_size <= 0:
            raise MinosNetworkException(
                f"max_body_size must be a positive number of bytes, "
                f"got {max_body_size!r}; fix rest.max_body_size"
            )
        self.endpoints = dict(endpoints or {})
        self.max_body_size = max_body_size
        self.body_timeout = _checked_seconds(body_timeout, "rest.body_timeout")
        self.health = health
        self.shutdown_timeout = _checked_seconds(
            shutdown_timeout, "rest.shutdown_timeout"
        )
        self.keepalive_timeout = _checked_seconds(
            keepalive_timeout, "rest.keepalive_timeout"
        )
        self._runner: web.AppRunner | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()

    @classmethod
    def _from_config(
        cls, *args: Any, config: MinosConfig, **kwargs: Any
    ) -> RestHandler:
        rest = config.rest
        settings = rest._asdict()
        kwargs.setdefault("host", rest.host)
        kwargs.setdefault("port", rest.port)
        kwargs.setdefault(
            "max_body_size", settings.get("max_body_size", DEFAULT_MAX_BODY_SIZE)
        )
        if settings.get("body_timeout") is not None:
            kwargs.setdefault("body_timeout", settings["body_timeout"])
        if "endpoints" not in kwargs:
            kwargs["endpoints"] = EnrouteBuilder.from_config(
                config
            ).get_rest_command_query()
        if "health" not in kwargs:
            kwargs["health"] = SystemHealth.from_config(config)
        return cls(*args, **kwargs)

    @property
    def routes(self) -> list[tuple[str, str]]:
        """The ``(url, method)`` pairs served, health check excluded."""
        return sorted((route.url, route.method) for route in self.endpoints)

    @property
    def port(self) -> int:
        """The port listened on: the one bound when ``port`` was 0."""
        if self._runner is not None:
            for address in self._runner.addresses:
                return int(address[1])
        return self.requested_port

    def get_app(self) -> web.Application:
        """A new aiohttp application serving the routes."""
        app = web.Application(
            middlewares=[_json_errors], client_max_size=self.max_body_size
        )
        claimed: dict[tuple[str, str], RestEnrouteDecorator] = {}
        by_url: dict[str, dict[str, AiohttpHandler]] = {}
        for route, handler in self.endpoints.items():
            key = (route.url, route.method)
            if key in claimed:
                raise MinosRedefinedEnrouteDecoratorException(
                    f"{route.method} {route.url} is served by two handlers "
                    f"({claimed[key]} and {route}); keep one"
                )
            claimed[key] = route
            by_url.setdefault(route.url, {})[route.method] = self._adapt(handler)
        _refuse_overlaps(self.endpoints)
        if self.health is not None and (HEALTH_PATH, "GET") not in claimed:
            by_url.setdefault(HEALTH_PATH, {})["GET"] = self.health.handle
        for methods in by_url.values():
            if "GET" in methods and "HEAD" not in methods:
                methods["HEAD"] = methods["GET"]  # aiohttp drops the body

        # Fixed paths first, so a pattern never shadows a literal sibling.
        for url in sorted(by_url, key=lambda u: "{" in u):
            try:
                resource = app.router.add_resource(url)
                for method, adapted in by_url[url].items():
                    resource.add_route(method, adapted)
            except (ValueError, RuntimeError) as exc:
                raise RestRouteException(
                    f"Cannot serve REST path {url!r}: {exc}; use aiohttp path "
                    "syntax such as '/books/{uuid:[0-9a-f-]+}'"
                ) from exc
        return app

    def _adapt(self, handler: Handler) -> AiohttpHandler:
        max_body_size = self.max_body_size
        body_timeout = self.body_timeout
        in_flight = self._in_flight
        call = as_async_handler(handler)
        name = _name(handler)

        async def serve(raw: web.Request) -> web.StreamResponse:
            task = asyncio.current_task()
            if task is not None:
                in_flight.add(task)
            try:
                request = await RestRequest.read(
                    raw, max_body_size=max_body_size, body_timeout=body_timeout
                )
                return await render_result(await call(request), name)
            finally:
                if task is not None:
                    in_flight.discard(task)

        serve.__qualname__ = name
        return serve

    # Limitation: aiohttp has no limit on concurrent connections, and many
    # slow clients can each hold one for up to keepalive_timeout (headers) plus
    # body_timeout (body). Put a reverse proxy (nginx, envoy...) that caps
    # connections per client in front of a service exposed to the internet.
    async def _setup(self) -> None:
        runner = web.AppRunner(
            self.get_app(),
            shutdown_timeout=self._close_grace,
            lingering_time=_LINGERING_TIME,
            keepalive_timeout=self.keepalive_timeout,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.requested_port).start()
        except OSError as exc:
            await runner.cleanup()
            raise MinosNetworkException(
                f"REST cannot listen on {self.host}:{self.requested_port}: "
                f"{exc.strerror or exc}; change rest.host or rest.port"
            ) from exc
        self._runner = runner
        logger.info("REST listening on %s:%s", self.host, self.port)

    @property
    def _close_grace(self) -> float:
        return min(_CLOSE_GRACE, self.shutdown_timeout / 4)

    async def _destroy(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_timeout - 2 * self._close_grace
        for site in list(runner.sites):
            await site.stop()
        if runner.server is not None:
            runner.server.pre_shutdown()  # idle keep-alive connections close

        pending = {task for task in self._in_flight if not task.done()}
        if pending:
            _, pending = await asyncio.wait(
                pending, timeout=max(deadline - loop.time(), 0)
            )
        if pending:
            logger.warning(
                "REST shutdown: %d request(s) still running after %g s were cut",
                len(pending),
                self.shutdown_timeout,
            )
            for task in pending:
                task.cancel()
        await runner.cleanup()
        logger.info("REST stopped listening on %s", self.host)


def _name(handler: Any) -> str:
    return str(getattr(handler, "__qualname__", None) or repr(handler))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_host(host: Any) -> str:
    if not isinstance(host, str) or not host.strip() or host != host.strip():
        raise MinosNetworkException(
            f"Invalid rest.host {host!r}: give the address to listen on, such as "
            "'127.0.0.1', or '0.0.0.0' to listen on every interface on purpose"
        )
    return host


def _checked_port(port: Any) -> int:
    if not _is_int(port) or not 0 <= port <= 65535:
        raise MinosNetworkException(
            f"Invalid rest.port {port!r}: use an integer from 1 to 65535 "
            "(0 picks a free port)"
        )
    return int(port)


def _checked_seconds(value: Any, setting: str) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise MinosNetworkException(
            f"Invalid {setting} {value!r}: use a positive number of seconds"
        )
    return float(value)


def _refuse_overlaps(endpoints: Mapping[RestEnrouteDecorator, Any]) -> None:
    """Refuse two patterns of one method matching the same paths.

    aiohttp tries patterns in order, so the second would only get the paths
    the first does not match, depending on declaration order. Two
    restricted variables with different expressions (``{id:\\d+}`` beside
    ``{name:[a-z]+}``) are taken as disjoint.
    """
    seen: dict[str, list[tuple[tuple[str, ...], RestEnrouteDecorator, Any]]] = {}
    for route, handler in endpoints.items():
        if "{" not in route.url:
            continue  # literal paths are tried first and win
        shape = _shape(route.url)
        if shape is None:
            continue  # a variable spanning segments: cannot compare
        for other_shape, other, other_handler in seen.get(route.method, []):
            if _overlap(shape, other_shape):
                raise RestRouteException(
                    f"{other.method} {other.url} ({_name(other_handler)}) and "
                    f"{route.method} {route.url} ({_name(handler)}) match the same "
                    "paths, so one would never be reached; make the paths "
                    "distinct or serve both from one handler"
                )
        seen.setdefault(route.method, []).append((shape, route, handler))


def _shape(url: str) -> tuple[str, ...] | None:
    """The path's segments, variables as ``{}`` (any) or ``{:<regex>}``."""
    segments: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(url):
        char = url[index]
        if char == "/":
            segments.append("".join(current))
            current = []
            index += 1
        elif char == "{":
            depth, end = 1, index + 1
            while end < len(url) and depth:
                depth += {"{": 1, "}": -1}.get(url[end], 0)
                end += 1
            _, colon, regex = url[index + 1 : end - 1].partition(":")
            if "/" in regex:
                return None
            current.append("{:" + regex + "}" if colon else "{}")
            index = end
        else:
            current.append(char)
            index += 1
    segments.append("".join(current))
    return tuple(segments)


def _overlap(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    return len(first) == len(second) and all(
        a == b or a == "{}" or b == "{}" for a, b in zip(first, second, strict=True)
    )


@web.middleware
async def _json_errors(
    request: web.Request, handler: AiohttpHandler
) -> web.StreamResponse:
    """Answer every failure with a JSON error body; never let one escape."""
    try:
        return await handler(request)
    except ResponseException as exc:
        status = exc.status if 400 <= exc.status <= 599 else 400
        return error_response(status, exc.message or _reason(status))
    except ClientDisconnectedException as exc:
        # Nobody is left to answer; not a server fault.
        logger.debug("%s %s: %s", request.method, request.path, exc.message)
        return error_response(exc.status, exc.message)
    except RestException as exc:
        if exc.status >= 500:
            logger.error(
                "Cannot answer %s %s: %s", request.method, request.path, exc.message
            )
            return error_response(exc.status, _INTERNAL_ERROR)
        return error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_error(request, exc)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("Unexpected error serving %s %s", request.method, request.path)
        return error_response(500, _INTERNAL_ERROR)
    except (SystemExit, KeyboardInterrupt) as exc:
        # Raised by handler code, not by a signal to this process (asyncio
        # turns those into its own shutdown): it must not end the service.
        logger.error(
            "Handler raised %s(%s) serving %s %s; the service keeps running",
            type(exc).__name__,
            ", ".join(repr(arg) for arg in exc.args),
            request.method,
            request.path,
            exc_info=exc,
        )
        return error_response(500, _INTERNAL_ERROR)


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    if isinstance(exc, web.HTTPNotFound):
        message = f"No route for {request.method} {request.path}"
        return error_response(404, message)
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        message = (
            f"Method {request.method} is not allowed on {request.path}; "
            f"allowed: {allowed}"
        )
        return error_response(405, message, {"Allow": allowed})
    return error_response(exc.status, exc.reason or _reason(exc.status))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
