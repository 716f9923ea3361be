"""Turning the decorated methods of service classes into callable handlers."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import MinosRedefinedEnrouteDecoratorException
from ..requests import Request, Response
from .analyzers import EnrouteAnalyzer
from .definitions import EnrouteDecorator

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["EnrouteBuilder", "Handler", "as_async_handler", "services_from_config"]

Handler = Callable[[Request], Awaitable[Response | None]]

_SERVICE_SECTIONS = ("commands", "queries", "events")


def services_from_config(config: MinosConfig) -> list[type]:
    """The service classes named by ``commands``, ``queries`` and ``events``."""
    from minos.common import import_module

    classes: list[type] = []
    for section in _SERVICE_SECTIONS:
        entry = getattr(config, section, None)
        path = getattr(entry, "service", None) if entry is not None else None
        if not path:
            continue
        cls = import_module(path) if isinstance(path, str) else path
        if cls not in classes:
            classes.append(cls)
    return classes


def _instantiate(cls: type, config: MinosConfig | None) -> Any:
    parameters = inspect.signature(cls).parameters
    accepts_config = "config" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
    return cls(config=config) if accepts_config and config is not None else cls()


def as_async_handler(function: Callable[..., Any]) -> Handler:
    """``function`` as a coroutine function; a plain one runs in a worker thread.

    A sync handler (``def``) may block (file I/O, a slow library call), so it
    is called through ``asyncio.to_thread`` and never stalls the event loop;
    if it returns an awaitable, that is awaited on the loop. Async handlers
    are returned unchanged.
    """
    if _is_async(function):
        return function

    async def call(request: Request) -> Any:
        result = await asyncio.to_thread(function, request)
        if inspect.isawaitable(result):
            result = await result
        return result

    call.__name__ = getattr(function, "__name__", "handler")
    call.__qualname__ = getattr(function, "__qualname__", call.__name__)
    call.__wrapped__ = function  # type: ignore[attr-defined]
    return call


def _is_async(function: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(function):
        return True
    call = getattr(function, "__call__", None)  # noqa: B004
    return not inspect.isroutine(function) and inspect.iscoroutinefunction(call)


class EnrouteBuilder:
    """Binds every route of some service classes to one instance of each class."""

    def __init__(self, *services: type | Any, config: MinosConfig | None = None):
        self.config = config
        self._instances: dict[type, Any] = {}
        self._classes = [s if isinstance(s, type) else type(s) for s in services]
        for service in services:
            if not isinstance(service, type):
                self._instances[type(service)] = service

    @classmethod
    def from_config(cls, config: MinosConfig) -> EnrouteBuilder:
        return cls(*services_from_config(config), config=config)

    @property
    def service_classes(self) -> list[type]:
        return list(self._classes)

    def instance(self, cls: type) -> Any:
        """The one instance of ``cls`` whose methods serve its routes."""
        if cls not in self._instances:
            self._instances[cls] = _instantiate(cls, self.config)
        return self._instances[cls]

    def _build(
        self, select: Callable[[EnrouteAnalyzer], dict[str, set[EnrouteDecorator]]]
    ) -> dict[EnrouteDecorator, Handler]:
        handlers: dict[EnrouteDecorator, Handler] = {}
        owners: dict[EnrouteDecorator, str] = {}
        for cls in self._classes:
            for name, routes in select(EnrouteAnalyzer(cls)).items():
                handler = as_async_handler(getattr(self.instance(cls), name))
                for route in routes:
                    where = f"{cls.__qualname__}.{name}"
                    if route in handlers:
                        raise MinosRedefinedEnrouteDecoratorException(
                            f"{route} is declared twice: on {owners[route]} and {where}"
                        )
                    handlers[route] = handler
                    owners[route] = where
        return handlers

    def get_rest_command_query(self) -> dict[EnrouteDecorator, Handler]:
        return self._build(EnrouteAnalyzer.get_rest_command_query)

    def get_broker_command_query_event(self) -> dict[EnrouteDecorator, Handler]:
        return self._build(EnrouteAnalyzer.get_broker_command_query_event)

    def get_broker_event(self) -> dict[EnrouteDecorator, Handler]:
        return self._build(EnrouteAnalyzer.get_broker_event)

    def get_periodic_event(self) -> dict[EnrouteDecorator, Handler]:
        return self._build(EnrouteAnalyzer.get_periodic_event)

    def get_all(self) -> dict[EnrouteDecorator, Handler]:
        return self._build(EnrouteAnalyzer.get_all)

    def topics(self) -> list[str]:
        """Every broker topic the services listen to."""
        return sorted({route.topic for route in self.get_broker_command_query_event()})
