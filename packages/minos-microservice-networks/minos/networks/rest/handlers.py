"""The HTTP server: decorated handlers as aiohttp routes, every error as JSON."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aiohttp import web

from minos.common import MinosSetup

from ..decorators import EnrouteBuilder
from ..decorators.definitions import RestEnrouteDecorator
from ..exceptions import MinosNetworkException, MinosRedefinedEnrouteDecoratorException
from ..requests import Request, Response, ResponseException
from .exceptions import RestException, RestRouteException
from .health import HEALTH_PATH, SystemHealth
from .requests import DEFAULT_MAX_BODY_SIZE, RestRequest
from .responses import error_response, render_result

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["RestHandler"]

Handler = Callable[[Request], Awaitable[Response | None]]
AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_INTERNAL_ERROR = "Internal server error"


class RestHandler(MinosSetup):
    """Serves REST routes on ``host:port`` until destroyed.

    ``endpoints`` maps each ``enroute.rest`` route to its handler (what
    ``EnrouteBuilder.get_rest_command_query()`` returns). Paths use aiohttp's
    syntax, regular expressions included (``/books/{uuid:[0-9a-f-]+}``).
    ``GET /system/health`` is served too when ``health`` is given, unless a
    route of the service claims it.

    Errors never stop the server and are always ``{"error": message}``:
    ``ResponseException`` -> its status (400 by default) and message; an
    unreadable request -> 400 (bad JSON, non-JSON body, bad ``X-User``) or 413
    (body over ``max_body_size``); no route -> 404; route without that method
    -> 405; anything else -> 500 with a generic message, the traceback only in
    the log.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        endpoints: Mapping[RestEnrouteDecorator, Handler] | None = None,
        *,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        health: SystemHealth | None = None,
        shutdown_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(max_body_size, int) or max_body_size <= 0:
            raise MinosNetworkException(
                f"max_body_size must be a positive number of bytes, "
                f"got {max_body_size!r}; fix rest.max_body_size"
            )
        self.host = host
        self.requested_port = int(port)
        self.endpoints = dict(endpoints or {})
        self.max_body_size = max_body_size
        self.health = health
        self.shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    @classmethod
    def _from_config(
        cls, *args: Any, config: MinosConfig, **kwargs: Any
    ) -> RestHandler:
        rest = config.rest
        kwargs.setdefault("host", rest.host)
        kwargs.setdefault("port", rest.port)
        kwargs.setdefault(
            "max_body_size", rest._asdict().get("max_body_size", DEFAULT_MAX_BODY_SIZE)
        )
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
        if self.health is not None and (HEALTH_PATH, "GET") not in claimed:
            by_url.setdefault(HEALTH_PATH, {})["GET"] = self.health.handle

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

        async def serve(raw: web.Request) -> web.StreamResponse:
            request = await RestRequest.read(raw, max_body_size=max_body_size)
            return await render_result(await handler(request))

        serve.__qualname__ = getattr(handler, "__qualname__", "handler")
        return serve

    async def _setup(self) -> None:
        runner = web.AppRunner(self.get_app(), shutdown_timeout=self.shutdown_timeout)
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

    async def _destroy(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            logger.info("REST stopped listening on %s", self.host)


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
    except RestException as exc:
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
