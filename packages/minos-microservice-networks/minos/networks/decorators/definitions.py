"""``enroute``: decorators that declare how a method is reached.

A decorator records a route on the function and returns the function itself,
so they stack (one method reachable over REST and over the broker), work
under or over ``staticmethod``, and cost nothing at call time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, TypeVar

from ..exceptions import MinosNetworkException

__all__ = [
    "EnrouteDecorator",
    "EnrouteDecoratorKind",
    "BrokerCommandEnrouteDecorator",
    "BrokerQueryEnrouteDecorator",
    "BrokerEventEnrouteDecorator",
    "RestCommandEnrouteDecorator",
    "RestQueryEnrouteDecorator",
    "PeriodicEventEnrouteDecorator",
    "enroute",
    "ROUTES_ATTRIBUTE",
]

ROUTES_ATTRIBUTE = "__minos_routes__"

F = TypeVar("F", bound=Callable[..., Any])

_HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


class EnrouteDecoratorKind(Enum):
    """What a route makes of a handler."""

    Command = "command"
    Query = "query"
    Event = "event"


@dataclass(frozen=True)
class EnrouteDecorator:
    """A route recorded on a handler."""

    KIND: ClassVar[EnrouteDecoratorKind]

    def __call__(self, fn: F) -> F:
        target = fn.__func__ if isinstance(fn, staticmethod | classmethod) else fn
        routes = target.__dict__.get(ROUTES_ATTRIBUTE)
        if routes is None:
            routes = []
            setattr(target, ROUTES_ATTRIBUTE, routes)
        if self not in routes:
            routes.append(self)
        return fn


@dataclass(frozen=True)
class BrokerEnrouteDecorator(EnrouteDecorator):
    """A route from a broker topic."""

    topic: str

    def __post_init__(self) -> None:
        if not isinstance(self.topic, str) or not self.topic.strip():
            raise MinosNetworkException(
                f"A broker topic must be a non-empty string, got {self.topic!r}"
            )


@dataclass(frozen=True)
class BrokerCommandEnrouteDecorator(BrokerEnrouteDecorator):
    KIND: ClassVar[EnrouteDecoratorKind] = EnrouteDecoratorKind.Command


@dataclass(frozen=True)
class BrokerQueryEnrouteDecorator(BrokerEnrouteDecorator):
    KIND: ClassVar[EnrouteDecoratorKind] = EnrouteDecoratorKind.Query


@dataclass(frozen=True)
class BrokerEventEnrouteDecorator(BrokerEnrouteDecorator):
    KIND: ClassVar[EnrouteDecoratorKind] = EnrouteDecoratorKind.Event


@dataclass(frozen=True)
class RestEnrouteDecorator(EnrouteDecorator):
    """A route from an HTTP path and method (aiohttp path syntax, regex allowed)."""

    url: str
    method: str

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith("/"):
            raise MinosNetworkException(
                f"A REST path must be a string starting with '/', got {self.url!r}"
            )
        if _outside_patterns(self.url, "?#"):
            raise MinosNetworkException(
                f"A REST path cannot hold a query or fragment ('?' or '#'), got "
                f"{self.url!r}; declare the path only and read query arguments "
                "from the request"
            )
        method = str(self.method).upper()
        if method not in _HTTP_METHODS:
            raise MinosNetworkException(
                f"Unknown HTTP method {self.method!r} for {self.url!r}; "
                f"use one of {sorted(_HTTP_METHODS)}"
            )
        object.__setattr__(self, "method", method)


@dataclass(frozen=True)
class RestCommandEnrouteDecorator(RestEnrouteDecorator):
    KIND: ClassVar[EnrouteDecoratorKind] = EnrouteDecoratorKind.Command


@dataclass(frozen=True)
class RestQueryEnrouteDecorator(RestEnrouteDecorator):
    KIND: ClassVar[EnrouteDecoratorKind] = EnrouteDecoratorKind.Query


@dataclass(frozen=True)
class PeriodicEventEnrouteDecorator(EnrouteDecorator):
    """A route from a clock: a five-field crontab expression (or ``@every Ns``)."""

    KIND: ClassVar[EnrouteDecoratorKind] = EnrouteDecoratorKind.Event

    crontab: str

    def __post_init__(self) -> None:
        # The scheduler's own parser, so a bad schedule fails at declaration.
        # Imported here: the scheduling package imports this one.
        from ..scheduling.schedules import parse_schedule

        parse_schedule(self.crontab)


def _outside_patterns(url: str, characters: str) -> bool:
    """Whether one of ``characters`` appears outside the ``{...}`` variables."""
    depth = 0
    for char in url:
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif depth == 0 and char in characters:
            return True
    return False


class _RestEnroute:
    command = RestCommandEnrouteDecorator
    query = RestQueryEnrouteDecorator


class _BrokerEnroute:
    command = BrokerCommandEnrouteDecorator
    query = BrokerQueryEnrouteDecorator
    event = BrokerEventEnrouteDecorator


class _PeriodicEnroute:
    event = PeriodicEventEnrouteDecorator


class enroute:
    """``@enroute.rest.command(path, method)``, ``@enroute.broker.event(topic)``..."""

    rest = _RestEnroute
    broker = _BrokerEnroute
    periodic = _PeriodicEnroute
